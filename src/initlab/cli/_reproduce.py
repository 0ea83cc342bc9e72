"""``initlab reproduce``: the whole classic study as one self-contained report.

Thin: builds a :class:`~initlab.studies.reproduce.ReproduceConfig` from the flags, runs the study
with one progress bar, and writes the run folder: ``config.json``, ``results.json`` (measurements
plus the findings the report quotes), every figure as PNG and SVG, ``report.html`` (self-contained)
and ``report.md``. Prints where the report is. Ctrl-C stops after the current training step; what
finished is written and reported, marked partial, and the command exits 130 (a second Ctrl-C
aborts at once).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from typing import Any

from ..core.errors import InitlabError
from ..report import build, derive
from ..studies.reproduce import ReproduceConfig, reproduce
from ._console import console, progress
from ._interrupt import graceful_stop
from ._runfolder import RunFolder

_D = ReproduceConfig()


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "reproduce",
        help="the whole classic initialization study as one self-contained report (HTML + Markdown)",
        description="Run the classic weight-initialization study end to end -- zero vs constant vs random "
        "weights, per-layer activation histograms for sigmoid, ReLU and tanh (with true Glorot beside the "
        "book's 'Xavier'), and the MNIST comparison of std=0.01, Xavier and He over several seeds -- and "
        "write report.html, report.md and results.json whose every statement is computed from this run.",
    )
    p.add_argument("--out", default="runs/reproduce", help="run folder (default runs/reproduce)")
    p.add_argument(
        "--quick", action="store_true", help="a smoke version in seconds: few iterations and seeds"
    )
    p.add_argument("--seed", type=int, default=_D.seed, help="seed of every part (default 0)")
    p.add_argument(
        "--seeds", type=int, default=None, help=f"MNIST comparison: seeds per init (default {_D.seeds})"
    )
    p.add_argument(
        "--iterations",
        type=int,
        default=None,
        help=f"MNIST comparison: SGD iterations (default {_D.iterations})",
    )
    p.add_argument(
        "--symmetry-iterations",
        type=int,
        default=None,
        help=f"zero vs constant vs random: SGD iterations (default {_D.symmetry_iterations})",
    )
    p.add_argument(
        "--probe-seeds",
        type=int,
        default=None,
        help=f"histograms: weight seeds per init (default {_D.probe_seeds})",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.set_defaults(run=run)


def config_from_args(args: argparse.Namespace) -> ReproduceConfig:
    cfg = ReproduceConfig.quick_config(args.seed) if args.quick else ReproduceConfig(seed=args.seed)
    overrides = {
        "seeds": args.seeds,
        "iterations": args.iterations,
        "symmetry_iterations": args.symmetry_iterations,
        "probe_seeds": args.probe_seeds,
    }
    cfg = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
    cfg.validate()
    return cfg


def run(args: argparse.Namespace) -> int:
    import torch

    cfg = config_from_args(args)
    if args.threads is not None:
        if args.threads <= 0:
            raise InitlabError(f"--threads must be positive, got {args.threads}")
        torch.set_num_threads(args.threads)
    folder = RunFolder(args.out)
    folder.write_config("reproduce", {**cfg.to_dict(), "threads": torch.get_num_threads()})
    with graceful_stop() as stop:
        with progress("reproduce") as tick:
            result = reproduce(cfg, progress=tick, should_stop=stop)
        t = time.perf_counter()
        for stem, make in result.figures().items():
            folder.save_figure(make(), stem)
        doc = result.to_dict()
        doc["seconds"]["figures"] = time.perf_counter() - t
        doc["findings"] = derive(doc)
        folder.write_json("results.json", doc)
        report = build(doc, folder.path)
        folder.write_text("report.md", report.markdown)
        html_path = folder.write_text("report.html", report.html)
    out = console()
    for line in _answer(report.findings):
        out.print(f"- {line}", markup=False, highlight=False)
    secs = doc["seconds"]
    out.print(
        f"Ran in {secs['total']:.1f} s (+ {secs['figures']:.1f} s for figures). Run folder: {folder.path}",
        markup=False,
    )
    out.print(f"Report: {html_path.resolve()}", markup=False)
    if result.interrupted:
        out.print("Interrupted (Ctrl-C): wrote what finished, marked partial.", markup=False)
        return 130
    return 0


def _answer(findings: dict[str, Any]) -> list[str]:
    """The report's headline statements, as plain terminal text."""
    lines = []
    if findings["symmetry"] is not None:
        lines.append(findings["symmetry"]["summary"])
    lines += [r["statement"] for r in findings["recommendations"]]
    if findings["mnist"] is not None:
        lines.append(findings["mnist"]["statements"][0])
    return [line.replace("`", "") for line in lines]
