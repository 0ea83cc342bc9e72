"""``--tensorboard DIR`` on sweep and phase: one run per model with its loss curve, and a session of
TensorBoard's HParams dashboard (grid values, final metrics), read back with TensorBoard's reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from initlab.cli import main

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

SWEEP = [
    *("sweep", "--model", "mlp(layers=1, width=8)", "--activation", "tanh", "--init", "variance"),
    *("--init-param", "w=0.5,2", "--init-param", "b=0.05", "--iterations", "6", "--seeds", "2"),
    *("--batch-size", "16", "--eval-size", "50", "--smooth", "2", "--threads", "1"),
]


def read(folder: Path) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def session(acc: EventAccumulator) -> dict[str, Any]:
    """The hyperparameters of the run's HParams session (its session-start summary)."""
    content = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = HParamsPluginData.FromString(content).session_start_info
    return {
        k: v.number_value if v.HasField("number_value") else v.string_value for k, v in start.hparams.items()
    }


def run_cli(argv: list[str], out: Path, tb: Path) -> dict[str, Any]:
    assert main([*argv, "--out", str(out), "--tensorboard", str(tb)]) == 0
    doc: dict[str, Any] = json.loads((out / "results.json").read_text())
    return doc


def test_sweep_writes_each_models_curve_and_an_hparams_session(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    argv = [*SWEEP, "--store", str(store)]
    doc = run_cli(argv, tmp_path / "a", tmp_path / "tb")
    runs = sorted(str(p.relative_to(tmp_path / "tb")) for p in (tmp_path / "tb").glob("*/*"))
    assert runs == [f"init.w={w}/seed{s}" for w in ("0.5", "2.0") for s in (0, 1)]
    for row in doc["rows"]:
        acc = read(tmp_path / "tb" / f"init.w={row['init.w']}" / f"seed{row['seed']}")
        loss = acc.Scalars("train/loss")
        assert [e.step for e in loss] == list(range(6))
        assert (loss[-2].value + loss[-1].value) / 2 == pytest.approx(
            row["final_loss"], rel=1e-6
        )  # --smooth 2
        (final,) = acc.Scalars("final/test_accuracy")
        assert (final.step, final.value) == (6, pytest.approx(row["test_accuracy"]))
        assert acc.Scalars("final/diverged")[0].value == 0.0
        hp = session(acc)
        assert hp["init.w"] == row["init.w"] and hp["init.b"] == 0.05 and hp["seed"] == row["seed"]
        assert hp["activation"] == "tanh" and hp["model.width"] == 8
    # a rerun finds every cell in the store: the same sessions, no curves (the store keeps none)
    run_cli(argv, tmp_path / "b", tmp_path / "tb2")
    acc = read(tmp_path / "tb2" / "init.w=2.0" / "seed1")
    assert "train/loss" not in acc.Tags()["scalars"] and "final/test_accuracy" in acc.Tags()["scalars"]
    assert session(acc)["init.w"] == 2.0


def test_phase_depth_view_runs_are_named_by_depth_and_sigma_w2(tmp_path: Path) -> None:
    argv = [
        *("phase", "--view", "depth", "--depths", "1,2", "--sigma-w2", "1,3", "--width", "6"),
        *(
            "--iterations",
            "3",
            "--batch-size",
            "16",
            "--eval-size",
            "40",
            "--resolution",
            "4",
            "--threads",
            "1",
        ),
    ]
    doc = run_cli(argv, tmp_path / "p", tmp_path / "tb")
    names = sorted(str(p.relative_to(tmp_path / "tb")) for p in (tmp_path / "tb").glob("*/*"))
    assert names == [f"model.layers={d},init.w={w}/seed0" for d in (1, 2) for w in ("1.0", "3.0")]
    acc = read(tmp_path / "tb" / "model.layers=2,init.w=3.0" / "seed0")
    (row,) = [r for r in doc["rows"] if r["model.layers"] == 2 and r["init.w"] == 3.0]
    assert acc.Scalars("final/test_accuracy")[0].value == pytest.approx(row["test_accuracy"])
    assert session(acc)["model.layers"] == 2 and len(acc.Scalars("train/loss")) == 3
