"""lsuv_: layer-sequential unit-variance init reaches the target std and says what it skipped."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import initlab
from diagnose_models import TinyResNet, hook_count, mlp, small_cnn


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _output_std(model: nn.Module, layer: nn.Module, x: torch.Tensor) -> float:
    got: list[float] = []
    handle = layer.register_forward_hook(
        lambda m, a, out: got.append(float(out.double().std(unbiased=False)))
    )
    with torch.no_grad():
        model.eval()
        model(x)
    handle.remove()
    return got[0]


@pytest.mark.parametrize("target", [1.0, 0.5])
def test_mlp_reaches_the_target_std(target: float) -> None:
    model = mlp(10, 64, nn.Tanh)
    x = torch.randn(256, 64, generator=_g(0))
    res = initlab.lsuv_(model, x, target_std=target, generator=_g(1))
    assert res.converged and len(res.layers) == 10
    for la in res.layers:
        assert la.skipped is None and la.iterations <= 2
        assert la.std is not None and abs(la.std - target) <= 0.1 * target
        # measured independently, after all layers are done
        assert abs(_output_std(model, dict(model.named_modules())[la.name], x) - target) <= 0.1 * target


def test_cnn_reaches_the_target_std_with_centring() -> None:
    model = small_cnn()
    x = torch.randn(64, 1, 28, 28, generator=_g(0))
    res = initlab.lsuv_(model, x, tol=0.02, center=True, generator=_g(1))
    assert res.converged
    assert [la.name for la in res.layers] == ["0", "3", "7"]
    mods = dict(model.named_modules())
    for la in res.layers:
        assert abs(_output_std(model, mods[la.name], x) - 1.0) <= 0.02
    with torch.no_grad():
        conv_out = model[0](x)  # centred per channel by the bias
    assert conv_out.mean(dim=(0, 2, 3)).abs().max() < 1e-4


def test_pre_init_is_orthogonal_and_records_it() -> None:
    model = mlp(2, 32)
    res = initlab.lsuv_(model, torch.randn(128, 32, generator=_g(0)), generator=_g(1))
    assert [r.scheme for r in res.records] == ["orthogonal", "zeros", "orthogonal", "zeros"]
    w = model[0].weight.detach().double()
    gram = w @ w.T  # orthogonal up to the LSUV scale factor
    scale = float(gram.diagonal().mean())
    assert torch.allclose(gram / scale, torch.eye(32, dtype=torch.float64), atol=1e-5)


def test_skips_what_it_cannot_scale_and_says_so() -> None:
    model = TinyResNet()
    model.train()
    res = initlab.lsuv_(model, torch.randn(16, 3, 16, 16, generator=_g(0)), generator=_g(1))
    skipped = {la.name: la.skipped for la in res.layers if la.skipped}
    assert skipped["bn1"] == "not a Linear/ConvNd: LSUV scales only those"
    assert "layer1.0.bn2" in skipped and "conv1" not in skipped
    assert all(la.converged for la in res.layers if la.skipped is None)
    assert model.training and model.layer1[0].bn1.training  # modes restored
    assert hook_count(model) == 0


def test_dead_output_is_skipped() -> None:
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 4))
    res = initlab.lsuv_(model, torch.zeros(32, 8), generator=_g(0))  # zero input, zero biases: std 0
    assert [la.skipped for la in res.layers] == ["output std is 0 (dead or constant output)"] * 2
    assert not res.converged  # nothing was fitted
    assert all(la.iterations == 0 for la in res.layers)


def test_bad_arguments() -> None:
    model = mlp(2, 4)
    x = torch.randn(8, 4, generator=_g(0))
    with pytest.raises(initlab.InitlabError, match="target_std > 0"):
        initlab.lsuv_(model, x, target_std=0.0)
    with pytest.raises(initlab.InitlabError, match="max_iter >= 1"):
        initlab.lsuv_(model, x, max_iter=0)
    with pytest.raises(initlab.InitlabError, match=r"batch of shape \(8, 5\)"):
        initlab.lsuv_(model, torch.randn(8, 5, generator=_g(0)))
    with pytest.raises(initlab.InitlabError, match=r"no nn\.Linear"):
        initlab.lsuv_(nn.ReLU(), x)


def test_max_iter_bounds_the_updates() -> None:
    model = mlp(3, 32, nn.Tanh)
    res = initlab.lsuv_(model, torch.randn(64, 32, generator=_g(0)), tol=1e-12, max_iter=1, generator=_g(1))
    assert all(la.iterations <= 1 for la in res.layers)
    assert res.to_dict()["layers"][0]["name"] == "0"


def _naive_lsuv(model: nn.Sequential, x: torch.Tensor, target: float = 1.0, tol: float = 0.1) -> None:
    """The paper's loop, one full forward pass per measurement: the slow, obvious reference."""
    got: list[float] = []

    def record(m: nn.Module, a: object, out: torch.Tensor) -> None:
        got.append(float(out.double().std(unbiased=False)))

    for layer in [m for m in model if isinstance(m, nn.Linear)]:
        handle = layer.register_forward_hook(record)
        for _ in range(10):
            got.clear()
            with torch.no_grad():
                model(x)
            if abs(got[0] - target) <= tol * target:
                break
            with torch.no_grad():
                layer.weight.mul_(target / got[0])
                layer.bias.mul_(target / got[0])
        handle.remove()


def test_one_forward_pass_gives_the_sequential_result() -> None:
    x = torch.randn(64, 32, generator=_g(0))
    fast, slow = mlp(8, 32, nn.Tanh), mlp(8, 32, nn.Tanh)
    res = initlab.lsuv_(fast, x, tol=1e-3, generator=_g(1))
    assert res.passes == 1 and res.to_dict()["passes"] == 1  # the per-pass loop took 1 + 8 * 2 = 17
    initlab.init_(slow, "orthogonal", generator=_g(1))
    _naive_lsuv(slow, x, tol=1e-3)
    for a, b in zip(fast.parameters(), slow.parameters(), strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)
    assert all(la.converged and la.iterations >= 1 for la in res.layers)


def test_conv1d_and_attention_layers_are_fitted() -> None:
    from lookalikes import GPT2MLP

    x = torch.randn(4, 6, 16, generator=_g(0))
    res = initlab.lsuv_(GPT2MLP(16), x, generator=_g(1))
    assert [(la.name, la.type, la.converged) for la in res.layers] == [
        ("c_fc", "Conv1D", True),
        ("c_proj", "Conv1D", True),
    ]
    mha = nn.MultiheadAttention(16, 2, batch_first=True)
    res = initlab.lsuv_(mha, (x, x, x), generator=_g(1))
    fitted = {la.name: la.converged for la in res.layers if la.skipped is None}
    assert fitted == {f"in_proj_weight[{p}]": True for p in "qkv"} | {"out_proj": True}
    assert res.passes == 1 and hook_count(mha) == 0
    with torch.no_grad():
        out = mha(x, x, x)[0]
    assert float(out.double().std(unbiased=False)) == pytest.approx(1.0, rel=0.1)
