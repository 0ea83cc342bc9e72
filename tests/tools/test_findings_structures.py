"""Findings on the structures of real models (issue 17): the trend along the main path, deliberate zeros."""

from __future__ import annotations

import torch
from structures_findings import LlamaLike, MixerLike, ResNetLike, ViTLike, middle_growth_mlp

import initlab
from initlab.tools import EXPLODING, Diagnosis


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _image(model: torch.nn.Module) -> Diagnosis:
    return initlab.diagnose(model, input_shape=(3, 16, 16), batch_size=16, generator=_g(1))


def test_zero_head_of_a_vit_is_a_deliberate_zero_not_dead_or_vanishing() -> None:
    for model in (ViTLike(), MixerLike()):
        d = _image(model)
        assert not d.flagged("vanishing") and not d.flagged("exploding"), d.findings
        assert not d.flagged("dead"), d.findings
        assert d.zeros == {"head": "head"}
        (zero,) = [f for f in d.findings if f.kind == "zero_init"]
        assert zero.layers == ("head",) and "one SGD step breaks the symmetry" in zero.message
        depth = d.depth("forward")
        assert depth is not None and depth.path == "blocks" and depth.steps == 3  # the 4 block outputs
        assert d.depth("backward") is None  # every gradient below a zero head is 0: not judged


def test_the_head_still_counts_when_it_is_not_zero() -> None:
    model = ViTLike()
    torch.nn.init.normal_(model.head.weight, std=0.02, generator=_g(0))
    d = _image(model)
    assert not d.zeros and not d.flagged("zero_init") and not d.flagged("vanishing")
    back = d.depth("backward")
    assert back is not None and back.path == "blocks" and 0.1 < back.fall <= 1.0


def test_transformer_q_proj_vs_down_proj_is_no_trend() -> None:
    model = LlamaLike()
    ids = torch.randint(0, 100, (8, 12), generator=_g(0))
    d = initlab.diagnose(model, ids, generator=_g(1))
    q, down = d.layer("layers.0.self_attn.q_proj"), d.layer("layers.3.mlp.down_proj")
    assert q.signal_std is not None and down.signal_std is not None
    assert down.signal_std / q.signal_std < 0.1  # what the old first-vs-last rule called vanishing
    assert not d.flagged("vanishing") and not d.flagged("exploding"), d.findings
    fwd = d.depth("forward")
    assert fwd is not None and fwd.path == "blocks" and fwd.names[0] == "layers.0"


def test_zero_batchnorm_scales_in_residual_blocks_are_not_dead() -> None:
    d = _image(ResNetLike())
    assert not d.flagged("dead"), d.findings
    assert not d.flagged("vanishing") and not d.flagged("exploding"), d.findings
    assert set(d.zeros.values()) == {"norm"} and len(d.zeros) == 4
    (zero,) = [f for f in d.findings if f.kind == "zero_init"]
    assert "layer1.0.bn3" in zero.layers and "skip connection" in zero.message
    # negative control: a zero BatchNorm scale outside any block is a real dead layer
    model = ResNetLike(zero_last=False)
    torch.nn.init.zeros_(model.bn1.weight)
    torch.nn.init.zeros_(model.bn1.bias)
    assert _image(model).flagged("dead")


def test_growth_in_the_middle_is_caught_and_located() -> None:
    d = initlab.diagnose(middle_growth_mlp(), input_shape=(64,), batch_size=64, generator=_g(1))
    fwd = d.depth("forward")
    assert fwd is not None and fwd.path == "layers"
    assert 0.2 < fwd.ratio < 5  # the first and the last layer agree ...
    assert fwd.rise > EXPLODING  # ... but the signal grows about 3^4 in between
    (f,) = [f for f in d.findings if f.kind == "exploding" and f.direction == "forward"]
    where = {name for name, _ in fwd.changes(fwd.rise_at)}
    assert where <= {"6", "8", "10", "12"} and where, where  # the Linear layers scaled up (3..6)
    assert all(name in f.message for name in where)
    # negative control: the same MLP without the bump is not flagged
    flat = initlab.diagnose(middle_growth_mlp(gain=1.0), input_shape=(64,), batch_size=64, generator=_g(1))
    assert not flat.flagged("exploding") and not flat.flagged("vanishing")


def test_one_odd_layer_is_not_a_trend() -> None:
    model = middle_growth_mlp(gain=1.0)
    with torch.no_grad():
        model[10].weight.mul_(20.0)  # layer 5 alone x20; the ReLU stack after it scales along
        model[12].weight.div_(20.0)  # and layer 6 undoes it
    d = initlab.diagnose(model, input_shape=(64,), batch_size=64, generator=_g(1))
    assert not d.flagged("exploding") and not d.flagged("vanishing"), d.findings
