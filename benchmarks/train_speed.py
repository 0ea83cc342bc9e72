"""How fast does initlab train ensembles? (``make bench``; never run as a test.)

In one run, single-threaded (``torch.set_num_threads(1)``; ``--threads`` to change), on real MNIST:

1. **classic** -- 5 models of the classic MLP (784-100x4-10 ReLU, SGD lr 0.01, batch 128) trained
   by each backend (the engine's fast path, the default autograd backend) and by the plain
   per-model loop (each model its own ``nn.Module`` and ``torch.optim.SGD``, the same batches);
2. **sweep** -- 30 models of the same MLP (10 specs x 3 seeds), the same three;
3. **cnn** -- 8 models of ``cnn(depth=6, channels=32)`` (batch 128, ``--conv-iterations`` steps):
   the ensemble (autograd, the ensemble's ``strategy="auto"``: a loop over the models for conv nets
   on the CPU, ``vmap`` elsewhere; ``--strategy vmap`` forces grouped convolutions) against the
   plain loop;
4. **resnet** -- 4 models of ``resnet(depth=20)`` (batch 128), the same two;
5. **many models** -- one ensemble of the classic MLP on ``--device`` (``cuda`` on a GPU machine:
   ``--many 1000`` models or more; on the CPU a small one), time per model and the FLOP rate
   achieved against the device's own large-matmul rate (and, on CUDA, against the card's nominal
   FP32 peak where the script knows it).

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` on one training step (forward and
backward) of one plain model. The machine's float32 matmul rate (a large square matmul, best of
several) is the reference "peak" on the CPU. Times are training only (``TrainResult.train_seconds``:
the final evaluation excluded); each figure is the best of ``--repeats`` interleaved rounds, and the
load average is printed beside them (other processes on a shared machine skew every time).

    python benchmarks/train_speed.py [--iterations 300] [--repeats 1] [--threads 1] [--device cpu]
                                     [--many 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from initlab import load_dataset
from initlab.core.device import resolve_device
from initlab.data import Dataset
from initlab.ensemble import Ensemble, model_factory
from initlab.train import TrainConfig, train

CLASSIC = "mlp(layers=4, width=100)"
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
#: nominal dense FP32 (non-tensor-core) peaks, TFLOP/s, of cards this may run on
NOMINAL_FP32 = {"H200": 67.0, "H100": 67.0, "A100": 19.5, "L4": 30.3, "A10": 31.2, "T4": 8.1}


def matmul_rate(device: torch.device, n: int = 4096, repeats: int = 5) -> float:
    """Best float32 ``(n, n) @ (n, n)`` rate on ``device``, GFLOP/s."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    best = float("inf")
    for _ in range(repeats + 1):
        _sync(device)
        t = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_flops(spec: str) -> int:
    """FLOPs of one SGD step (forward + backward) of one plain model of ``spec`` on a batch of 128."""
    model = model_factory(spec)()
    x = torch.rand(BATCH, 784)
    y = torch.randint(10, (BATCH,))
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return int(counter.get_total_flops())


STRATEGY = {"name": "auto"}  #: the ensembles' execution strategy (``--strategy``)


def ensemble(spec: str, inits: list[str], seeds: list[int], device: torch.device | None = None) -> Ensemble:
    return Ensemble.from_factory(model_factory(spec), inits, seeds, device=device, strategy=STRATEGY["name"])


def run_backend(
    spec: str,
    inits: list[str],
    seeds: list[int],
    data: Dataset,
    T: int,
    backend: str,
    device: torch.device | None = None,
) -> tuple[float, list[float]]:
    """Seconds of training and final losses, the ensemble trained by ``backend``."""
    ens = ensemble(spec, inits, seeds, device)
    cfg = TrainConfig(iterations=T, batch_size=BATCH, lr=LR, eval_every=0, eval_size=100, backend=backend)
    res = train(ens, data, cfg, generator=torch.Generator().manual_seed(0))
    return res.train_seconds, res.train_loss[-1].tolist()


def run_plain(
    spec: str, inits: list[str], seeds: list[int], data: Dataset, T: int
) -> tuple[float, list[float]]:
    """The plain loop: every model its own module and torch.optim.SGD, on the trainer's batches."""
    ens = ensemble(spec, inits, seeds)
    models: list[nn.Module] = [ens.model(m) for m in range(ens.M)]
    opts = [torch.optim.SGD(m.parameters(), lr=LR) for m in models]
    g = torch.Generator().manual_seed(0)
    n = len(data.train_x)
    losses = [0.0] * len(models)
    t0 = time.perf_counter()
    for _ in range(T):
        idx = torch.randint(n, (BATCH,), generator=g)
        x, y = data.train_x[idx], data.train_y[idx]
        for m, (model, opt) in enumerate(zip(models, opts, strict=True)):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses[m] = float(loss.detach())
    return time.perf_counter() - t0, losses


def best(rounds: list[tuple[float, list[float]]]) -> tuple[float, list[float]]:
    return min(rounds, key=lambda r: r[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=300, help="SGD steps of the MLP workloads")
    ap.add_argument(
        "--conv-iterations", type=int, default=20, help="SGD steps of the cnn and resnet workloads"
    )
    ap.add_argument("--repeats", type=int, default=1, help="interleaved rounds; the best is kept")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="device of the many-models section (cpu, cuda, auto)")
    ap.add_argument(
        "--many",
        type=int,
        default=None,
        help="models in the many-models ensemble (default 1000 on CUDA, 20 on the CPU)",
    )
    ap.add_argument("--many-iterations", type=int, default=None, help="its steps (default 50; 20 on the CPU)")
    ap.add_argument(
        "--skip", default="", help="comma-separated sections to skip: classic,sweep,cnn,resnet,many"
    )
    ap.add_argument(
        "--strategy", default="auto", help="the ensembles' execution strategy: auto, vmap or loop"
    )
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    STRATEGY["name"] = args.strategy
    skip = set(filter(None, args.skip.split(",")))
    T = args.iterations
    data = load_dataset("mnist")
    load0 = os.getloadavg()[0]
    cpu = torch.device("cpu")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {T} iterations, "
        f"load average {load0:.2f}"
    )
    peak = matmul_rate(cpu)
    print(f"CPU float32 matmul rate (4096^3, best of 5): {peak:.1f} GFLOP/s")
    sweep_inits = [s for s in SWEEP for _ in range(3)]
    sweep_seeds = [j for _ in SWEEP for j in range(3)]
    workloads: dict[str, tuple[str, list[str], list[int], tuple[str, ...]]] = {
        "classic": (
            CLASSIC,
            ["std=0.01: normal(std=0.01)", "lecun_normal", "he_normal", "xavier_normal", "torch_default"],
            [0] * 5,
            ("engine", "autograd", "plain"),
        ),
        "sweep": (CLASSIC, sweep_inits, sweep_seeds, ("engine", "autograd", "plain")),
        "cnn": ("cnn(depth=6, channels=32)", ["he_normal"] * 8, list(range(8)), ("autograd", "plain")),
        "resnet": ("resnet(depth=20)", ["he_normal"] * 4, list(range(4)), ("autograd", "plain")),
    }
    runners: dict[str, Callable[..., tuple[float, list[float]]]] = {
        "engine": lambda *a: run_backend(*a, "engine"),
        "autograd": lambda *a: run_backend(*a, "autograd"),
        "plain": run_plain,
    }
    rounds: dict[tuple[str, str], list[tuple[float, list[float]]]] = {}
    for name, (spec, inits, seeds, ways) in workloads.items():  # warm-up: imports, vmap, allocators
        if name not in skip:
            for way in ways:
                runners[way](spec, inits[:2], seeds[:2], data, 2)
    for r in range(args.repeats):
        for name, (spec, inits, seeds, ways) in workloads.items():
            if name in skip:
                continue
            steps = args.conv_iterations if name in ("cnn", "resnet") else T
            for way in ways:
                rounds.setdefault((name, way), []).append(runners[way](spec, inits, seeds, data, steps))
                print(f"round {r + 1}: {name:<7} {way:<8} {rounds[name, way][-1][0]:8.2f} s", flush=True)
    doc: dict[str, Any] = {"threads": torch.get_num_threads(), "iterations": T, "cpu_matmul_gflops": peak}
    checks: list[tuple[str, float, float]] = []
    print()
    print(
        f"{'workload':<8} {'models':>6} {'way':<9} {'time':>8} {'per model':>11} {'GFLOP/s':>8} "
        f"{'of matmul':>9}  "
        "final loss (first models)"
    )
    for name, (spec, inits, _, ways) in workloads.items():
        if name in skip:
            continue
        fl = step_flops(spec)
        M = len(inits)
        steps = args.conv_iterations if name in ("cnn", "resnet") else T
        times = {}
        for way in ways:
            secs, losses = best(rounds[name, way])
            times[way] = secs
            rate = fl * M * steps / secs / 1e9
            print(
                f"{name:<8} {M:>6} {way:<9} {secs:7.2f}s {secs / M:10.3f}s {rate:8.1f} "
                f"{100 * rate / peak:8.1f}%  "
                f"{[round(v, 4) for v in losses[:3]]}"
            )
        doc[name] = {"spec": spec, "models": M, "steps": steps, "flops_per_model_step": fl, "seconds": times}
        fastest = min(times.values())
        if "engine" in times:
            checks.append(
                (
                    f"{name}: fastest / autograd (target: autograd within 1.3x)",
                    fastest / times["autograd"],
                    1 / 1.3,
                )
            )
            print(
                f"{'':<8} engine {times['plain'] / times['engine']:.2f}x and autograd "
                f"{times['plain'] / times['autograd']:.2f}x faster than the plain loop; "
                f"autograd takes {times['autograd'] / times['engine']:.2f}x the engine's time"
            )
        else:
            checks.append(
                (
                    f"{name}: plain / ensemble time per model (target 1.5x)",
                    times["plain"] / times["autograd"],
                    1.5,
                )
            )
            print(
                f"{'':<8} the ensemble takes {times['plain'] / times['autograd']:.2f}x less time per model "
                "than the plain loop"
            )
    if "many" not in skip:
        dev = resolve_device(args.device)
        many = args.many or (1000 if dev.type == "cuda" else 20)
        steps = args.many_iterations or (50 if dev.type == "cuda" else 20)
        fl = step_flops(CLASSIC)
        dev_peak = matmul_rate(dev)
        way = "autograd" if dev.type != "cpu" else "auto"
        run_backend(CLASSIC, ["he_normal"] * many, list(range(many)), data, 2, way, dev)  # warm-up
        secs, _ = run_backend(CLASSIC, ["he_normal"] * many, list(range(many)), data, steps, way, dev)
        rate = fl * many * steps / secs / 1e9
        name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
        nominal = next((v for k, v in NOMINAL_FP32.items() if k in name), None)
        print()
        print(
            f"many models on {dev} ({name}): {many} classic models x {steps} steps in {secs:.2f} s, "
            f"{1e3 * secs / many / steps:.3f} ms per model-step, {rate:.1f} GFLOP/s = "
            f"{100 * rate / dev_peak:.1f}% of the device's measured float32 matmul rate "
            f"({dev_peak:.0f} GFLOP/s)"
            + (
                f", {100 * rate / (1e3 * nominal):.1f}% of the card's nominal FP32 peak ({nominal} TFLOP/s)"
                if nominal
                else ""
            )
        )
        doc["many"] = {
            "device": str(dev),
            "name": name,
            "models": many,
            "steps": steps,
            "seconds": secs,
            "gflops": rate,
            "device_matmul_gflops": dev_peak,
            "nominal_fp32_tflops": nominal,
        }
    print()
    for label, got, want in checks:
        print(f"  [{'ok  ' if got >= want else 'MISS'}] {label}: {got:.2f} (target >= {want:.2f})")
    load1 = os.getloadavg()[0]
    print(f"load average at start {load0:.2f}, at end {load1:.2f} (other processes skew the times)")
    doc["checks"] = {label: got for label, got, _ in checks}
    doc["load_average"] = [load0, load1]
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=2)


if __name__ == "__main__":
    main()
