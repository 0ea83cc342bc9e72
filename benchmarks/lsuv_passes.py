"""How much does fitting every LSUV layer in one forward pass save, against one pass per measurement?
(Never run as a test.)

In one run, on this machine, it fits the same conv net (``--layers`` x Conv2d(32, 32, 3) + tanh, on a
batch of 64 x 32 x 16 x 16) twice from the same orthogonal pre-init:

* ``per-pass`` -- the paper's loop, copied below: per layer, run the model up to that layer (stopped
  there by an exception, as initlab's LSUV did before), measure, rescale, repeat;
* ``initlab.lsuv_`` -- one forward pass; each layer fitted in its hook by re-running only itself;

and prints the model passes each made, the best time of ``--repeats``, the ratio, and the largest
relative difference between the fitted weights (the same computation: ~float rounding).

    python benchmarks/lsuv_passes.py [--layers 12] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

import initlab


class _Stop(Exception):
    pass


def net(layers: int) -> nn.Sequential:
    return nn.Sequential(*[m for _ in range(layers) for m in (nn.Conv2d(32, 32, 3, padding=1), nn.Tanh())])


def per_pass(model: nn.Sequential, x: torch.Tensor, tol: float) -> int:
    """The per-measurement loop; returns the number of (stopped) model passes."""
    passes = 0
    for layer in [m for m in model if isinstance(m, nn.Conv2d)]:
        for _ in range(10):
            got: list[float] = []

            def hook(m: nn.Module, a: object, out: torch.Tensor, got: list[float] = got) -> None:
                got.append(float(out.double().std(unbiased=False)))
                raise _Stop

            handle = layer.register_forward_hook(hook)
            passes += 1
            try:
                with torch.no_grad():
                    model(x)
            except _Stop:
                pass
            handle.remove()
            if abs(got[0] - 1.0) <= tol:
                break
            with torch.no_grad():
                layer.weight.mul_(1.0 / got[0])
                layer.bias.mul_(1.0 / got[0])
    return passes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.randn(64, 32, 16, 16, generator=torch.Generator().manual_seed(0))
    best = {"per-pass": float("inf"), "lsuv_": float("inf")}
    for _ in range(args.repeats):
        slow, fast = net(args.layers), net(args.layers)
        initlab.init_(slow, "orthogonal", generator=torch.Generator().manual_seed(1))
        t = time.perf_counter()
        n_slow = per_pass(slow, x, 0.01)
        best["per-pass"] = min(best["per-pass"], time.perf_counter() - t)
        t = time.perf_counter()
        res = initlab.lsuv_(fast, x, tol=0.01, generator=torch.Generator().manual_seed(1))
        best["lsuv_"] = min(best["lsuv_"], time.perf_counter() - t)
    diff = max(
        float(((a - b).abs().max() / b.abs().max()).item())
        for a, b in zip(fast.parameters(), slow.parameters(), strict=True)
    )
    print(f"per-pass: {n_slow} passes, {best['per-pass']:.3f} s")
    print(f"lsuv_:    {res.passes} pass,  {best['lsuv_']:.3f} s")
    print(
        f"ratio per-pass / lsuv_: {best['per-pass'] / best['lsuv_']:.2f}x; "
        f"max rel. weight difference {diff:.1e}"
    )


if __name__ == "__main__":
    main()
