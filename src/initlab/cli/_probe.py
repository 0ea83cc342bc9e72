"""``initlab probe``: per-layer activation/gradient statistics, histograms and mean-field theory."""

from __future__ import annotations

import argparse
import math
from typing import Any

from ..core.errors import InitlabError
from ..studies.probe import CLASSIC_INITS, ProbeResult, SpecProbe, probe
from ._console import console, table
from ._runfolder import RunFolder


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "probe",
        help="activation histograms and per-layer statistics at init, with mean-field theory beside them",
        description="Run an MLP of LAYERS hidden layers x WIDTH units under each --init (all specs x seeds "
        "in one stacked forward/backward pass) and record, per layer: the activation histogram, mean, "
        "std, saturated/zero/dead fractions, non-finite counts, and the std of the gradients for a "
        "unit-variance Gaussian cotangent injected at the last layer; the mean-field prediction stands "
        "beside them. Writes config.json, results.json (schema: docs/results-probe.md), "
        "histograms.png/svg and summary.png/svg to --out.",
    )
    p.add_argument("--activation", default="sigmoid", help="a registered activation (default sigmoid)")
    p.add_argument(
        "--init",
        action="append",
        dest="inits",
        metavar="SPEC",
        help="an init spec, optionally labelled ('Xavier: lecun_normal'); repeat to compare "
        f"(default: the classic four: {'; '.join(CLASSIC_INITS)})",
    )
    p.add_argument("--layers", type=int, default=5, help="hidden layers (default 5)")
    p.add_argument("--width", type=int, default=100, help="units per hidden layer (default 100)")
    p.add_argument(
        "--samples", type=int, default=1000, help="inputs in the batch (default 1000, as in the classic book)"
    )
    p.add_argument("--seeds", type=int, default=1, help="seeds per spec: SEED, SEED+1, ... (default 1)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument(
        "--bias", action=argparse.BooleanOptionalAction, default=False, help="biases (default: off)"
    )
    p.add_argument("--bins", type=int, default=30, help="histogram bins (default 30)")
    p.add_argument(
        "--range",
        nargs=2,
        type=float,
        metavar=("LO", "HI"),
        dest="hist_range",
        help="force one histogram range for every spec, e.g. the book's --range 0 1 "
        "(default: fitted to the activation: (0, 1) sigmoid, (-1, 1) tanh, from 0 up for ReLU)",
    )
    p.add_argument(
        "--input",
        default="gaussian",
        metavar="NAME",
        help="'gaussian' (default: N(0, 1) inputs of dimension WIDTH) or a dataset such as 'mnist' "
        "(the first SAMPLES training images, pixels in [0, 1])",
    )
    p.add_argument("--out", default="runs/probe", help="run folder (default runs/probe)")
    p.set_defaults(run=run)


def _inputs(name: str, samples: int) -> Any:
    """The first ``samples`` training examples of a catalogued dataset, ``(samples, features)``."""
    if samples <= 0:
        raise InitlabError(f"samples must be >= 1, got {samples}")
    from ..data import load_dataset

    ds = load_dataset(name)
    if samples > ds.train_x.shape[0]:
        raise InitlabError(f"--samples {samples}: {ds.name} has only {ds.train_x.shape[0]} training examples")
    return ds.train_x[:samples]


def run(args: argparse.Namespace) -> int:
    inits = args.inits or list(CLASSIC_INITS)
    inputs = None if args.input == "gaussian" else _inputs(args.input, args.samples)
    folder = RunFolder(args.out)
    result = probe(
        inits,
        args.activation,
        layers=args.layers,
        width=args.width,
        samples=None if inputs is not None else args.samples,
        seeds=args.seeds,
        seed=args.seed,
        bias=args.bias,
        inputs=inputs,
        bins=args.bins,
        hist_range=args.hist_range,
        input_name=args.input,
    )
    config = result.config()
    config["histogram_range"] = args.hist_range
    folder.write_config("probe", config)
    folder.write_json("results.json", result.to_dict())
    folder.save_figure(result.histogram_figure(), "histograms")
    folder.save_figure(result.summary_figure(), "summary")
    out = console()
    for spec_run in result.runs:
        out.print(table(*_table(result, spec_run)))
    out.print(f"wrote {folder.path}: {', '.join(folder.files)}")
    return 0


def _table(result: ProbeResult, spec_run: SpecProbe) -> tuple[str, list[str], list[list[Any]]]:
    mf = spec_run.mean_field
    title = f"{spec_run.label} ({spec_run.spec}), {result.activation}"
    if mf is not None and mf.regime == "divergent":
        title += ": the variance diverges with depth (no mean-field fixed point)"
    elif mf is not None:
        title += f": chi_1 = {mf.chi_1:.3g}, {mf.regime}, q* = {mf.q_star:.3g}"
    else:
        title += ": mean-field theory does not apply to this scheme"
    cols = ["layer", "std", "theory", "mean", "saturated", "zero", "dead", "NaN/Inf", "grad std", "theory"]
    rows: list[list[Any]] = []
    for la in spec_run.layers:
        d = la.to_dict()
        rows.append(
            [
                la.layer,
                _num(d["std"]),
                _num(d["theory_std"]),
                _num(d["mean"]),
                _num(d["saturated_fraction"]),
                _num(d["zero_fraction"]),
                _num(d["dead_fraction"]),
                d["nonfinite"],
                _num(d["grad_std"]),
                _num(d["theory_grad_std"]),
            ]
        )
    return title, cols, rows


def _num(v: float | None) -> float | str | None:
    if v is None:
        return None
    return v if math.isfinite(v) else str(v)
