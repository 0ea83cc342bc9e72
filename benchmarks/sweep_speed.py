"""How fast does a sweep train a phase-diagram grid? (never run as a test.)

The issue's workload: an ``N x N`` (sigma_w^2, sigma_b^2) grid of ``variance(w, b)`` tanh MLPs at
depth ``--depth`` and width ``--width``, ``--iterations`` SGD steps, ``--seeds`` seeds (defaults: 10 x
10 x 2 = 200 models, depth 20, width 100, 300 steps), trained in-process by :func:`initlab.studies.sweep.run`
into an in-memory store. Printed: total wall time, time per model, and the FLOP rate reached
against this machine's float32 matmul rate (a large square matmul, best of several; the training
FLOPs counted by ``torch.utils.flop_counter.FlopCounterMode`` on one step of one plain model, times
steps and models; evaluation excluded). Single-threaded unless ``--threads``. (Ray: a later issue.)

    python benchmarks/sweep_speed.py [--grid 10] [--depth 20] [--width 100] [--iterations 300]
                                     [--seeds 2] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from initlab import load_dataset
from initlab.core.device import resolve_device
from initlab.ensemble import model_factory
from initlab.studies.sweep import SweepConfig, run


def matmul_rate(device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    """Best float32 ``(n, n) @ (n, n)`` rate on ``device``, GFLOP/s."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best = float("inf")
    for _ in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def step_flops(spec: str, batch: int) -> int:
    """FLOPs of one training step (forward + backward) of one plain model."""
    model = model_factory(spec, activation="tanh")()
    x, y = torch.randn(batch, 784), torch.randint(0, 10, (batch,))
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return int(counter.get_total_flops())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--grid", type=int, default=10)
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--width", type=int, default=100)
    p.add_argument("--iterations", type=int, default=300)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    spec = f"mlp(layers={args.depth}, width={args.width})"
    cfg = SweepConfig(
        model=(spec,),
        activation=("tanh",),
        init=("variance",),
        init_param=(f"w=0.5:4:{args.grid}", f"b=0:0.3:{args.grid}"),
        iterations=(args.iterations,),
        seeds=args.seeds,
        batch_size=args.batch,
        eval_size=1000,
        chunk=args.grid**2 * args.seeds,
        device=args.device,
    )
    data = load_dataset("mnist")
    models = len(cfg.cells())
    rate = matmul_rate(device)
    t = time.perf_counter()
    res = run(cfg, dataset=data)
    wall = time.perf_counter() - t
    train_s = sum(r["wall_seconds"] for r in res.rows)  # the ensembles' wall time, shared out per model
    flops = step_flops(spec, args.batch) * args.iterations * models
    load = os.getloadavg()[0]
    grid = f"{args.grid}x{args.grid} grid x {args.seeds} seeds"
    print(f"{models} models ({grid}), {spec} tanh, {args.iterations} steps")
    print(f"  total {wall:.1f} s, training {train_s:.1f} s, {1000 * train_s / models:.0f} ms per model")
    gflops = flops / train_s / 1e9
    print(
        f"  {gflops:.2f} GFLOP/s = {100 * gflops / rate:.0f}% of the matmul rate "
        f"({rate:.1f} GFLOP/s, {args.threads} thread(s), load average {load:.1f})"
    )


if __name__ == "__main__":
    main()
