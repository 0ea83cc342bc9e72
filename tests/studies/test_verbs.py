"""Every study verb (``initlab.probe``, ``compare``, ``symmetry``, ``reproduce``) takes the same forms:
``verb(config)``, ``verb(**fields)`` and ``verb(config, **fields)``, plus the same keyword options."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
import torch

import initlab
from initlab import load_dataset
from initlab.data import Dataset
from initlab.studies import compare, depth, probe, reproduce, symmetry
from initlab.studies.config import configure

VERBS: list[tuple[Callable[..., Any], type]] = [
    (initlab.probe, probe.Config),
    (initlab.compare, compare.Config),
    (initlab.symmetry, symmetry.Config),
    (initlab.reproduce, reproduce.Config),
    (initlab.depth, depth.Config),
]


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load_dataset("mnist")


@pytest.mark.parametrize(("verb", "cls"), VERBS)
def test_every_verb_has_the_same_signature(verb: Callable[..., Any], cls: type) -> None:
    params = list(inspect.signature(verb).parameters.values())
    assert params[0].name == "config" and params[0].kind is inspect.Parameter.POSITIONAL_ONLY
    assert params[0].default is None
    kinds = {p.name: p.kind for p in params}
    for name in ("dataset", "data_dir", "progress", "download_progress", "should_stop"):
        assert kinds[name] is inspect.Parameter.KEYWORD_ONLY, name
    assert params[-1].kind is inspect.Parameter.VAR_KEYWORD
    assert verb.__doc__ and cls.__name__ in verb.__doc__


def test_configure_replaces_fields_and_names_unknown_ones() -> None:
    base = compare.CompareConfig(seeds=3)
    cfg = configure(compare.CompareConfig, base, {"inits": ["he_normal"], "iterations": 7}, "compare")
    assert cfg == replace(base, inits=("he_normal",), iterations=7)  # lists become tuples
    assert configure(compare.CompareConfig, None, {}, "compare") == compare.CompareConfig()
    with pytest.raises(initlab.InitlabError, match=r"compare\(\) has no setting 'iteration'.*iterations"):
        configure(compare.CompareConfig, None, {"iteration": 7}, "compare")
    with pytest.raises(initlab.InitlabError, match=r"compare\(\) takes a CompareConfig, got SymmetryConfig"):
        configure(compare.CompareConfig, symmetry.SymmetryConfig(), {}, "compare")  # type: ignore[arg-type]


def test_probe_config_fields_and_mix_are_one_run() -> None:
    fields: dict[str, Any] = {"inits": ("he_normal", "zeros"), "activation": "tanh", "layers": 2}
    fields |= {"width": 8, "samples": 16, "seeds": 2, "seed": 3}
    cfg = probe.ProbeConfig(**fields)
    by_config = initlab.probe(cfg).to_dict()
    assert initlab.probe(**fields).to_dict() == by_config
    assert initlab.probe(replace(cfg, seed=0), seed=3).to_dict() == by_config
    shorthand = initlab.probe(list(cfg.inits), "tanh", layers=2, width=8, samples=16, seeds=2, seed=3)
    assert shorthand.to_dict() == by_config
    assert initlab.probe(cfg, seed=4).to_dict() != by_config  # negative control: the field is used
    with pytest.raises(initlab.InitlabError, match=r"probe\(\) has no setting 'widht'.*width"):
        initlab.probe(cfg, widht=9)


def test_compare_and_symmetry_take_config_or_fields(mnist: Dataset) -> None:
    small = {"iterations": 3, "eval_every": 0, "layers": 1, "width": 8}
    a = initlab.compare(compare.CompareConfig(**small), dataset=mnist)
    b = initlab.compare(dataset=mnist, **small)
    assert torch.equal(a.train.train_loss, b.train.train_loss) and a.config == b.config
    s1 = initlab.symmetry(symmetry.SymmetryConfig(**small), dataset=mnist)
    s2 = initlab.symmetry(symmetry.SymmetryConfig(iterations=3), dataset=mnist, **small)
    assert s1.to_dict()["cases"] == s2.to_dict()["cases"] and s1.config == s2.config
    with pytest.raises(initlab.InitlabError, match=r"has no setting 'case'.*cases"):
        initlab.symmetry(case=["zeros"], dataset=mnist)


def test_a_dataset_name_is_the_config_field(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run(config: Any, **kwargs: Any) -> Any:
        seen["config"], seen["dataset"] = config, kwargs["dataset"]
        return config

    for module in (compare, symmetry, depth):
        monkeypatch.setattr(module, "run", fake_run)
        module.__dict__[module.__name__.rpartition(".")[2]](dataset="kmnist", iterations=5)
        assert seen["config"].dataset == "kmnist" and seen["config"].iterations == 5
        assert seen["dataset"] is None  # run loads it (no data_dir given)


def test_reproduce_quick_starts_from_the_quick_config(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[reproduce.ReproduceConfig] = []
    monkeypatch.setattr(reproduce, "run", lambda config, **kwargs: seen.append(config))
    initlab.reproduce(quick=True)
    initlab.reproduce(quick=True, seeds=3)
    initlab.reproduce(reproduce.ReproduceConfig(), iterations=10)
    quick = reproduce.ReproduceConfig.quick_config()
    assert seen == [quick, replace(quick, seeds=3), reproduce.ReproduceConfig(iterations=10)]
    with pytest.raises(initlab.InitlabError, match="either a config or quick=True"):
        initlab.reproduce(reproduce.ReproduceConfig(), quick=True)
    with pytest.raises(initlab.InitlabError, match="reproduce runs on mnist, got dataset 'kmnist'"):
        initlab.reproduce(dataset="kmnist")


def test_depth_takes_config_or_fields(mnist: Dataset) -> None:
    small = {"model": "mlp(layers={depth}, width=8)", "depths": [1, 2], "inits": ["he_normal"], "seeds": 1}
    small |= {"iterations": 3, "eval_size": 50, "probe_samples": 4}
    a = initlab.depth(
        depth.DepthConfig(**{**small, "depths": (1, 2), "inits": ("he_normal",)}), dataset=mnist
    )
    b = initlab.depth(dataset=mnist, **small)
    assert a.config == b.config and a.rows == b.rows and a.findings == b.findings
    assert (
        initlab.depth(a.config, seed=1, dataset=mnist).rows != a.rows
    )  # negative control: the field is used
    with pytest.raises(initlab.InitlabError, match=r"depth\(\) has no setting 'depth'.*depths"):
        initlab.depth(depth=[1], dataset=mnist)
