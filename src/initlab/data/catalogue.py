"""The dataset catalogue: each dataset's four IDX files with their published checksums and mirrors.

Entries are registered once by name (twice is an error) and are frozen. ``dataset_info(name)``
finds one (``fashion_mnist`` and ``Fashion-MNIST`` mean ``fashion-mnist``; unknown names come with
the closest valid ones).

Checksums: MNIST's MD5 and SHA-256 as published with the original files; Fashion-MNIST's and
KMNIST's MD5 as published in their READMEs (github.com/zalandoresearch/fashion-mnist,
github.com/rois-codh/kmnist); all twelve MD5s and the mirrors agree with torchvision's
``torchvision/datasets/mnist.py`` (cross-checked by reading it; the Fashion-MNIST and KMNIST mirrors
have never been contacted from here, which has no internet). Debian's ``dataset-fashion-mnist``
package (0.0~git20200523.55506a9-1) re-gzipped the Fashion-MNIST files without the file name in the
gzip header -- same images, different bytes -- so its four files are accepted by their own SHA-256
(taken from that package, whose integrity apt verifies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..core.errors import InitlabError, unknown
from ..core.registry import Registry

Role = Literal["train_images", "train_labels", "test_images", "test_labels"]
ROLES: tuple[Role, ...] = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class Variant:
    """One accepted byte-for-byte version of a file: its digest, algorithm, size and provenance."""

    algorithm: Literal["sha256", "md5"]
    digest: str
    size: int | None
    source: str


@dataclass(frozen=True)
class Repack:
    """A byte-different copy of the same content that is accepted too (by SHA-256)."""

    source: str
    sha256: str
    size: int


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset, as published: name, checksums (SHA-256 and/or MD5) and size."""

    name: str
    md5: str | None = None
    sha256: str | None = None
    size: int | None = None
    repacks: tuple[Repack, ...] = ()

    def variants(self) -> list[Variant]:
        """The accepted versions: the original (SHA-256 if known, else MD5), then the repacks."""
        if self.sha256 is not None:
            out = [Variant("sha256", self.sha256, self.size, "published")]
        elif self.md5 is not None:
            out = [Variant("md5", self.md5, self.size, "published")]
        else:
            raise InitlabError(f"catalogue entry for {self.name!r} has no checksum; refusing to use it")
        out += [Variant("sha256", r.sha256, r.size, r.source) for r in self.repacks]
        return out


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset of IDX files: train/test images (N, rows, cols) uint8 and labels (N,) uint8."""

    name: str
    title: str
    files: dict[Role, DataFile]
    mirrors: tuple[str, ...]
    classes: tuple[str, ...]
    license: str
    citation: str
    image_shape: tuple[int, int] = (28, 28)
    sizes: tuple[int, int] | None = (60000, 10000)  # (train, test) example counts, checked on load
    bundled: str | None = None  # package-data folder holding the files, if shipped with initlab

    def __post_init__(self) -> None:
        if set(self.files) != set(ROLES):
            raise InitlabError(
                f"dataset {self.name!r} needs exactly the files {ROLES}, got {sorted(self.files)}"
            )
        for f in self.files.values():
            f.variants()  # every file must carry a checksum


DATASETS: Registry[DatasetInfo] = Registry("dataset")


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def register_dataset(info: DatasetInfo) -> DatasetInfo:
    """Add ``info`` to the catalogue; registering a name twice is an error."""
    key = _key(info.name)
    if key in DATASETS:
        raise InitlabError(f"dataset {info.name!r} is already registered")
    return DATASETS.add(key, info)


def datasets(pattern: str | None = None) -> list[str]:
    """Names of the registered datasets, those matching a shell-style ``pattern`` (``"*mnist"``) if given."""
    return DATASETS.names(_key(pattern) if isinstance(pattern, str) else pattern)


def dataset_info(name: str | DatasetInfo) -> DatasetInfo:
    """The catalogue entry for ``name`` (unknown names suggest the closest ones)."""
    if isinstance(name, DatasetInfo):
        return name
    info = DATASETS.get(_key(name))
    if info is None:
        raise unknown("dataset", name, DATASETS.names())
    return info


_DEBIAN_FASHION = "Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1"

register_dataset(
    DatasetInfo(
        name="mnist",
        title="MNIST handwritten digits",
        files={
            "train_images": DataFile(
                "train-images-idx3-ubyte.gz",
                md5="f68b3c2dcbeaaa9fbdd348bbdeb94873",
                sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                size=9912422,
            ),
            "train_labels": DataFile(
                "train-labels-idx1-ubyte.gz",
                md5="d53e105ee54ea40749a09fcbcd1e9432",
                sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                size=28881,
            ),
            "test_images": DataFile(
                "t10k-images-idx3-ubyte.gz",
                md5="9fb629c4189551a2d022fa330f9573f3",
                sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                size=1648877,
            ),
            "test_labels": DataFile(
                "t10k-labels-idx1-ubyte.gz",
                md5="ec29112dd5afa0611ce80d1b7f02629c",
                sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                size=4542,
            ),
        },
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        classes=tuple(str(d) for d in range(10)),
        license="CC BY-SA 3.0",
        citation="Y. LeCun, C. Cortes, C. J. C. Burges, The MNIST database of handwritten digits",
        bundled="mnist",
    )
)

register_dataset(
    DatasetInfo(
        name="fashion-mnist",
        title="Fashion-MNIST (Zalando article images)",
        files={
            "train_images": DataFile(
                "train-images-idx3-ubyte.gz",
                md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                repacks=(
                    Repack(
                        _DEBIAN_FASHION,
                        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
                        26421856,
                    ),
                ),
            ),
            "train_labels": DataFile(
                "train-labels-idx1-ubyte.gz",
                md5="25c81989df183df01b3e8a0aad5dffbe",
                repacks=(
                    Repack(
                        _DEBIAN_FASHION,
                        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
                        29491,
                    ),
                ),
            ),
            "test_images": DataFile(
                "t10k-images-idx3-ubyte.gz",
                md5="bef4ecab320f06d8554ea6380940ec79",
                repacks=(
                    Repack(
                        _DEBIAN_FASHION,
                        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
                        4422079,
                    ),
                ),
            ),
            "test_labels": DataFile(
                "t10k-labels-idx1-ubyte.gz",
                md5="bb300cfdad3c16e7a12a480ee83cd310",
                repacks=(
                    Repack(
                        _DEBIAN_FASHION,
                        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
                        5125,
                    ),
                ),
            ),
        },
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        license="MIT",
        citation="H. Xiao, K. Rasul, R. Vollgraf, Fashion-MNIST, arXiv:1708.07747 (2017)",
    )
)

register_dataset(
    DatasetInfo(
        name="kmnist",
        title="Kuzushiji-MNIST (cursive Japanese hiragana)",
        files={
            "train_images": DataFile("train-images-idx3-ubyte.gz", md5="bdb82020997e1d708af4cf47b453dcf7"),
            "train_labels": DataFile("train-labels-idx1-ubyte.gz", md5="e144d726b3acfaa3e44228e80efcd344"),
            "test_images": DataFile("t10k-images-idx3-ubyte.gz", md5="5c965bf0a639b31b8f53240b1b52f4d7"),
            "test_labels": DataFile("t10k-labels-idx1-ubyte.gz", md5="7320c461ea6c1c855c0b718fb2a4b134"),
        },
        mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        license="CC BY-SA 4.0",
        citation="T. Clanuwat et al., Deep Learning for Classical Japanese Literature, arXiv:1812.01718",
    )
)
