"""How fast does a sweep train a phase-diagram grid, in-process and through Ray? (never run as a test.)

The issue's workload: an ``N x N`` (sigma_w^2, sigma_b^2) grid of ``variance(w, b)`` tanh MLPs at
depth ``--depth`` and width ``--width``, ``--iterations`` SGD steps, ``--seeds`` seeds (defaults: 10 x
10 x 2 = 200 models, depth 20, width 100, 300 steps), trained in-process by :func:`initlab.studies.sweep.run`
into an in-memory store, in ensembles of at most ``--chunk`` models (default: all in one). Printed:
total wall time, time per model, and the FLOP rate reached against this machine's float32 matmul
rate (a large square matmul, best of several; the training FLOPs counted by
``torch.utils.flop_counter.FlopCounterMode`` on one step of one plain model, times steps and models;
evaluation excluded). Single-threaded unless ``--threads``.

``--ray``: the same grid again through a local Ray instance of ``--ray-cpus`` CPUs (one task per
ensemble, 1 CPU and 1 torch thread each), side by side: its total (the instance's start-up reported
apart: a cluster starts once), the same per-model and FLOP figures, and Ray's overhead as the ratio
of the Ray total to the in-process total. With ``--ray-cpus 1`` both runs use one core, so the
ratio is Ray's cost alone (worker start-up: importing torch and initlab, shipping the dataset, the
task round trips); with more, ensembles also run in parallel (``--chunk`` must leave several).

    python benchmarks/sweep_speed.py [--grid 10] [--depth 20] [--width 100] [--iterations 300]
                                     [--seeds 2] [--chunk N] [--threads 1] [--device cpu]
                                     [--ray] [--ray-cpus 1]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from initlab import load_dataset
from initlab.core.device import resolve_device
from initlab.ensemble import model_factory
from initlab.studies.sweep import SweepConfig, SweepResult, run


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


def report(label: str, res: SweepResult, wall: float, flops: int, rate: float, threads: int) -> None:
    models = len(res.rows)
    train_s = sum(r["wall_seconds"] for r in res.rows)  # the ensembles' wall time, shared out per model
    gflops, train_gflops = flops / wall / 1e9, flops / train_s / 1e9
    print(
        f"  {label}: total {wall:.1f} s = {1000 * wall / models:.0f} ms per model (training alone "
        f"{train_s:.1f} s, {1000 * train_s / models:.0f} ms per model); {gflops:.2f} GFLOP/s = "
        f"{100 * gflops / rate:.0f}% of the matmul rate ({rate:.1f} GFLOP/s, {threads} thread(s); "
        f"training alone {100 * train_gflops / rate:.0f}%)"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--grid", type=int, default=10)
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--width", type=int, default=100)
    p.add_argument("--iterations", type=int, default=300)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--chunk", type=int, default=None, help="models per ensemble (default: all)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--ray", action="store_true", help="also run through a local Ray instance")
    p.add_argument("--ray-cpus", type=int, default=1, help="CPUs of the local Ray instance")
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
        chunk=args.chunk or args.grid**2 * args.seeds,
        device=args.device,
    )
    data = load_dataset("mnist")
    models = len(cfg.cells())
    rate = matmul_rate(device)
    flops = step_flops(spec, args.batch) * args.iterations * models
    grid = f"{args.grid}x{args.grid} grid x {args.seeds} seeds"
    print(f"{models} models ({grid}), {spec} tanh, {args.iterations} steps, ensembles of {cfg.chunk}")
    print(f"  load average before: {' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    t = time.perf_counter()
    here = run(cfg, dataset=data)
    wall = time.perf_counter() - t
    report("in-process", here, wall, flops, rate, args.threads)
    if not args.ray:
        print(f"  load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
        return
    import logging

    import ray

    env = {"OMP_NUM_THREADS": str(args.threads)}
    t = time.perf_counter()
    ray.init(
        num_cpus=args.ray_cpus,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
        runtime_env={"env_vars": env},
    )
    start = time.perf_counter() - t
    try:
        t = time.perf_counter()
        there = run(replace(cfg, ray="auto", ray_cpus=args.threads), dataset=data)
        ray_wall = time.perf_counter() - t
    finally:
        ray.shutdown()
    report(f"Ray ({args.ray_cpus} CPU(s))", there, ray_wall, flops, rate, args.threads)
    same = all(
        a["key"] == b["key"]
        and a["test_accuracy"] == b["test_accuracy"]
        and a["final_loss"] == b["final_loss"]
        for a, b in zip(here.rows, there.rows, strict=True)
    )
    print(
        f"  Ray overhead: {ray_wall / wall:.2f}x the in-process total "
        f"(+{ray_wall - wall:.1f} s, {1000 * (ray_wall - wall) / models:.0f} ms per model; "
        f"instance start {start:.1f} s not counted); same numbers: {same}"
    )
    print(f"  load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
