"""``--tensorboard DIR`` on probe, compare and symmetry: event files read back with TensorBoard's reader."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from initlab.cli import main

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def read(folder: Path) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def run_cli(tmp_path: Path, argv: list[str]) -> tuple[dict, Path]:  # type: ignore[type-arg]
    out, tb = tmp_path / "run", tmp_path / "tb"
    assert main([*argv, "--out", str(out), "--tensorboard", str(tb), "--threads", "1"]) == 0
    return json.loads((out / "results.json").read_text()), tb


def test_probe_writes_histograms_through_depth(tmp_path: Path) -> None:
    argv = ["probe", "--layers", "3", "--width", "8", "--samples", "16", "--bins", "10"]
    doc, tb = run_cli(tmp_path, [*argv, "--init", "he_normal", "--init", "Xavier: lecun_normal"])
    assert sorted(p.name for p in tb.iterdir()) == ["Xavier", "he_normal"]  # one run per spec
    acc = read(tb / "Xavier")
    assert {"activation/std", "gradient/std", "theory/std"} <= set(acc.Tags()["scalars"])
    hist = acc.Histograms("activation")
    assert [e.step for e in hist] == [1, 2, 3]  # the step is the layer
    (spec,) = [r for r in doc["runs"] if r["label"] == "Xavier"]
    for e, layer in zip(hist, spec["layers"], strict=True):
        want = [f * 16 * 8 for f in layer["histogram"]["fractions"]]  # shares of samples x width entries
        assert list(e.histogram_value.bucket) == pytest.approx(want) and len(want) == 10
        assert list(e.histogram_value.bucket_limit) == pytest.approx(spec["edges"][1:])
    assert [round(e.value, 6) for e in acc.Scalars("activation/std")] == [
        round(la["std"], 6) for la in spec["layers"]
    ]


def test_compare_and_symmetry_write_training_scalars(tmp_path: Path) -> None:
    common = ["--layers", "1", "--width", "8", "--iterations", "6"]
    doc, tb = run_cli(tmp_path / "c", ["compare", *common, "--eval-every", "3", "--init", "he_normal"])
    acc = read(tb / "he_normal")
    (run,) = doc["runs"]
    assert [e.step for e in acc.Scalars("train/loss")] == list(range(6))
    assert [e.value for e in acc.Scalars("train/loss")] == pytest.approx(run["train_loss"])
    assert [e.step for e in acc.Scalars("eval/accuracy")] == doc["eval_iterations"] == [0, 3, 6]
    assert [e.value for e in acc.Scalars("eval/accuracy")] == pytest.approx(run["eval_accuracy"])

    doc, tb = run_cli(tmp_path / "s", ["symmetry", *common, "--case", "zeros", "--case", "he_normal"])
    assert sorted(p.name for p in tb.iterdir()) == sorted(c["label"] for c in doc["cases"])
    case = doc["cases"][0]
    acc = read(tb / case["label"])
    assert [e.step for e in acc.Scalars("distinct_units/layer1")] == case["iterations"]
    assert [e.value for e in acc.Scalars("distinct_units/layer1")] == case["distinct_units"][0]
    assert len(acc.Scalars("train/loss")) == 6


def test_tensorboard_flag_only_where_results_have_records(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("probe", "compare", "symmetry", "sweep", "phase"):
        assert main([command, "--help"]) == 0
        assert "--tensorboard DIR" in capsys.readouterr().out
    assert main(["reproduce", "--help"]) == 0
    assert "--tensorboard" not in capsys.readouterr().out


def test_missing_tensorboard_is_one_error_line_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if the package were missing
    out = tmp_path / "run"
    argv = ["probe", "--layers", "1", "--width", "4", "--samples", "4", "--out", str(out)]
    assert main([*argv, "--tensorboard", str(tmp_path / "tb")]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("error: the TensorBoard sink needs the tensorboard package") and err.count("\n") == 1
    )
    assert "pip install 'initlab[tensorboard]'" in err
    assert not out.exists() and not (tmp_path / "tb").exists()
