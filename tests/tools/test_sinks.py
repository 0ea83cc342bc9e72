"""Sinks: TensorBoard event files read back with TensorBoard's own reader; a W&B offline run's records."""

from __future__ import annotations

import json
import math
import struct
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import initlab
from initlab.measure import histogram
from initlab.tools import MonitorWarning, TensorBoardSink, WandbSink

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def read_events(folder: Path) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


def _mlp() -> nn.Sequential:
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
    initlab.init_(model, "xavier_normal", generator=_g(0))
    return model


def test_monitor_to_tensorboard_tags_steps_and_bin_counts(tmp_path: Path) -> None:
    model = _mlp()
    x = torch.randn(32, 6, generator=_g(1))
    counts: dict[int, tuple[float, ...]] = {}
    with (
        TensorBoardSink(tmp_path / "tb") as sink,
        initlab.monitor(model, every=2, sinks=[sink], bins=12) as mon,
    ):
        for step in range(5):
            model.zero_grad()
            model(x).pow(2).mean().backward()
            if step % 2 == 0:
                mon.flush()
                assert mon.last is not None
                counts[mon.last.step] = mon.last.histograms["activation/1"].counts
    acc = read_events(tmp_path / "tb")
    tags = acc.Tags()
    assert {
        "activation/std/0",
        "activation/saturated_fraction/1",
        "gradient/norm/2",
        "weight/norm/0.weight",
    } <= set(tags["scalars"])
    assert {"activation/0", "activation/1", "gradient/2", "weight/0.weight", "weight_gradient/2.bias"} <= set(
        tags["histograms"]
    )
    assert [e.step for e in acc.Scalars("activation/std/0")] == [0, 2, 4]
    hist = acc.Histograms("activation/1")
    assert [e.step for e in hist] == [0, 2, 4]
    for e in hist:
        v = e.histogram_value
        assert len(v.bucket) == 12 and tuple(v.bucket) == counts[e.step]  # the bins, as measured
        assert v.num == 32 * 16 and -1.0 <= v.min <= v.max <= 1.0  # tanh's range
    assert sink.records == 3 and sink.nonfinite_values == 0


def test_nan_and_inf_never_crash_tensorboard(tmp_path: Path) -> None:
    bad = torch.tensor([0.5, float("nan"), 1.5, float("inf"), 2.5, -float("inf")])
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(tmp_path / "raw")) as writer, pytest.raises(ValueError, match="empty"):
        writer.add_histogram("h", torch.full((5,), math.nan), 0)  # the writer's own histogram fails on NaN
    with TensorBoardSink(tmp_path / "tb") as sink:
        sink.write(
            3,
            {"loss": math.nan, "ok": 1.0},
            {"h": histogram(bad, bins=4), "empty": histogram(torch.full((5,), math.nan), bins=4)},
        )
    assert sink.nonfinite_values == 3 + 5 and sink.empty_histograms == 1 and sink.nonfinite_scalars == 1
    assert "8 NaN/Inf value(s) left out" in sink.report()
    acc = read_events(tmp_path / "tb")
    assert acc.Tags()["histograms"] == ["h"]  # the all-NaN one is not written
    (e,) = acc.Histograms("h")
    assert e.step == 3 and e.histogram_value.num == 3 and sum(e.histogram_value.bucket) == 3
    assert math.isnan(acc.Scalars("loss")[0].value) and acc.Scalars("ok")[0].value == 1.0


def test_monitor_with_nan_activations_writes_finite_histograms(tmp_path: Path) -> None:
    model = _mlp()
    with torch.no_grad():
        model[0].weight[0, 0] = math.nan  # unit 0 of the first layer is NaN for every input
    x = torch.randn(8, 6, generator=_g(1))
    with (
        warnings.catch_warnings(record=True) as got,
        TensorBoardSink(tmp_path / "tb") as sink,
        initlab.monitor(model, every=1, sinks=[sink]),
    ):
        warnings.simplefilter("always")
        model(x).sum().backward()
    assert any(issubclass(w.category, MonitorWarning) and "non-finite" in str(w.message) for w in got)
    assert sink.nonfinite_values > 0
    acc = read_events(tmp_path / "tb")
    (e,) = acc.Histograms("activation/0")
    assert e.histogram_value.num == 8 * 15  # the 8 NaN entries of unit 0 left out
    assert any(
        "non-finite" in str(t.tensor_proto.string_val[0]) for t in acc.Tensors("findings/text_summary")
    )


# -- Weights & Biases, offline -----------------------------------------------------------------------


def wandb_records(run_dir: Path) -> list[Any]:
    """The records of an offline run's ``run-*.wandb`` file: LevelDB-log blocks of W&B protobufs."""
    from wandb.proto import wandb_internal_pb2 as pb

    (path,) = run_dir.glob("run-*.wandb")
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    block, pos, buf, out = 32768, 7, b"", []
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        _, n, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if kind == 0 and n == 0:
            break
        buf += data[pos + 7 : pos + 7 + n]
        pos += 7 + n
        if kind in (1, 4):  # FULL or LAST chunk: a record is complete
            rec = pb.Record()
            rec.ParseFromString(buf)
            out.append(rec)
            buf = b""
    return out


def test_wandb_offline_run_holds_the_expected_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")  # no network, ever
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    model = _mlp()
    x = torch.randn(16, 6, generator=_g(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # wandb's own deprecation notices are not ours to fix
        sink = WandbSink(
            project="initlab-test", mode="offline", dir=str(tmp_path), settings=wandb.Settings(console="off")
        )
        with initlab.monitor(model, every=2, sinks=[sink]):
            for _ in range(3):
                model(x).sum().backward()
        run_dir = Path(sink.run.dir).parent
        sink.close()
    records = wandb_records(run_dir)
    deadline = time.monotonic() + 20
    while not any(r.WhichOneof("record_type") == "exit" for r in records) and time.monotonic() < deadline:
        time.sleep(0.1)  # wandb's service may still be writing the file after finish() returns
        records = wandb_records(run_dir)
    history = [
        {item.key or "/".join(item.nested_key): item.value_json for item in r.history.item}
        for r in records
        if r.WhichOneof("record_type") == "history"
    ]
    assert [h["initlab/step"] for h in history] == ["0", "2"]
    keys = set(history[0])
    assert {"initlab/activation/std/0", "initlab/gradient/norm/2", "initlab/weight/norm/0.weight"} <= keys
    assert history[0]["initlab/activation/1/_type"] == '"histogram"'
    assert len(json.loads(history[0]["initlab/activation/1/values"])) == 30  # the bins
