"""The probe of any model (``probe(..., model=SPEC)``): model order and seeds, residual stream and
branches, mean-field theory for the mlp family (forward) and labelled absent elsewhere, devices."""

from __future__ import annotations

import math

import pytest
import torch

import initlab
from initlab.core import seeds as seed_streams
from initlab.ensemble import Ensemble, model_factory
from initlab.measure import probe_ensemble
from initlab.studies import ProbeConfig
from schema_helpers import validate

RESNET = "resnet(depth=8, width=4)"


def _std(result: initlab.studies.ProbeResult, label: str, seed_index: int) -> list[float]:
    run = next(r for r in result.runs if r.label == label)
    return [la.std[seed_index] for la in run.layers]


def test_each_spec_and_seed_is_the_model_it_names() -> None:
    """Replicate s of spec k is that spec with model seed `seed + s` (its `weights` stream), fed the
    documented input and cotangent (the `inputs` and `cotangents` streams of `seed`): the same
    numbers as that one model probed alone."""
    both = initlab.probe(["A: he_normal", "B: normal(std=0.3)"], model=RESNET, samples=6, seeds=2, seed=4)
    x = torch.randn(6, 784, generator=seed_streams.generator(4, "inputs"))  # (B, 784)
    g = torch.randn(6, 10, generator=seed_streams.generator(4, "cotangents"))  # (B, classes)
    for s in (0, 1):
        one = Ensemble.from_factory(
            model_factory(RESNET), ["normal(std=0.3)"], seed_streams.weight_seeds([4 + s])
        )
        alone = probe_ensemble(one, x, g).stat("std")[0].tolist()
        assert _std(both, "B", s) == pytest.approx(alone, rel=1e-5)
    assert _std(both, "B", 0) != pytest.approx(_std(both, "B", 1), rel=1e-2)  # the seeds differ
    assert _std(both, "A", 0) != pytest.approx(_std(both, "B", 0), rel=1e-2)  # and the specs


def test_residual_stream_and_branches_are_recorded() -> None:
    res = initlab.probe(["he_normal"], model=RESNET, samples=6)
    layers = res.runs[0].layers
    streams = [la for la in layers if la.role == "stream"]
    branches = [la for la in layers if la.role == "branch"]
    assert res.model is not None and len(streams) == res.model["residual_blocks"] == 3
    assert [la.kind for la in streams] == ["block"] * 3
    assert [la.name for la in branches] == [f"blocks.{i}.norm2" for i in range(3)]  # the marked norm
    assert all(la.type == "BatchNorm2d" for la in branches)
    doc = res.to_dict()
    validate(doc, "probe")
    assert doc["runs"][0]["histogram_range"] is None and doc["runs"][0]["edges"] is None
    ranges = [la["histogram"]["range"] for la in doc["runs"][0]["layers"]]
    assert all(lo < hi for lo, hi in ranges) and len({tuple(r) for r in ranges}) > 1  # one per layer


def test_no_normalization_residual_stream_grows_with_he_branches() -> None:
    """Without normalization and with He branches the stream's variance grows block by block (the
    stream adds a branch of comparable variance each time); a small init keeps it nearly flat."""
    res = initlab.probe(
        ["He: he_normal", "tiny: normal(std=0.001)"], model="resnet(depth=14, width=8, norm=none)", samples=16
    )
    he = [la.std[0] for la in res.runs[0].layers if la.role == "stream"]
    tiny = [la.std[0] for la in res.runs[1].layers if la.role == "stream"]
    assert len(he) == 6
    assert res.runs[0].series("std", "stream")[0] == pytest.approx(he)  # mean over the one seed
    assert he[-1] / he[0] > 2.0, he
    assert tiny[-1] / tiny[0] < 1.5, tiny


def test_mlp_family_has_forward_theory_and_others_none() -> None:
    res = initlab.probe(["lecun_normal"], "tanh", model="mlp(layers=3, width=400)", samples=200)
    run = res.runs[0]
    assert run.theory_note is not None and run.theory_note.startswith("forward only")
    assert run.mean_field is not None
    hidden = [la for la in run.layers if la.kind == "activation"]
    assert len(hidden) == 3
    for la in hidden:
        assert la.theory is not None and math.isnan(la.theory.grad_std)
        assert la.std[0] == pytest.approx(la.theory.std, rel=0.06)
    weighted = [la for la in run.layers if la.kind == "weighted"]
    assert weighted[0].theory is not None and weighted[-1].theory is None  # the classifier has none
    assert weighted[0].std[0] == pytest.approx(weighted[0].theory.std, rel=0.06)
    d = res.to_dict()["runs"][0]["layers"]
    assert math.isnan(d[1]["theory_grad_std"]) and math.isfinite(d[1]["theory_std"])
    vit = initlab.probe(["he_normal"], model="vit(depth=1, dim=8, heads=2, patch=7)", samples=4)
    assert vit.runs[0].theory_note is not None and "none is computed for vit" in vit.runs[0].theory_note
    assert all(la.theory is None for la in vit.runs[0].layers)


def test_default_stays_the_classic_stack() -> None:
    cfg = ProbeConfig()
    assert cfg.model is None and cfg.activation_name() == "sigmoid" and cfg.device == "cpu"
    assert cfg.to_dict()["activation"] == "sigmoid"
    assert ProbeConfig(model="resnet(depth=8)").activation_name() == "relu"
    assert ProbeConfig(model="resnet(depth=8)", activation="tanh").activation_name() == "tanh"
    res = initlab.probe(["he_normal"], "relu", layers=2, width=8, samples=8)
    doc = res.to_dict()
    assert doc["model"] is None and doc["device"] == "cpu" and res.runs[0].layers[0].kind == "hidden"
    validate(doc, "probe")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"device": "cuda:7"}, "device cuda:7 is not available"),
        ({"device": "gpu"}, "unknown device 'gpu'"),
        ({"model": "resnett(depth=8)"}, "unknown model family 'resnett'"),
        ({"model": "cnn(depht=2)"}, "no parameter 'depht'"),
    ],
)
def test_bad_model_or_device_is_one_error(fields: dict[str, str], words: str) -> None:
    with pytest.raises(initlab.InitlabError, match=words.replace("(", r"\(").replace(")", r"\)")):
        initlab.probe(["he_normal"], **fields)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("model", [None, RESNET])
def test_cuda_probe_equals_cpu(model: str | None) -> None:
    fields = {"samples": 8, "seeds": 2, "model": model}
    cpu = initlab.probe(["he_normal", "lecun_normal"], "relu", **fields)
    gpu = initlab.probe(["he_normal", "lecun_normal"], "relu", device="cuda", **fields)
    assert gpu.device.startswith("cuda")
    for a, b in zip(cpu.runs, gpu.runs, strict=True):
        for la, lb in zip(a.layers, b.layers, strict=True):
            assert lb.std == pytest.approx(la.std, rel=1e-4)
            assert lb.grad_std == pytest.approx(la.grad_std, rel=1e-4)
