"""Shared test helpers, and the expensive runs that several test modules read (one per session).

A CLI run whose folder several modules check (``reproduce --quick``, the diagnose runs, a symmetry
run) is made once per session by :func:`cli_run` and read by every test that needs it; each test
keeps its own assertions. Only tests of the process boundary start a Python subprocess.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import torch

from initlab.cli import Stop, main
from shared_runs import REPRODUCE_QUICK, CliRun, CliRunner


@pytest.fixture(autouse=True)
def _seeded_global_rng() -> Iterator[None]:
    """Modules built with PyTorch's constructors draw from the global RNG: make every test see the
    same stream whatever ran before it (and restore the state after, so tests cannot leak into each
    other). The library itself never uses the global RNG; tests that check this still can."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield


@pytest.fixture
def gen() -> torch.Generator:
    """A fixed generator: every random draw in a test comes from it."""
    return torch.Generator().manual_seed(1234)


@pytest.fixture(scope="session")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> CliRunner:
    """``cli_run(argv)``: ``initlab *argv --out DIR`` run once per session per distinct ``argv``
    (later calls return the same run). Tests only read the folder; a test that writes there or
    needs a fresh process runs its own."""
    done: dict[tuple[str, ...], CliRun] = {}

    def run(argv: Sequence[str]) -> CliRun:
        key = tuple(argv)
        if key not in done:
            out = tmp_path_factory.mktemp(f"cli-{argv[0]}") / "run"
            stdout, stderr = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = main([*argv, "--out", str(out)])
            done[key] = CliRun(code, out, stdout.getvalue(), stderr.getvalue())
        return done[key]

    return run


@pytest.fixture(scope="session")
def reproduce_quick(cli_run: CliRunner) -> Path:
    """The run folder of ``initlab reproduce --quick`` (run once per session)."""
    run = cli_run(REPRODUCE_QUICK)
    assert run.code == 0, run.stderr
    return run.out


@pytest.fixture(scope="session")
def reproduce_interrupted(tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    """``initlab reproduce --quick`` with Ctrl-C at once (``should_stop`` is true from the start),
    run in-process; the real signal in a real process is tested in tests/cli/."""
    out = tmp_path_factory.mktemp("reproduce-interrupted") / "run"
    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as mp,
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        mp.setattr(Stop, "__call__", lambda self: True)
        code = main([*REPRODUCE_QUICK, "--out", str(out)])
    return CliRun(code, out, stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def single_thread() -> Iterator[None]:
    """One intra-op thread for the test: claims that compare *different* shapes bit for bit (a model in
    an ensemble of 2 against the same model alone) hold single-threaded; with several threads a matmul
    of another shape may split its sums differently (the last bits differ, and Adam turns the rounding
    noise of an exactly-zero gradient, such as an attention key bias's, into whole steps)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
