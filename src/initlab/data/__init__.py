"""Datasets: IDX files, the catalogue with published checksums, resolution and download.

``load_dataset("mnist")`` works offline out of the box: the four original MNIST files ship with
initlab and are verified by checksum the first time a process loads them. Other datasets are found
locally or downloaded (see :mod:`initlab.data.resolve`).

>>> ds = load_dataset("mnist")
>>> tuple(ds.train_x.shape), ds.train_x.dtype, tuple(ds.test_y.shape)
((60000, 784), torch.float32, (10000,))
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from ..core.errors import InitlabError
from ._checksum import verify
from .catalogue import DataFile, DatasetInfo, Repack, Role, dataset_info, datasets, register_dataset
from .idx import read_idx, write_idx
from .resolve import Located, Progress, cache_dir, locate


@dataclass(frozen=True)
class Dataset:
    """A classification dataset in memory.

    ``train_x``/``test_x``: ``(N, rows*cols)`` float32 pixels scaled to [0, 1] (``uint8 / 255``);
    ``train_y``/``test_y``: ``(N,)`` int64 labels. ``files`` says where each file came from.
    """

    name: str
    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    classes: tuple[str, ...]
    image_shape: tuple[int, int]
    files: dict[str, str] = field(default_factory=dict)

    @property
    def features(self) -> int:
        """Input width (784 for 28x28 images)."""
        return int(self.train_x.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.classes)


@functools.lru_cache(maxsize=8)
def _decode(path: str, size: int, mtime_ns: int, images: bool, rows: int, cols: int) -> np.ndarray:
    """Decoded IDX arrays, memoised per (path, size, mtime) so repeated loads skip gunzip."""
    if images:
        return read_idx(path, dtype=np.uint8, ndim=3, shape=(None, rows, cols))
    return read_idx(path, dtype=np.uint8, ndim=1)


def _read(loc: Located, images: bool, shape: tuple[int, int]) -> np.ndarray:
    st = loc.path.stat()
    return _decode(str(loc.path), st.st_size, st.st_mtime_ns, images, *shape)


def load_dataset(
    name: str | DatasetInfo = "mnist",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    download: bool = True,
) -> Dataset:
    """Load a catalogued dataset (``"mnist"``, ``"fashion-mnist"``, ``"kmnist"``) as tensors.

    Files are found and verified as described in :mod:`initlab.data.resolve`; ``progress`` receives
    ``(done_bytes, total_bytes, file=...)`` during a download. Bad or mismatched files raise
    ``InitlabError`` naming the file.
    """
    info = dataset_info(name)
    found = locate(info, data_dir=data_dir, download=download, progress=progress)
    tensors: dict[str, Tensor] = {}
    splits: dict[str, tuple[Role, Role]] = {
        "train": ("train_images", "train_labels"),
        "test": ("test_images", "test_labels"),
    }
    for split, (img_role, lab_role) in splits.items():
        imgs = _read(found[img_role], True, info.image_shape)  # (N, rows, cols) uint8
        labels = _read(found[lab_role], False, info.image_shape)  # (N,) uint8
        where = f"{info.name} {split} files {found[img_role].path}, {found[lab_role].path}"
        if len(imgs) != len(labels):
            raise InitlabError(f"{where}: {len(imgs)} images but {len(labels)} labels")
        if info.sizes is not None:
            want = info.sizes[0 if split == "train" else 1]
            if len(imgs) != want:
                raise InitlabError(f"{where}: {len(imgs)} examples, expected {want}")
        if labels.size and int(labels.max()) >= len(info.classes):
            raise InitlabError(
                f"{where}: label {int(labels.max())} out of range for {len(info.classes)} classes"
            )
        flat = torch.from_numpy(imgs).reshape(len(imgs), -1)  # (N, rows*cols) uint8
        tensors[f"{split}_x"] = flat.to(torch.float32).div_(255.0)  # (N, D)
        tensors[f"{split}_y"] = torch.from_numpy(labels).to(torch.int64)  # (N,)
    return Dataset(
        name=info.name,
        classes=info.classes,
        image_shape=info.image_shape,
        files={role: f"{loc.path} ({loc.origin})" for role, loc in found.items()},
        **tensors,
    )


__all__ = [
    "DataFile",
    "Dataset",
    "DatasetInfo",
    "Located",
    "Repack",
    "cache_dir",
    "dataset_info",
    "datasets",
    "load_dataset",
    "locate",
    "read_idx",
    "register_dataset",
    "verify",
    "write_idx",
]
