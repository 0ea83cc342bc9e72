"""How fast is ``initlab.audit`` on classification models of torchvision's size, against the old path?
(Never run as a test.)

Builds VGG11, ResNet-50 and ViT-B/16 in pure PyTorch with torchvision's layer shapes (torchvision
itself does not install here) and PyTorch's default init, and times ``initlab.audit`` single-threaded
(``torch.set_num_threads(1)``), best of ``--repeats``:

* **new**: today's audit (cheap rejections before the orthogonality Gram matrix, moments in chunks);
* **old**: the same audit with the old hot path copied below patched in -- the structural checks as
  they were (a float64 Gram matrix ``W W^T`` built for every weight before any rejection, the
  identity built at full size, the zero count per column) and the moments of a full float64 copy
  (``z = (w - mean) / std``, ``z^4``). Everything else (candidates, warnings, the trace) is shared.

It prints seconds per model, the ratio old / new, and checks that both name the same scheme for every
weight. ``--no-old`` skips the old path (it takes about a minute for VGG11 alone).

    python benchmarks/audit_speed.py [--repeats 3] [--no-old]
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

import initlab
import initlab.tools._audit as audit_mod
import initlab.tools._identify as ident_mod
from initlab.schemes import scheme

# -- the models: torchvision's layer shapes, PyTorch's default init ---------------------------------


class VGG11(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU(inplace=True)]
                cin = int(v)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(True),
            nn.Dropout(), nn.Linear(4096, 1000),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class Bottleneck(nn.Module):
    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or cin != width * 4:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, width * 4, 1, stride, bias=False), nn.BatchNorm2d(width * 4)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet50(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages: list[nn.Module] = []
        cin = 64
        for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            stage = []
            for i in range(blocks):
                stage.append(Bottleneck(cin, width, stride if i == 0 else 1))
                cin = width * 4
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, 1000)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class EncoderBlock(nn.Module):
    def __init__(self, dim: int = 768, heads: int = 12, mlp: int = 3072) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x: Tensor) -> Tensor:
        y = self.ln_1(x)
        x = x + self.self_attention(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class ViTB16(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv_proj = nn.Conv2d(3, 768, 16, 16)
        self.class_token = nn.Parameter(torch.zeros(1, 1, 768))
        self.pos_embedding = nn.Parameter(torch.empty(1, 197, 768).normal_(std=0.02))
        self.layers = nn.Sequential(*(EncoderBlock() for _ in range(12)))
        self.ln = nn.LayerNorm(768)
        self.head = nn.Linear(768, 1000)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embedding
        return self.head(self.ln(self.layers(x))[:, 0])


MODELS: dict[str, Callable[[], nn.Module]] = {"vgg11": VGG11, "resnet50": ResNet50, "vit_b_16": ViTB16}

# -- the old hot path, copied from initlab.tools._identify / _audit before the change --------------


def old_structural(w: Tensor) -> ident_mod.Identification | None:
    flat = w.reshape(-1)
    if bool((flat == flat[0]).all()):
        v = float(flat[0])
        spec = "zeros" if v == 0 else "ones" if v == 1 else f"constant(value={v:g})"
        return ident_mod.Identification(spec, scheme(spec).law(tuple(w.shape)), 1.0)
    if w.dim() < 2:
        return None
    if w.dim() <= 5:
        eye = torch.zeros_like(w)
        torch.nn.init.eye_(eye) if w.dim() == 2 else torch.nn.init.dirac_(eye)
        if torch.equal(w, eye):
            return ident_mod.Identification("identity", scheme("identity").law(tuple(w.shape)), 1.0)
    if w.dim() == 2:
        zeros = (w == 0).sum(dim=0)  # (cols,)
        z = int(zeros[0])
        if not (z == 0 or z >= w.shape[0] or not bool((zeros == z).all())):
            return ident_mod._sparse(w)
    rows, cols = w.shape[0], w[0].numel()
    if min(rows, cols) >= 2:
        m = w.reshape(rows, cols).double()
        gram = m @ m.T if rows <= cols else m.T @ m  # (k, k)
        g2 = float(gram.diagonal().mean())
        if g2 > 0 and float((gram / g2 - torch.eye(gram.shape[0], dtype=gram.dtype)).abs().max()) < 1e-3:
            spec = f"orthogonal(gain={ident_mod.nice(math.sqrt(g2), 1e-4 * math.sqrt(g2)):g})"
            return ident_mod.Identification(spec, scheme(spec).law(tuple(w.shape)), 1.0)
    return None


def old_moments(flat: Tensor) -> ident_mod.Moments:
    x = flat.double()  # a full float64 copy, then z and z^4 at full size
    torch.isfinite(x).sum()  # the old audit entry counted non-finite entries first
    n = x.numel()
    mean, s = float(x.mean()), float(x.std(unbiased=False))
    z = (x - mean) / s
    kurt, top = float(z.pow(4).mean()) - 3.0, float(z.abs().max())
    return ident_mod.Moments(n, mean, s, kurt, top, float(x.min()), float(x.max()))


@contextmanager
def old_path() -> Iterator[None]:
    saved = (ident_mod._structural, ident_mod.moments, audit_mod.moments)
    ident_mod._structural, ident_mod.moments, audit_mod.moments = old_structural, old_moments, old_moments
    try:
        yield
    finally:
        ident_mod._structural, ident_mod.moments, audit_mod.moments = saved


def best(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-old", action="store_true", help="skip the old path (slow)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)  # PyTorch's default init draws from the global RNG (a script, not the library)
    print(f"torch {torch.__version__}, 1 thread, load average {os.getloadavg()[0]:.2f}")
    print(f"{'model':<10} {'weights':>8} {'params':>8} {'new s':>8} {'old s':>8} {'old/new':>8}")
    for name, build in MODELS.items():
        model = build()
        n_w = sum(1 for p, _ in model.named_parameters() if p.rpartition(".")[2].startswith("weight"))
        params = sum(p.numel() for p in model.parameters())
        t_new, new = best(lambda m=model: initlab.audit(m), args.repeats)
        line = f"{name:<10} {n_w:>8} {params / 1e6:>7.1f}M {t_new:>8.2f}"
        if not args.no_old:
            with old_path():
                t_old, old = best(lambda m=model: initlab.audit(m), 1)
            same = [a.scheme for a in new.weights] == [b.scheme for b in old.weights]  # type: ignore[attr-defined]
            line += f" {t_old:>8.2f} {t_old / t_new:>7.1f}x" + ("" if same else "  (schemes differ!)")
        print(line, flush=True)


if __name__ == "__main__":
    main()
