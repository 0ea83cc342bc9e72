"""The depth study's library part: (depth, spec, seed) trained as one ensemble per depth, the signal
at initialization, the deepest depth each spec trains to, the mean-field depth scale, stopping early."""

from __future__ import annotations

import json
import math

import pytest

import initlab
from initlab.studies import DepthConfig
from initlab.studies.depth import run as depth_run

CFG = DepthConfig(
    model="mlp(layers={depth}, width=32)",
    depths=(1, 8),
    inits=("std=0.01: normal(std=0.01)", "Xavier: lecun_normal", "He: he_normal"),
    seeds=1,
    iterations=60,
    lr=0.05,
    eval_size=500,
    probe_samples=32,
)


def test_deep_plain_relu_nets_train_with_he_only() -> None:
    res = depth_run(CFG)
    assert len(res.rows) == 2 * 3 and not res.partial
    by = {(r.depth, r.label): r for r in res.rows}
    assert by[(8, "He")].accuracy > 0.4 and by[(8, "Xavier")].accuracy < 0.3  # He et al. 2015, Fig. 3
    assert by[(1, "Xavier")].accuracy > 0.5
    assert res.deepest("He") == 8 and res.deepest("Xavier") == 1 and res.deepest("std=0.01") is None
    assert by[(8, "std=0.01")].init_signal_std < 1e-8 < by[(8, "He")].init_signal_std  # vanished at init
    assert res.signal_from[8] == "15"  # the last hidden activation of mlp(layers=8)
    assert res.depth_scale["He"] == math.inf  # ReLU + He is critical
    assert res.depth_scale["Xavier"] is not None and 5 < res.depth_scale["Xavier"] < 12
    doc = res.to_dict()
    assert doc["schema"] == "initlab.depth/1" and doc["deepest"] == {"std=0.01": None, "Xavier": 1, "He": 8}
    json.dumps(doc)


def test_stopping_keeps_the_finished_depths() -> None:
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 1  # before the second depth

    small = DepthConfig(**{**CFG.__dict__, "iterations": 5, "inits": ("he_normal",)})
    res = depth_run(small, should_stop=stop)
    assert res.partial and {r.depth for r in res.rows} <= {1}


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"model": "mlp(layers=4)"}, "must hold '{depth}'"),
        ({"depths": (2, -1)}, "depths must be non-negative"),
        ({"inits": ("nope",)}, "unknown scheme"),
        ({"threshold": 2.0}, "threshold=2.0"),
        ({"model": "resnet(depth={depth}, width=4)", "depths": (8, 10)}, "depth=10 in"),
    ],
)
def test_bad_config_is_one_error(fields: dict[str, object], words: str) -> None:
    with pytest.raises(initlab.InitlabError, match=words.replace("(", r"\(").replace("{", r"\{")):
        DepthConfig(**fields).validate()  # type: ignore[arg-type]
