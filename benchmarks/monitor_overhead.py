"""What does ``initlab.monitor`` cost a training loop? (never run as a test)

A small CNN (conv 1->8 3x3, ReLU, max-pool, conv 8->16 3x3, ReLU, max-pool, linear 784->10; 15k
parameters) trains on MNIST batches of 64 with plain PyTorch (``F.cross_entropy``,
``torch.optim.SGD``), single-threaded. The same steps, from the same initial weights on the same
batches, are timed

* **bare** -- no monitor;
* **monitor** -- inside ``initlab.monitor(model, every=100)`` (no sink);
* **monitor + TensorBoard** -- the same with a :class:`~initlab.tools.TensorBoardSink` writing to a
  temporary folder.

Each variant trains its own copy in blocks of ``every`` steps (so each monitored block holds exactly
one sampled step, where all of the monitor's work is: an unsampled step runs only its counter);
the blocks of the three variants are interleaved, ``--rounds`` of them, so that a busy machine
slows them alike. Every step is timed. The printout gives each variant's median block time per step
and its ratio to bare, and an estimate from per-step medians, steadier under load: (the sampled
step + ``every - 1`` plain steps) / ``every`` bare steps. The target is under 5% at every=100.

    python benchmarks/monitor_overhead.py [--rounds 10] [--every 100]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
import warnings
from contextlib import ExitStack

import torch
import torch.nn.functional as F
from torch import nn

import initlab
from initlab.tools import MonitorWarning, TensorBoardSink


def small_cnn() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 7 * 7, 10),
    )


def batches(steps: int, batch: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    data = initlab.load_dataset("mnist")
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, len(data.train_x), (steps, batch), generator=g)  # (S, B)
    return [(data.train_x[i].reshape(batch, 1, 28, 28), data.train_y[i]) for i in idx]


def sgd(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def block(
    model: nn.Module, opt: torch.optim.Optimizer, data: list[tuple[torch.Tensor, torch.Tensor]]
) -> list[float]:
    """Seconds of each plain SGD step over ``data``."""
    out = []
    for x, y in data:
        t = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=10, help="interleaved blocks of --every steps per variant")
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", MonitorWarning)  # findings are not what is timed
    data = batches(args.rounds * args.every, args.batch, seed=0)
    start = small_cnn()
    initlab.init_(start, "he_normal", generator=torch.Generator().manual_seed(0))
    names = ["bare", "monitor", "monitor + TensorBoard"]
    models = {name: copy.deepcopy(start) for name in names}
    opts = {name: sgd(m) for name, m in models.items()}
    times: dict[str, list[list[float]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        block(copy.deepcopy(start), sgd(start), data[:20])  # warm-up: allocator, kernels, first calls
        stack.enter_context(initlab.monitor(models["monitor"], every=args.every))
        sink = stack.enter_context(TensorBoardSink(tmp))
        stack.enter_context(initlab.monitor(models["monitor + TensorBoard"], every=args.every, sinks=[sink]))
        for r in range(args.rounds):  # each block: every steps, so exactly one sampled step per monitor
            part = data[r * args.every : (r + 1) * args.every]
            for name in names:  # interleaved: a busy machine slows the three alike
                times[name].append(block(models[name], opts[name], part))

    print(
        f"small CNN ({sum(p.numel() for p in start.parameters())} parameters), MNIST batch {args.batch}, "
        f"1 thread, {args.rounds} interleaved blocks of {args.every} steps, every={args.every}"
    )
    med = statistics.median
    base_block = med(sum(b) for b in times["bare"])
    base_step = med(t for b in times["bare"] for t in b)
    head = ["block/step", "ratio", "plain step", "sampled step", "estimate"]
    print(f"  {'':22s} {head[0]:>10s} {head[1]:>6s}   {head[2]:>10s} {head[3]:>12s} {head[4]:>8s}")
    for name in names:
        blocks = times[name]
        per = med(sum(b) for b in blocks)
        if name == "bare":
            plain, sampled = base_step, base_step
        else:  # the block's first step is the sampled one (each block starts at a multiple of every)
            plain = med(t for b in blocks for t in b[1:])
            sampled = med(b[0] for b in blocks)
        estimate = (sampled + (args.every - 1) * plain) / (args.every * base_step)
        print(
            f"  {name:22s} {per / args.every * 1e3:7.2f} ms {per / base_block:6.3f}   "
            f"{plain * 1e3:7.2f} ms {sampled * 1e3:9.1f} ms {estimate:8.3f}"
        )
    print(
        "  ratio: median block time over bare's; estimate: (sampled + (every - 1) plain) / (every bare), "
        "from per-step medians (steadier on a busy machine)"
    )


if __name__ == "__main__":
    main()
