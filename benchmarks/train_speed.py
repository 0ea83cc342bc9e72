"""How fast does initlab train the classic MNIST comparison? (``make bench``; never run as a test.)

In one run, on this machine, it measures

* the classic workload -- 3 models (std=0.01, Xavier = lecun_normal, He) of 784-100-100-100-100-10
  ReLU, 2000 SGD iterations, batch 128 -- trained by
  (a) initlab's trainer (all models as one stacked computation),
  (b) a plain per-model PyTorch loop (nn.Sequential, F.cross_entropy, torch.optim.SGD), and
  (c) a straightforward NumPy float64 implementation in the style of the classic study;
* the machine's float32 matrix-multiply rate (a large square matmul, best of several) and the
  workload's FLOP count, hence the fraction of that rate each implementation achieves;
* a sweep of 30 models (10 specs x 3 seeds) with (a), against (b)'s time per model;
* the sweep's *matmul ceiling*: the matmuls of one training step alone -- the engine's shapes,
  layouts and BLAS calls, nothing between them (no activation, loss or batch sampling) -- timed the
  same way, so the printout separates what the matmul kernels reach on these shapes from what the
  rest of a step costs.

All three see the same batches from the same initial weights, so their final losses agree (printed
as a check). Times are training only: no evaluation, data already in memory.

    python benchmarks/train_speed.py [--iterations 2000] [--repeats 1] [--threads N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from initlab import load_dataset
from initlab.ensemble.stack import Stack
from initlab.train import TrainConfig, train

WIDTHS = [784, 100, 100, 100, 100, 10]
CLASSIC = ["std=0.01: normal(std=0.01)", "Xavier: lecun_normal", "He: he_normal"]
SWEEP = [
    "normal(std=0.01)",
    "lecun_normal",
    "he_normal",
    "xavier_normal",
    "xavier_uniform",
    "he_uniform",
    "lecun_uniform",
    "orthogonal",
    "torch_default",
    "trunc_normal(std=0.05)",
]
BATCH, LR = 128, 0.01


def flops_per_model_step(widths: list[int], batch: int) -> int:
    """Matmul FLOPs of one SGD step of one model: forward, weight and input gradients (none into x)."""
    macs = [i * o for i, o in itertools.pairwise(widths)]
    return 2 * batch * (2 * sum(macs) + sum(macs[1:]))


def matmul_rate(n: int = 4096, repeats: int = 5) -> float:
    """Best float32 ``(n, n) @ (n, n)`` rate in GFLOP/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def matmul_ceiling(M: int, widths: list[int], batch: int, steps: int) -> float:
    """Seconds for ``steps`` training steps of ``M`` models doing only their matmuls.

    The same calls, shapes and layouts as :mod:`initlab.train._engine`: layer 0 one
    ``(M*H, D+1) @ (D+1, B)`` mm and its weight gradient one ``(M*H, B) @ (B, D+1)`` addmm into the
    parameters; every later layer a ``(M, out, in+1) @ (M, in+1, B)`` bmm forward, a
    ``(M, in, out) @ (M, out, B)`` bmm backward and a ``(M, out, B) @ (M, B, in+1)`` baddbmm into
    the parameters. Nothing else runs, so this bounds what any step built on these kernels reaches.
    """
    g = torch.Generator().manual_seed(0)
    D, L = widths[0], len(widths) - 1
    packs = [
        torch.randn(M, o, i + 1, generator=g) * 0.05 for i, o in itertools.pairwise(widths)
    ]  # (M, out, in+1)
    w0 = packs[0].view(M * widths[1], D + 1)  # (M*H, D+1)
    w_t = [p[:, :, :i].transpose(1, 2) for p, i in zip(packs, widths, strict=False)]  # (M, in, out)
    x1 = torch.rand(batch, D + 1, generator=g)  # (B, D+1)
    z = [torch.empty(M, o, batch) for o in widths[1:]]  # (M, out, B)
    z0 = z[0].view(M * widths[1], batch)  # (M*H, B)
    h = [torch.rand(M, w + 1, batch, generator=g) for w in widths[1:-1]]  # (M, H+1, B)
    h_t = [t.transpose(1, 2) for t in h]  # (M, B, H+1)
    dprev = [torch.rand(M, w, batch, generator=g) for w in widths[1:-1]]  # (M, H, B)
    alpha = -1e-6  # keeps the parameters (and the rate) steady over many steps

    def step() -> None:
        torch.mm(w0, x1.T, out=z0)
        for layer in range(1, L):
            torch.bmm(packs[layer], h[layer - 1], out=z[layer])
        dz = z[L - 1]
        for layer in range(L - 1, 0, -1):
            torch.bmm(w_t[layer], dz, out=dprev[layer - 1])
            packs[layer].baddbmm_(dz, h_t[layer - 1], alpha=alpha)
            dz = dprev[layer - 1]
        w0.addmm_(dz.view(M * widths[1], batch), x1, alpha=alpha)

    for _ in range(10):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - t


def batches(n: int, iterations: int, seed: int) -> list[torch.Tensor]:
    """The batch indices the trainer draws: ``torch.randint`` from a generator seeded with ``seed``."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(n, (BATCH,), generator=g) for _ in range(iterations)]


def stack_for(specs: list[str], seeds: list[int]) -> Stack:
    stack = Stack.from_schemes(WIDTHS, "relu", specs, seeds)
    assert stack.biases is not None
    with torch.no_grad():
        for b in stack.biases:
            b.zero_()
    return stack


def run_initlab(stack: Stack, data: object, iterations: int) -> tuple[float, list[float]]:
    cfg = TrainConfig(iterations=iterations, batch_size=BATCH, lr=LR, eval_every=0)
    res = train(stack, data, cfg, generator=torch.Generator().manual_seed(0))  # type: ignore[arg-type]
    return res.train_seconds, res.train_loss[-1].tolist()


def run_plain(
    stack: Stack, x: torch.Tensor, y: torch.Tensor, idx: list[torch.Tensor]
) -> tuple[float, list[float]]:
    """(b): one ordinary model after another at each step, autograd and torch.optim.SGD."""
    models = [stack.to_sequential(m) for m in range(stack.M)]
    opts = [torch.optim.SGD(m.parameters(), lr=LR) for m in models]
    last = [torch.zeros(())] * len(models)
    t = time.perf_counter()
    for i in idx:
        xb, yb = x[i], y[i]
        for k, (model, opt) in enumerate(zip(models, opts, strict=True)):
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            last[k] = loss.detach()
    elapsed = time.perf_counter() - t
    return elapsed, [float(v) for v in last]


class NumpyNet:
    """(c): the classic study's style -- Affine/ReLU layers and softmax-with-loss, float64, by hand."""

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray]) -> None:
        self.W = [w.T.astype(np.float64).copy() for w in weights]  # (in, out), as the study stores them
        self.b = [b.astype(np.float64).copy() for b in biases]

    def step(self, x: np.ndarray, t: np.ndarray, lr: float) -> float:
        hs = [x]
        h = x
        for k in range(len(self.W)):
            z = h @ self.W[k] + self.b[k]
            h = np.maximum(z, 0) if k < len(self.W) - 1 else z
            hs.append(h)
        z = h - h.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        n = len(t)
        loss = float(-np.log(p[np.arange(n), t] + 1e-7).mean())
        d = p.copy()
        d[np.arange(n), t] -= 1
        d /= n
        for k in range(len(self.W) - 1, -1, -1):
            dW = hs[k].T @ d
            db = d.sum(axis=0)
            if k > 0:
                d = (d @ self.W[k].T) * (hs[k] > 0)
            self.W[k] -= lr * dW
            self.b[k] -= lr * db
        return loss


def run_numpy(stack: Stack, x: np.ndarray, y: np.ndarray, idx: list[np.ndarray]) -> tuple[float, list[float]]:
    assert stack.biases is not None
    nets = [
        NumpyNet(
            [w[m].detach().numpy() for w in stack.weights],
            [b[m].detach().numpy() for b in stack.biases],
        )
        for m in range(stack.M)
    ]
    last = [0.0] * len(nets)
    t = time.perf_counter()
    for i in idx:
        xb, yb = x[i], y[i]
        for k, net in enumerate(nets):
            last[k] = net.step(xb, yb, LR)
    return time.perf_counter() - t, last


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3, help="rounds (a, b, c, sweep, matmul); best of each")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--skip-numpy", action="store_true", help="skip (c), the slowest")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    T = args.iterations
    load0 = os.getloadavg()[0]
    data = load_dataset("mnist")
    x, y = data.train_x, data.train_y
    idx = batches(len(x), T, 0)
    xn, yn = x.numpy(), y.numpy()
    idn = [i.numpy() for i in idx]
    fl = flops_per_model_step(WIDTHS, BATCH)
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} threads, numpy {np.__version__}; load avg {load0:.2f}")
    print(f"classic workload: 3 models x {T} iterations x batch {BATCH}: {fl * 3 * T / 1e9:.0f} GFLOP")

    specs3, seeds3 = CLASSIC, [0, 0, 0]
    specs30 = [s for s in SWEEP for _ in range(3)]
    seeds30 = [j for _ in SWEEP for j in range(3)]
    # Rounds interleave the implementations, so that a burst of load elsewhere hits one round of all
    # of them rather than all rounds of one; each figure is the best round.
    rounds: dict[str, list[tuple[float, list[float]]]] = {
        k: [] for k in ("peak", "a", "b", "c", "sweep", "ceiling")
    }
    for r in range(args.repeats):
        rounds["peak"].append((matmul_rate(), []))
        rounds["a"].append(run_initlab(stack_for(specs3, seeds3), data, T))
        rounds["b"].append(run_plain(stack_for(specs3, seeds3), x, y, idx))
        if not args.skip_numpy:
            rounds["c"].append(run_numpy(stack_for(specs3, seeds3), xn, yn, idn))
        rounds["sweep"].append(run_initlab(stack_for(specs30, seeds30), data, T))
        rounds["ceiling"].append((matmul_ceiling(30, WIDTHS, BATCH, T), []))
        times = "  ".join(f"{k} {v[-1][0]:.2f}" for k, v in rounds.items() if v and k != "peak")
        print(f"round {r + 1}: matmul {rounds['peak'][-1][0]:.0f} GFLOP/s; seconds: {times}")
    peak = max(v for v, _ in rounds["peak"])
    ta, la = min(rounds["a"])
    tb, lb = min(rounds["b"])
    tc, lc = min(rounds["c"]) if rounds["c"] else (float("nan"), [float("nan")] * 3)
    ts, _ = min(rounds["sweep"])
    tm, _ = min(rounds["ceiling"])
    work3 = fl * 3 * T
    print(f"float32 matmul rate (4096^3, best of all rounds): {peak:.0f} GFLOP/s; the classic workload's "
          f"arithmetic alone takes {work3 / peak / 1e9:.2f} s at that rate")  # fmt: skip
    work30 = fl * 30 * T

    def row(name: str, secs: float, work: float, models: int) -> str:
        rate = work / secs / 1e9
        share = 100 * rate / peak
        return f"{name:<44} {secs:8.2f} s {secs / models:7.3f} s/model {rate:7.1f} GFLOP/s {share:5.1f}%"

    print()
    print(f"{'implementation':<44} {'time':>10} {'per model':>15} {'rate':>15} {'of matmul':>9}")
    print(row("(a) initlab trainer, 3 models", ta, work3, 3))
    print(row("(b) plain PyTorch loop, 3 models", tb, work3, 3))
    if not args.skip_numpy:
        print(row("(c) NumPy float64, study style, 3 models", tc, work3, 3))
    print(row("(a) initlab trainer, 30 models (10 x 3 seeds)", ts, work30, 30))
    print(row("    its matmuls alone (the ceiling)", tm, work30, 30))
    print(f"the sweep runs at {100 * tm / ts:.0f}% of its matmul ceiling; the rest of a step (activations, "
          f"loss, batch sampling, dispatch) is {100 * (ts - tm) / ts:.0f}% of its time")  # fmt: skip
    print()
    print("final training losses (same batches, same initial weights):")
    for name, losses in (("a", la), ("b", lb), ("c", lc)):
        print(f"  ({name}) {[round(v, 4) for v in losses]}")
    per_b, per_s = tb / 3, ts / 30
    checks = [
        ("classic: (a) >= 3x faster than (c)", tc / ta, 3.0),
        ("classic: (a) >= 1.25x faster than (b)", tb / ta, 1.25),
        ("sweep: >= 70% of the matmul rate", work30 / ts / 1e9 / peak, 0.70),
        ("sweep: time per model >= 1.5x lower than (b)'s", per_b / per_s, 1.5),
    ]
    print()
    for name, got, want in checks:
        ok = "ok  " if got >= want else "MISS"
        print(f"  [{ok}] {name}: {got:.2f} (target {want:g})")
    load1 = os.getloadavg()[0]
    print(f"load average at start {load0:.2f}, at end {load1:.2f} (other processes skew the times)")
    if args.json:
        doc = {
            "threads": torch.get_num_threads(),
            "matmul_gflops": peak,
            "flops_per_model_step": fl,
            "iterations": T,
            "seconds": {
                "initlab_3": ta,
                "plain_torch_3": tb,
                "numpy_3": tc,
                "initlab_30": ts,
                "matmuls_only_30": tm,
            },
            "checks": {name: got for name, got, _ in checks},
            "load_average": [load0, load1],
        }
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=2)


if __name__ == "__main__":
    main()
