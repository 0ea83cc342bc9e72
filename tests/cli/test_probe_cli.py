"""``initlab probe`` end to end, results.json against its schema, figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import initlab
from initlab.cli import main
from schema_helpers import validate
from shared_runs import PROBE_MIXED, CliRunner

CLASSIC = [
    "--init",
    "std=1: normal(std=1)",
    "--init",
    "std=0.01: normal(std=0.01)",
    "--init",
    "Xavier: lecun_normal",
]


def _run(tmp_path: Path, *args: str) -> tuple[int, Path]:
    out = tmp_path / "run"
    return main(["probe", *args, "--out", str(out)]), out


def test_cli_writes_a_complete_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(
        tmp_path,
        "--activation",
        "sigmoid",
        *CLASSIC,
        "--layers",
        "5",
        "--width",
        "100",
        "--samples",
        "1000",
        "--seeds",
        "2",
        "--seed",
        "0",
    )
    assert code == 0
    files = {p.name for p in out.iterdir()}
    assert files == {
        "config.json",
        "results.json",
        "histograms.png",
        "histograms.svg",
        "summary.png",
        "summary.svg",
    }
    for name in ("histograms.png", "summary.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("histograms.svg", "summary.svg"):
        assert "<svg" in (out / name).read_text()[:2000]
    results = json.loads((out / "results.json").read_text())
    validate(results, "probe")
    assert [r["label"] for r in results["runs"]] == ["std=1", "std=0.01", "Xavier"]
    assert (
        results["runs"][2]["spec"] == "lecun_normal" and results["runs"][2]["input"] == "Xavier: lecun_normal"
    )
    for run in results["runs"]:
        assert run["activation"] == "sigmoid" and run["seeds"] == [0, 1]
        assert [la["layer"] for la in run["layers"]] == [1, 2, 3, 4, 5]
        assert all(la["theory_std"] is not None for la in run["layers"])
    config = json.loads((out / "config.json").read_text())
    assert config["command"] == "probe" and config["config"]["model_seeds"] == [0, 1]
    assert "versions" in config
    printed = capsys.readouterr().out
    assert "Xavier" in printed and "wrote" in printed


# The schema's negative checks (a missing field, a wrong type, an unknown field) and the check that
# docs/results-probe.md documents every field live in tests/studies/test_results_schema.py, with
# those of the other studies.


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--layers", "0"], "error: layers must be >= 1, got 0"),
        (["--width", "-5"], "error: width must be >= 1, got -5"),
        (["--samples", "0"], "error: samples must be >= 1, got 0"),
        (["--seeds", "0"], "error: seeds must be >= 1, got 0"),
        (["--activation", "sigmod"], "error: unknown activation 'sigmod' (did you mean: sigmoid"),
        (["--init", "normal(std=-1)"], "error: std=-1"),
        (["--range", "1", "0"], "error: a histogram range needs finite lo < hi"),
        (["--layers", "two"], "error: argument --layers: invalid int value: 'two'"),
    ],
)
def test_cli_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _ = _run(tmp_path, *args)
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_cli_overflow_completes_and_reports_nonfinite(cli_run: CliRunner) -> None:
    run = cli_run(PROBE_MIXED)  # "huge: normal(std=1e6)" beside he_normal and zeros, 8 layers
    code, out = run.code, run.out
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    validate(results, "probe")
    huge = next(r for r in results["runs"] if r["label"] == "huge")
    counts = [la["nonfinite"] for la in huge["layers"]]
    assert counts[0] == 0 and counts[-1] > 0
    assert (out / "histograms.png").stat().st_size > 0 and (out / "summary.png").stat().st_size > 0


def test_cli_forced_range_and_bias(tmp_path: Path) -> None:
    code, out = _run(
        tmp_path, "--activation", "relu", "--init", "torch_default", "--bias", "--range", "0", "1"
    )
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    run = results["runs"][0]
    assert run["histogram_range"] == [0.0, 1.0] and results["config"]["bias"] is True
    assert run["theory"]["sigma_b2"] > 0


def test_cli_mnist_input(tmp_path: Path) -> None:
    pytest.importorskip("initlab.data")
    code, out = _run(
        tmp_path,
        "--input",
        "mnist",
        "--init",
        "he_normal",
        "--samples",
        "64",
        "--layers",
        "2",
        "--width",
        "32",
    )
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    validate(results, "probe")
    assert results["config"]["input"] == "mnist" and results["config"]["input_dim"] == 784
    assert 0.0 < results["input_second_moment"] < 1.0  # pixels in [0, 1]
    assert results["runs"][0]["layers"][0]["theory_std"] is not None


# -- figures -----------------------------------------------------------------------------------


def _titles(fig: object) -> list[str]:
    return [ax.get_title() for ax in fig.axes]  # type: ignore[attr-defined]


def test_histogram_figure_layout() -> None:
    from initlab.viz import pyplot

    res = initlab.probe(
        ["std=1: normal(std=1)", "Xavier: lecun_normal"], "tanh", layers=4, width=20, samples=30
    )
    fig = res.figure("histograms")
    assert len(fig.axes) == 2 * 4
    assert _titles(fig)[:4] == ["1-layer", "2-layer", "3-layer", "4-layer"]
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert labels[0].startswith("std=1") and labels[1].startswith("Xavier")
    assert fig.axes[0].get_xlim() == (-1.0, 1.0)
    pyplot().close(fig)
    deep = initlab.probe(["he_normal"], "relu", layers=20, width=8, samples=8)
    fig = deep.figure("histograms")
    assert len(fig.axes) == 10 and _titles(fig)[0] == "1-layer" and _titles(fig)[-1] == "20-layer"
    pyplot().close(fig)
    fig = deep.figure("histograms", layers=[3, 7])
    assert _titles(fig) == ["3-layer", "7-layer"]
    pyplot().close(fig)
    with pytest.raises(initlab.InitlabError, match="out of range"):
        deep.figure("histograms", layers=[21])


def test_summary_figure_draws_theory_and_bands_and_survives_nan() -> None:
    from initlab.viz import pyplot

    res = initlab.probe(["he_normal", "zeros"], "relu", layers=3, width=16, samples=16, seeds=2)
    fig = res.figure("summary")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    styles = [line.get_linestyle() for line in ax.get_lines()]
    assert "--" in styles and "-" in styles  # theory dashed beside measurements
    assert ax.collections, "seed band missing"
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "zeros" in texts  # all-zero std cannot sit on a log axis: named, not dropped silently
    pyplot().close(fig)
    x = torch.full((4, 16), float("nan"))
    bad = initlab.probe(["he_normal"], "tanh", layers=2, width=16, inputs=x)
    for fig in (bad.figure("summary"), bad.figure("histograms")):
        fig.canvas.draw()
        pyplot().close(fig)


# -- --model: the probe of any network ------------------------------------------------------------


def test_cli_probe_of_a_cnn_with_batchnorm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``initlab probe --model cnn(...)`` end to end: a valid results.json, both figures, the table."""
    code, out = _run(
        tmp_path,
        "--model",
        "cnn(depth=2, channels=4, norm=batch)",
        "--init",
        "He: he_normal",
        "--init",
        "small: normal(std=0.01)",
        "--samples",
        "8",
        "--seeds",
        "2",
        "--device",
        "cpu",
    )
    assert code == 0
    assert {p.name for p in out.iterdir()} == {
        "config.json",
        "results.json",
        "histograms.png",
        "histograms.svg",
        "summary.png",
        "summary.svg",
    }
    for name in ("histograms.png", "summary.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((out / "results.json").read_text())
    validate(results, "probe")
    assert results["schema"] == "initlab.probe/2" and results["device"] == "cpu"
    model = results["model"]
    assert model["family"] == "cnn" and model["spec"].startswith("cnn(depth=2, channels=4")
    assert model["output_shape"] == [8, 10] and model["residual_blocks"] == 0
    assert results["config"]["layers"] is None and results["config"]["activation"] == "relu"
    for run in results["runs"]:
        assert run["theory"] is None and "none is computed for cnn" in run["theory_note"]
        kinds = [la["kind"] for la in run["layers"]]
        assert kinds.count("weighted") == 3 and kinds.count("norm") == 2 and "activation" in kinds
        conv = run["layers"][0]
        assert conv["type"] == "Conv2d" and conv["width"] == 4 and conv["shape"][:2] == [8, 4]  # channels
        assert all(la["theory_std"] is None for la in run["layers"])
        assert len(run["layers"][0]["per_seed"]["std"]) == 2
    # BatchNorm (training mode: the batch's statistics) gives its outputs unit std; with tiny
    # weights before it, eps = 1e-5 in sqrt(var + eps) pulls them below 1
    norms = [[la["std"] for la in run["layers"] if la["kind"] == "norm"] for run in results["runs"]]
    assert norms[0] == pytest.approx([1.0, 1.0], abs=1e-3)
    assert all(v < 0.999 for v in norms[1])
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["model"] == "cnn(depth=2, channels=4, norm=batch)" and config["device"] == "cpu"
    printed = capsys.readouterr().out
    assert "weighted" in printed and "none is computed" in printed
