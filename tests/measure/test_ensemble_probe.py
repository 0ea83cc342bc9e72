"""The probe of any ensemble: statistics from hooks inside the vmapped call equal those of each model
run alone with hooks (initlab.measure.Recorder, plain autograd), for a CNN with BatchNorm, a small
residual net and a small transformer block; taps, roles, ranges; CUDA variant (skips without CUDA)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from initlab.ensemble import Ensemble
from initlab.measure import (
    BACKWARD_STATS,
    FORWARD_STATS,
    EnsembleProbe,
    Recorder,
    find_taps,
    probe_ensemble,
    stats,
    units_view,
)


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Unflatten(1, (1, 6, 6)),
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 3, 3, padding=1, bias=False),
        nn.BatchNorm2d(3),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(3 * 36, 5),
    )


class Block(nn.Module):
    """x + f(x), marked as the model families mark theirs."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(width, width)
        self.fc2.initlab_residual = True  # type: ignore[assignment]
        self.initlab_block = True

    def forward(self, x: Tensor) -> Tensor:
        return x + self.fc2(self.act(self.fc1(x)))


def resnet() -> nn.Module:
    return nn.Sequential(nn.Linear(6, 8), Block(8), Block(8), nn.Linear(8, 3))


class Attention(nn.Module):
    """Single-head self-attention written out (q, k, v and output projections)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)  # each (B, T, C)
        w = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)  # (B, T, T)
        return self.proj(w @ v)  # (B, T, C)


class Encoder(nn.Module):
    """One pre-norm transformer block over 3 tokens of 4 features (attention + GELU MLP);
    ``torch_mha``: PyTorch's nn.MultiheadAttention instead of the written-out attention."""

    def __init__(self, torch_mha: bool = False) -> None:
        super().__init__()
        self.embed = nn.Linear(4, 8)
        self.norm1 = nn.LayerNorm(8)
        self.attn: nn.Module = nn.MultiheadAttention(8, 2, batch_first=True) if torch_mha else Attention(8)
        self.norm2 = nn.LayerNorm(8)
        self.mlp = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 8))
        self.head = nn.Linear(8, 3)
        self.torch_mha = torch_mha

    def forward(self, x: Tensor) -> Tensor:
        h = self.embed(x.reshape(x.shape[0], 3, 4))  # (B, T, C)
        a = self.norm1(h)
        h = h + (self.attn(a, a, a, need_weights=False)[0] if self.torch_mha else self.attn(a))
        h = h + self.mlp(self.norm2(h))
        return self.head(h.mean(dim=1))  # (B, classes)


def encoder_mha() -> nn.Module:
    return Encoder(torch_mha=True)


FAMILIES = {
    "cnn_bn": (cnn, (7, 36)),
    "residual": (resnet, (7, 6)),
    "transformer": (Encoder, (7, 12)),
    "torch_mha": (encoder_mha, (7, 12)),
}
INITS = ["he_normal", "normal(std=0.7)", "lecun_uniform"]


def _run(
    factory: type[nn.Module] | object, shape: tuple[int, int], device: str = "cpu"
) -> tuple[Ensemble, Tensor, Tensor, EnsembleProbe]:
    gen = torch.Generator().manual_seed(3)
    ens = Ensemble.from_factory(factory, INITS, [0, 1, 2], dtype=torch.float64, device=device)  # type: ignore[arg-type]
    x = torch.randn(shape, generator=gen, dtype=torch.float64).to(device)  # (B, D)
    out = ens(x)  # (M, B, C)
    g = torch.randn(tuple(out.shape[1:]), generator=gen, dtype=torch.float64).to(device)  # (B, C)
    return ens, x, g, probe_ensemble(ens, x, g, bins=12)


def _alone(model: nn.Module, x: Tensor, g: Tensor) -> tuple[dict[str, object], dict[str, Tensor]]:
    """Each call's Recorder record and the weights' gradients, the model alone (containers too)."""
    with Recorder(model, containers=True) as rec:
        (model(x) * g).sum().backward()
    calls = {c.module: c for c in rec.calls}
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    return calls, grads  # type: ignore[return-value]


#: PyTorch has no vmap batching rule for its CPU flash attention kernel and says so (a fallback loop)
SDPA = "ignore:There is a performance drop because we have not yet implemented the batching rule"


@pytest.mark.filterwarnings(SDPA)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_ensemble_statistics_equal_each_model_alone(family: str) -> None:
    factory, shape = FAMILIES[family]
    ens, x, g, res = _run(factory, shape)
    assert res.forward.shape == (3, len(res.records), len(FORWARD_STATS))
    assert res.backward.shape == (3, len(res.records), len(BACKWARD_STATS))
    close = {"rel": 1e-9, "abs": 1e-12}
    compared = 0
    for m in range(ens.M):
        model = ens.model(m)
        calls, grads = _alone(model, x.cpu(), g.cpu())
        mods = dict(model.named_modules())
        for k, rec in enumerate(res.records):
            c = calls[rec.name]
            for name in (
                "mean",
                "std",
                "signal_std",
                "zero_fraction",
                "dead_fraction",
                "grad_std",
                "grad_norm",
            ):
                assert float(res.stat(name)[m, k]) == pytest.approx(getattr(c, name), **close), (
                    rec.name,
                    name,
                )
            assert float(res.stat("nonfinite")[m, k]) == c.nonfinite
            sat = float(res.stat("saturated_fraction")[m, k])
            assert (c.saturated_fraction is None and math.isnan(sat)) or sat == pytest.approx(
                c.saturated_fraction
            )
            wname = {"MultiheadAttention": "in_proj_weight"}.get(rec.tap.type, "weight")
            wgrad = grads.get(f"{rec.name}.{wname}")
            if rec.tap.has_weight:
                assert wgrad is not None
                want = wgrad.double().std(correction=0).item()
                assert float(res.stat("weight_grad_std")[m, k]) == pytest.approx(want, **close)
            else:
                assert math.isnan(float(res.stat("weight_grad_std")[m, k]))
            # the histogram: each model's entries, in units layout, on that model's range
            with torch.no_grad():
                h = mods[rec.name]
                out: list[Tensor] = []
                handle = h.register_forward_hook(
                    lambda mod, a, o, out=out: out.append(o[0] if isinstance(o, tuple) else o)
                )
                model(x.cpu())
                handle.remove()
            lo, hi = (float(v) for v in res.ranges[m, k])
            u = units_view(out[0], rec.channels_last)
            want_hist = stats.histograms(u, 12, lo, hi)[0] / u.numel()
            assert res.histograms[m, k].tolist() == pytest.approx(want_hist.tolist(), abs=1e-12)
            compared += 1
    assert compared == ens.M * len(res.records) > 3 * ens.M


def test_models_differ_so_the_comparison_can_fail() -> None:
    """Negative control: the three inits give different statistics (a probe that returned model 0's
    numbers for every model would fail the equality test above)."""
    _, _, _, res = _run(*FAMILIES["cnn_bn"])
    grad = res.stat("grad_std")  # (M, R)
    assert not torch.allclose(grad[0], grad[1]) and not torch.allclose(grad[1], grad[2])


def test_taps_roles_and_per_channel_units() -> None:
    taps = find_taps(resnet())
    block = ["block", "weighted", "activation", "weighted"]
    assert [t.kind for t in taps.values()] == ["weighted", *block, *block, "weighted"]
    assert {n: t.role for n, t in taps.items() if t.role} == {
        "1": "stream",
        "1.fc2": "branch",
        "2": "stream",
        "2.fc2": "branch",
    }
    _, _, _, res = _run(*FAMILIES["cnn_bn"])
    convs = [r for r in res.records if r.tap.type == "Conv2d"]
    assert [r.units for r in convs] == [4, 3] and not convs[0].channels_last  # per channel
    _, _, _, tr = _run(*FAMILIES["transformer"])
    qkv = next(r for r in tr.records if r.name == "attn.qkv")
    assert qkv.shape == (7, 3, 24) and qkv.units == 24 and qkv.channels_last  # every token a sample


@pytest.mark.filterwarnings(SDPA)
def test_torch_attention_is_a_tap() -> None:
    _, _, _, tr = _run(*FAMILIES["torch_mha"])
    attn = next(r for r in tr.records if r.tap.kind == "attention")
    assert attn.shape == (7, 3, 8) and attn.units == 8 and attn.channels_last  # every token a sample


def test_running_statistics_and_the_callers_rng_are_untouched() -> None:
    ens = Ensemble.from_factory(cnn, INITS, [0, 1, 2])
    before = {k: v.clone() for k, v in ens.buffers.items()}
    state = torch.get_rng_state()
    x = torch.randn(5, 36, generator=torch.Generator().manual_seed(0))
    probe_ensemble(ens, x, torch.ones(5, 5))
    assert all(torch.equal(before[k], v) for k, v in ens.buffers.items())
    assert torch.equal(state, torch.get_rng_state())


def test_forced_range_and_groups() -> None:
    ens = Ensemble.from_factory(resnet, INITS, [0, 1, 2])
    x = torch.randn(9, 6, generator=torch.Generator().manual_seed(0))
    res = probe_ensemble(ens, x, torch.ones(9, 3), hist_range=(-2.0, 3.0))
    assert res.ranges[..., 0].eq(-2).all() and res.ranges[..., 1].eq(3).all()
    res = probe_ensemble(ens, x, torch.ones(9, 3), groups=[slice(0, 1), slice(1, 3)])
    relu = next(k for k, r in enumerate(res.records) if r.tap.kind == "activation")
    assert float(res.ranges[0, relu, 0]) == 0.0  # ReLU: from 0 up
    assert torch.equal(res.ranges[1], res.ranges[2])  # one range per group
    total = res.histograms.sum(-1)  # every finite entry is in some bin
    assert torch.allclose(total, torch.ones_like(total))


@pytest.mark.filterwarnings(SDPA)
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("family", list(FAMILIES))
def test_cuda_equals_cpu(family: str) -> None:
    factory, shape = FAMILIES[family]
    _, _, _, cpu = _run(factory, shape)
    _, _, _, gpu = _run(factory, shape, device="cuda")
    assert gpu.forward.device.type == "cuda"
    assert torch.allclose(cpu.forward, gpu.forward.cpu(), rtol=1e-9, atol=1e-12, equal_nan=True)
    assert torch.allclose(cpu.backward, gpu.backward.cpu(), rtol=1e-9, atol=1e-12, equal_nan=True)
