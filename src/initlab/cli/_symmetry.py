"""``initlab symmetry``: zero vs constant vs random initial weights, measured during training."""

from __future__ import annotations

import argparse
import sys

from ..studies.symmetry import symmetry
from ..studies.symmetry_findings import SymmetryFacts, explain
from ._console import console, progress, table
from ._interrupt import graceful_stop
from ._runfolder import RunFolder


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "symmetry",
        help="why all-zero and constant initial weights fail, measured during training",
        description="Train one network per case on the same MNIST batches and track, per hidden "
        "layer, the number of distinct units, the effective rank of the activations and the weight "
        "gradient norm. Default cases: zeros, constant(value=0.5), uniform(a=-2, b=2) and he_normal "
        "(ReLU family) or xavier_normal (tanh, sigmoid, ...).",
    )
    p.add_argument("--activation", default="relu", help="activation of every hidden layer (default relu)")
    p.add_argument(
        "--case",
        action="append",
        metavar="SPEC",
        help="an init spec to compare (repeatable; replaces the four defaults), e.g. 'constant(value=0.1)'",
    )
    p.add_argument("--layers", type=int, default=4, help="hidden layers (default 4)")
    p.add_argument("--width", type=int, default=100, help="units per hidden layer (default 100)")
    p.add_argument("--iterations", type=int, default=2000, help="SGD iterations (default 2000)")
    p.add_argument("--batch-size", type=int, default=128, help="mini-batch size (default 128)")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    p.add_argument("--optimizer", default="sgd", help="sgd, momentum or adam (default sgd)")
    p.add_argument(
        "--log-every", type=int, default=None, help="measure every N iterations (default iterations/40)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the init and the batches (default 0)")
    p.add_argument("--dataset", default="mnist", help="dataset (default mnist, shipped with initlab)")
    p.add_argument("--data-dir", default=None, help="folder holding the dataset's files")
    p.add_argument("--out", default="runs/symmetry", help="run folder (default runs/symmetry)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    folder = RunFolder(args.out)
    config = {k: v for k, v in vars(args).items() if k not in ("run", "command", "debug")}
    folder.write_config("symmetry", config)
    with graceful_stop() as stop, progress("symmetry") as tick:
        result = symmetry(
            activation=args.activation,
            cases=args.case,
            layers=args.layers,
            width=args.width,
            iterations=args.iterations,
            batch_size=args.batch_size,
            lr=args.lr,
            optimizer=args.optimizer,
            seed=args.seed,
            log_every=args.log_every,
            dataset=args.dataset,
            data_dir=args.data_dir,
            progress=tick,
            should_stop=stop,
        )
    doc = result.to_dict()
    facts = SymmetryFacts.from_dict(doc["facts"])  # the findings the reproduce report quotes too
    folder.write_json("results.json", doc)
    folder.save_figure(result.figure_distinct_units(), "distinct_units")
    folder.save_figure(result.figure_training(), "training")
    folder.save_figure(result.figure_effective_rank(), "effective_rank")
    out = console()
    rows = []
    for case, fact in zip(result.cases, facts.cases, strict=True):
        finals = [row[-1] if row else None for row in case.distinct_units]
        acc = fact.test_accuracy_pct
        rows.append(
            [
                case.label,
                " / ".join(str(v) for v in finals),
                case.diverged_at,
                f"{acc:.1f}%" if acc is not None else None,
            ]
        )
    out.print(
        table(
            "symmetry lab", ["case", "distinct units per layer (last step)", "diverged at", "test acc"], rows
        )
    )
    for line in explain(facts):
        out.print(f"- {line}")
    out.print(f"run folder: {folder.path}")
    if result.interrupted:
        print("interrupted (Ctrl-C): wrote the results so far, marked partial", file=sys.stderr)
        return 130
    return 0
