"""``initlab compare``: train one network from several initializations and compare them.

Thin: parses flags into a :class:`~initlab.studies.compare.CompareConfig`, runs the study with a
progress bar, writes the run folder (``config.json``, ``results.json``, ``compare.png``/``.svg``)
and prints a table. Ctrl-C stops training after the current step; what was trained is written,
marked ``"partial": true``, and the command exits 130 (a second Ctrl-C aborts at once).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from contextlib import ExitStack
from datetime import datetime
from typing import Any

from ..core.errors import InitlabError
from ..data import load_dataset
from ..studies.compare import BIAS_MODES, DEFAULT_INITS, CompareConfig, CompareResult, compare
from ..train import OPTIMIZERS, SAMPLINGS
from ._console import console, progress, table
from ._interrupt import graceful_stop
from ._runfolder import RunFolder

_D = CompareConfig()


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "compare",
        help="train one network from several inits on MNIST (the classic comparison), many models at once",
        description="Train the same MLP from several initializations (all models at once, on the same "
        "mini-batches) and compare training loss and test accuracy. Defaults reproduce the classic "
        "MNIST comparison: 784-100-100-100-100-10 ReLU, biases zero, inits std=0.01, 'Xavier' "
        "(= lecun_normal, std 1/sqrt(n), as in the study) and He, SGD lr 0.01, batch 128 drawn with "
        "replacement, 2000 iterations.",
    )
    p.add_argument(
        "--dataset", default=_D.dataset, help="mnist (bundled), fashion-mnist or kmnist (default mnist)"
    )
    p.add_argument(
        "--data-dir", default=None, help="folder holding the dataset's four IDX files (searched first)"
    )
    p.add_argument("--layers", type=int, default=_D.layers, help=f"hidden layers (default {_D.layers})")
    p.add_argument("--width", type=int, default=_D.width, help=f"units per hidden layer (default {_D.width})")
    p.add_argument("--activation", default=_D.activation, help=f"activation (default {_D.activation})")
    p.add_argument(
        "--init",
        action="append",
        metavar="SPEC",
        help="init spec, repeatable, optionally labelled 'label: spec' (default: "
        + ", ".join(repr(s) for s in DEFAULT_INITS)
        + ")",
    )
    p.add_argument("--bias", choices=BIAS_MODES, default=_D.bias, help="initial biases (default zeros)")
    p.add_argument(
        "--iterations", type=int, default=_D.iterations, help=f"SGD steps (default {_D.iterations})"
    )
    p.add_argument(
        "--batch-size", type=int, default=_D.batch_size, help=f"mini-batch size (default {_D.batch_size})"
    )
    p.add_argument("--lr", type=float, default=_D.lr, help=f"learning rate (default {_D.lr})")
    p.add_argument("--optimizer", default=_D.optimizer, help=f"{', '.join(OPTIMIZERS)} (default sgd)")
    p.add_argument(
        "--momentum", type=float, default=_D.momentum, help="momentum for --optimizer momentum (0.9)"
    )
    p.add_argument(
        "--sampling", default=_D.sampling, help=f"{' or '.join(SAMPLINGS)} (default replacement, the study's)"
    )
    p.add_argument(
        "--eval-every", type=int, default=_D.eval_every, help="test-set evaluation period (default 200)"
    )
    p.add_argument(
        "--seeds", type=int, default=_D.seeds, help="seeds per init; figures show mean and band (default 1)"
    )
    p.add_argument(
        "--seed", type=int, default=_D.seed, help="first init seed, and the batch seed (default 0)"
    )
    p.add_argument(
        "--smooth", type=int, default=_D.smooth, help="moving-average window in iterations (default 25)"
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--out", default=None, help="run folder (default runs/compare-<date>-<time>)")
    p.set_defaults(run=run)


def config_from_args(args: argparse.Namespace) -> CompareConfig:
    return CompareConfig(
        dataset=args.dataset,
        layers=args.layers,
        width=args.width,
        activation=args.activation,
        inits=tuple(args.init) if args.init else DEFAULT_INITS,
        bias=args.bias,
        seeds=args.seeds,
        seed=args.seed,
        iterations=args.iterations,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer=args.optimizer,
        momentum=args.momentum,
        sampling=args.sampling,
        eval_every=args.eval_every,
        smooth=args.smooth,
    )


class _LazyBar:
    """A download progress bar that appears only if a download happens."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        self.tick: Any = None

    def __call__(self, done: int, total: int, **info: Any) -> None:
        if self.tick is None:
            self.tick = self.stack.enter_context(progress("download"))
        self.tick(done, total, **info)


def run(args: argparse.Namespace) -> int:
    import torch

    cfg = config_from_args(args)
    cfg.validate()
    if args.threads is not None:
        if args.threads <= 0:
            raise InitlabError(f"--threads must be positive, got {args.threads}")
        torch.set_num_threads(args.threads)
    out_path = args.out or f"runs/compare-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    folder = RunFolder(out_path)
    folder.write_config(
        "compare", {**cfg.to_dict(), "data_dir": args.data_dir, "threads": torch.get_num_threads()}
    )
    out = console()
    models = len(cfg.inits) * cfg.seeds
    t0 = time.perf_counter()
    with graceful_stop() as stop:  # Ctrl-C from here on: stop cleanly, write what was trained
        with ExitStack() as bars:
            ds = load_dataset(cfg.dataset, data_dir=args.data_dir, progress=_LazyBar(bars))
        print(
            f"Training {models} model{'s' if models > 1 else ''} on {ds.name} "
            "(Ctrl-C stops after the current step and keeps what was trained).",
            file=sys.stderr,
            flush=True,
        )
        with progress(f"training {models} model{'s' if models > 1 else ''}") as tick:
            result = compare(cfg, dataset=ds, progress=tick, should_stop=stop)
    wall = time.perf_counter() - t0
    write_results(folder, result)
    out.print(summary_table(result))
    for note in result.notes:
        out.print(f"Note: {note}")
    tr = result.train
    out.print(
        f"Trained {models} models x {tr.iterations} iterations in {tr.train_seconds:.1f} s "
        f"(+ {tr.eval_seconds:.1f} s evaluating; {wall:.1f} s in all). Run folder: {folder.path}"
    )
    if result.partial:
        out.print(
            f"Interrupted after {tr.iterations} of {cfg.iterations} iterations: results marked partial."
        )
        return 130
    return 0


def write_results(folder: RunFolder, result: CompareResult) -> None:
    from ..viz.compare import compare_figure

    folder.write_json("results.json", result.to_dict())
    folder.save_figure(compare_figure(result), "compare")


def summary_table(result: CompareResult) -> Any:
    rows = []
    for r in result.summary():
        acc = r["test_accuracy_mean"]
        if acc is None:
            acc_text = "-"
        elif r["seeds"] - r["diverged"] > 1:
            acc_text = f"{100 * acc:.2f}% ± {100 * r['test_accuracy_std']:.2f}"
        else:
            acc_text = f"{100 * acc:.2f}%"
        loss = r["final_train_loss"]
        rows.append(
            [
                r["label"],
                r["spec"],
                r["seeds"],
                "-" if loss is None or not math.isfinite(loss) else f"{loss:.4f}",
                acc_text,
                f"{r['diverged']}/{r['seeds']}",
            ]
        )
    cols = [
        "label",
        "spec",
        "seeds",
        f"train loss (last {result.config.smooth})",
        "test accuracy",
        "diverged",
    ]
    title = "initlab compare" + (" (partial)" if result.partial else "")
    return table(title, cols, rows)
