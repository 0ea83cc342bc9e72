"""Command lines whose runs several test modules read, made once per session by ``cli_run``
(tests/conftest.py). Each is chosen so that every module's assertions hold on the same run folder:
the CLI tests check the folder and the printout, tests/studies/test_results_schema.py validates the
``results.json`` (these runs reach its nullable branches: no init, each kind of init, a diverged case).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CliRun:
    """One ``initlab`` command run in-process: exit status, run folder, what it printed."""

    code: int
    out: Path
    stdout: str
    stderr: str


#: The ``cli_run`` fixture: ``cli_run(argv) -> CliRun``.
CliRunner = Callable[[Sequence[str]], CliRun]

#: ``initlab reproduce --quick``: the report, its figures and numbers (report, studies, viz tests).
REPRODUCE_QUICK = ("reproduce", "--quick", "--threads", "1")

#: Three relu specs on a deep narrow net: ``huge`` overflows to Inf/NaN in the last layers, ``zeros``
#: has no mean-field theory.
PROBE_MIXED = (
    *("probe", "--activation", "relu", "--init", "he_normal", "--init", "huge: normal(std=1e6)"),
    *("--init", "zeros", "--layers", "8", "--width", "16", "--samples", "10", "--seeds", "2"),
)
#: A bounded activation with biases, tiny.
PROBE_BOUNDED = (
    *("probe", "--activation", "tanh", "--init", "orthogonal", "--bias", "--layers", "2"),
    *("--width", "8", "--samples", "10", "--threads", "1"),
)

#: The default relu symmetry cases, short: ``uniform(a=-2, b=2)`` diverges (at iteration 4).
SYMMETRY_RELU = ("symmetry", "--iterations", "40", "--log-every", "10")

#: PyTorch's default init on a 20-layer ReLU MLP: vanishing signal, no init, no LSUV.
DIAGNOSE_MLP20 = ("diagnose", "initlab.examples:mlp20_relu", "--input-shape", "100", "--batch", "64")
#: The same model with ``--init auto``.
DIAGNOSE_AUTO = ("diagnose", "initlab.examples:mlp20_relu", "--input-shape", "100", "--init", "auto")
#: A small CNN with LSUV.
DIAGNOSE_LSUV = (
    *("diagnose", "initlab.examples:small_cnn", "--input-shape", "1,28,28", "--batch", "32", "--lsuv"),
)
#: A small CNN with a scheme spec and a seed.
DIAGNOSE_SPEC = (
    *("diagnose", "initlab.examples:small_cnn", "--input-shape", "1,28,28", "--batch", "16"),
    *("--seed", "3", "--init", "xavier_uniform"),
)
