"""The contract every study keeps: one seed convention across studies, ``run(config) -> Result`` with
``to_dict()``, ``figures()``, ``figure(name)`` and ``partial``; and the library never handles Ctrl-C
itself."""

from __future__ import annotations

import ast
import inspect
from dataclasses import fields
from pathlib import Path

import pytest
import torch

import initlab
from initlab import load_dataset
from initlab.data import Dataset
from initlab.studies import compare, depth, diagnose, probe, reproduce, symmetry

SRC = Path(initlab.__file__).parent


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load_dataset("mnist")


@pytest.mark.parametrize(
    ("spec", "seed"), [("he_normal", 0), ("Xavier: lecun_normal", 7), ("uniform(a=-2, b=2)", 3)]
)
def test_same_spec_and_seed_same_first_layer_in_probe_compare_symmetry(
    mnist: Dataset, spec: str, seed: int
) -> None:
    """(spec, seed) -> the same initial weights whichever study draws them (the ``weights`` stream)."""
    p = probe.initial_stack(probe.ProbeConfig(inits=(spec,), seed=seed, input_dim=784), 784)
    c = compare.initial_stack(compare.CompareConfig(inits=(spec,), seed=seed), mnist)
    s = symmetry.initial_stack(symmetry.SymmetryConfig(cases=("zeros", spec), seed=seed), mnist)
    w = p.weights[0][0]  # (100, 784)
    assert w.shape == (100, 784)
    assert torch.equal(c.weights[0][0], w) and torch.equal(s.weights[0][1], w)
    # replicate j of a study run with `seed` is model seed seed + j: compare's 2nd replicate = probe seed+1
    c2 = compare.initial_stack(compare.CompareConfig(inits=(spec,), seed=seed, seeds=2), mnist)
    p2 = probe.initial_stack(probe.ProbeConfig(inits=(spec,), seed=seed + 1, input_dim=784), 784)
    assert torch.equal(c2.weights[0][1], p2.weights[0][0])
    # and the stream is really keyed by the seed: another seed differs (negative control)
    other = compare.initial_stack(compare.CompareConfig(inits=(spec,), seed=seed + 100), mnist)
    assert not torch.equal(other.weights[0][0], w)


def test_run_uses_the_initial_stack(mnist: Dataset) -> None:
    """What initial_stack returns is what run trains: 1 step at a negligible lr leaves it in place."""
    cfg = compare.CompareConfig(inits=("he_normal",), seed=4, layers=1, width=8, iterations=1, lr=1e-30)
    res = compare.run(cfg, dataset=mnist)
    assert res.stack is not None
    torch.testing.assert_close(res.stack.weights[0], compare.initial_stack(cfg, mnist).weights[0])


@pytest.mark.parametrize("module", [probe, compare, symmetry, reproduce, diagnose, depth])
def test_every_study_has_the_contract(module: object) -> None:
    cfg_cls = module.Config  # type: ignore[attr-defined]
    assert cfg_cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    for f in fields(cfg_cls):
        assert "help" in f.metadata and "flag" in f.metadata, f.name  # declared with option()
        if f.metadata["flag"] is not None:
            assert f.metadata["help"], f"{f.name} has a flag but no help"
    params = inspect.signature(module.run).parameters  # type: ignore[attr-defined]
    assert next(iter(params)) == "config"
    for name in ("dataset", "progress", "should_stop"):
        assert params[name].kind.name == "KEYWORD_ONLY" and params[name].default is None


def test_small_runs_give_documents_and_figures(mnist: Dataset) -> None:
    import matplotlib.figure

    results = [
        probe.run(probe.ProbeConfig(inits=("he_normal",), layers=2, width=10, samples=20)),
        symmetry.run(symmetry.SymmetryConfig(iterations=4, log_every=2, layers=1, width=8), dataset=mnist),
        compare.run(compare.CompareConfig(iterations=4, eval_every=2, layers=1, width=8), dataset=mnist),
        diagnose.run(diagnose.DiagnoseConfig("initlab.examples:mlp20_relu", input_shape=(100,), batch=8)),
    ]
    names = [
        ["histograms", "summary"],
        ["distinct_units", "training", "effective_rank"],
        ["compare"],
        ["std_per_layer"],
    ]
    from initlab.viz import pyplot

    for res, want in zip(results, names, strict=True):
        assert isinstance(res.to_dict(), dict) and res.partial is False
        figs = res.figures()
        assert list(figs) == want == res.figure_names()
        for fig in figs.values():
            assert isinstance(fig, matplotlib.figure.Figure)
            pyplot().close(fig)
        one = res.figure(want[-1])  # figure(name): the same drawing, one at a time
        assert isinstance(one, matplotlib.figure.Figure)
        assert [ax.get_title() for ax in one.axes] == [ax.get_title() for ax in figs[want[-1]].axes]
        pyplot().close(one)
        with pytest.raises(initlab.InitlabError, match=f"no figure 'zzz'; figures: {', '.join(want)}"):
            res.figure("zzz")


@pytest.mark.parametrize(
    "cls",
    [
        probe.ProbeResult,
        compare.CompareResult,
        symmetry.SymmetryResult,
        reproduce.ReproduceResult,
        diagnose.DiagnoseResult,
        depth.DepthResult,
    ],
)
def test_every_result_draws_through_figures_and_figure_only(cls: type) -> None:
    """One convention: ``figures()`` (name -> Figure) and ``figure(name)``; no ad-hoc figure methods."""
    drawing = sorted(n for n in dir(cls) if "figure" in n.lower() and not n.startswith("_"))
    assert drawing == ["figure", "figure_names", "figures"]
    assert next(iter(inspect.signature(cls.figure).parameters)) == "self"


def test_should_stop_ends_a_study_early_and_marks_it_partial(mnist: Dataset) -> None:
    res = symmetry.run(
        symmetry.SymmetryConfig(iterations=50, layers=1, width=8), dataset=mnist, should_stop=lambda: True
    )
    assert res.partial and res.iterations_done == 0


def test_no_ctrl_c_handling_below_the_cli() -> None:
    """The library never catches KeyboardInterrupt nor installs signal handlers: should_stop is the
    one mechanism, and only the CLI turns SIGINT into it."""
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).parts
        if "cli" in rel or rel == ("_startup.py",):  # the CLI, and its start-up guard beside the facade
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == "KeyboardInterrupt":
                offenders.append(f"{path.name}:{node.lineno}: KeyboardInterrupt")
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if "signal" in names:
                    offenders.append(f"{path.name}:{node.lineno}: imports signal")
    assert offenders == []
