"""Every model family: builds from its spec, runs as an ensemble (float32 and float64, under vmap),
is deterministic per seed, takes every catalogue scheme and ``auto``, marks its residual branches."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

import initlab
from initlab.core.errors import InitlabError
from initlab.ensemble import (
    Ensemble,
    families,
    model_factory,
    residual_blocks,
    residual_norms,
    residual_outputs,
)
from initlab.tools import auto_init_
from initlab.tools import init_ as tools_init_

#: One tiny model per family and variant (fast), MNIST-shaped: (B, 784) in, (B, 10) out.
TINY = {
    "mlp": "mlp(layers=2, width=8)",
    "cnn": "cnn(depth=2, channels=4)",
    "cnn-batch": "cnn(depth=3, channels=4, norm=batch, pool=avg)",
    "cnn-layer": "cnn(depth=2, channels=4, norm=layer, pool=none)",
    "cnn-group": "cnn(depth=2, channels=8, kernel=5, norm=group)",
    "resnet": "resnet(depth=8, width=4)",
    "resnet-preact-nonorm": "resnet(depth=8, width=4, block=preact, norm=none)",
    "vit": "vit(depth=1, dim=8, heads=2)",
    "vit-mean": "vit(depth=2, dim=8, heads=4, patch=14, pool=mean)",
}
SPECS = ["he_normal", "xavier_uniform"]


def _x(batch: int = 4, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.rand(batch, 784, generator=torch.Generator().manual_seed(9), dtype=dtype)  # (B, 784)


def test_the_tiny_table_covers_every_family() -> None:
    assert {key.split("-")[0] for key in TINY} == set(families())


@pytest.mark.parametrize("key", TINY)
def test_a_family_ensemble_runs_on_flat_input_and_is_deterministic(key: str) -> None:
    make = model_factory(TINY[key])
    ens = Ensemble.from_factory(make, SPECS, [1, 2])
    again = Ensemble.from_factory(make, SPECS, [1, 2])
    other = Ensemble.from_factory(make, SPECS, [3, 4])
    for name, p in ens.params.items():
        assert torch.equal(p, again.params[name]), name
    assert not all(torch.equal(p, other.params[name]) for name, p in ens.params.items())
    for name, b in ens.buffers.items():
        assert torch.equal(b, again.buffers[name]), name
    out = ens(_x())  # (M, B, classes)
    assert out.shape == (2, 4, 10) and bool(torch.isfinite(out).all())
    out.square().mean().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in ens.parameters())


@pytest.mark.parametrize("key", TINY)
def test_a_family_ensemble_in_float64_equals_its_models_one_by_one(key: str) -> None:
    ens = Ensemble.from_factory(model_factory(TINY[key]), SPECS, [5, 6], dtype=torch.float64)
    assert all(p.dtype == torch.float64 for p in ens.parameters())
    x = _x(dtype=torch.float64)  # (B, 784)
    alone = [ens.model(m) for m in range(ens.M)]  # train mode: BatchNorm uses batch statistics
    out = ens(x)  # (M, B, classes); updates each model's running statistics
    for m, model in enumerate(alone):
        torch.testing.assert_close(model(x), out[m], rtol=1e-12, atol=1e-12)
        for name, b in model.named_buffers():
            torch.testing.assert_close(ens.buffers[name][m], b, rtol=1e-12, atol=1e-12)
    ens.eval()
    out = ens(x)  # (M, B, classes) from the running statistics
    for m in range(ens.M):
        torch.testing.assert_close(ens.model(m)(x), out[m], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("key", ["cnn", "resnet", "vit"])
def test_family_models_take_every_catalogue_scheme_and_auto(key: str) -> None:
    model = model_factory(TINY[key])()
    x = _x()
    for spec in [*initlab.schemes(), "auto"]:
        records = tools_init_(model, spec, generator=torch.Generator().manual_seed(0))
        assert records, spec
        with torch.no_grad():
            assert bool(torch.isfinite(model(x)).all()), spec


@pytest.mark.parametrize(
    ("spec", "act", "first"),
    [
        ("cnn(depth=2, channels=4)", "relu", "he_normal"),
        ("resnet(depth=8, width=4)", "leaky_relu(negative_slope=0.1)", "he_normal(nonlinearity=leaky_relu"),
        ("vit(depth=1, dim=8, heads=2)", None, "xavier_normal"),  # the patch embedding: no nonlinearity
        ("mlp(layers=1, width=4)", "tanh", "xavier_normal"),
    ],
)
def test_auto_init_reads_the_family_activation(spec: str, act: str | None, first: str) -> None:
    plan = auto_init_(model_factory(spec, activation=act)(), generator=torch.Generator().manual_seed(0))
    assert plan.traced
    assert plan.steps[0].scheme.startswith(first)
    if spec.startswith("vit"):
        assert plan.scheme_of("blocks.0.mlp.fc1") == "he_normal(nonlinearity=gelu)"


def test_same_spec_and_seed_same_initial_weights_as_a_plain_module() -> None:
    """Ensemble.from_factory(model_factory(s), [scheme], [seed]) == the module built and filled by hand."""
    make = model_factory(TINY["vit"])
    ens = Ensemble.from_factory(make, ["he_normal"], [11])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(11)
        by_hand = make()
    initlab.init_(by_hand, "he_normal", generator=torch.Generator().manual_seed(11))
    for name, p in by_hand.named_parameters():
        assert torch.equal(ens.params[name][0], p.detach()), name


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("key", TINY)
def test_same_initial_weights_on_cuda(key: str) -> None:
    make = model_factory(TINY[key])
    cpu = Ensemble.from_factory(make, SPECS, [7, 8])
    gpu = Ensemble.from_factory(make, SPECS, [7, 8], device="cuda")
    for name, p in cpu.params.items():
        assert gpu.params[name].device.type == "cuda"
        assert torch.equal(gpu.params[name].cpu(), p), name
    torch.testing.assert_close(gpu(_x().cuda()).cpu(), cpu(_x()), rtol=1e-4, atol=1e-5)


def test_residual_marks() -> None:
    r8, r14 = model_factory("resnet(depth=8, width=4)")(), model_factory("resnet(depth=14, width=4)")()
    assert residual_outputs(r8) == ["blocks.0.conv2", "blocks.1.conv2", "blocks.2.conv2"]
    assert residual_norms(r8) == ["blocks.0.norm2", "blocks.1.norm2", "blocks.2.norm2"]
    assert len(residual_outputs(r14)) == len(residual_blocks(r14)) == 6
    pre = model_factory("resnet(depth=8, width=4, block=preact, norm=none)")()
    assert len(residual_outputs(pre)) == 3 and residual_norms(pre) == []
    vit = model_factory("vit(depth=2, dim=8, heads=2)")()
    assert residual_outputs(vit) == [
        "blocks.0.attn.out",
        "blocks.0.mlp.fc2",
        "blocks.1.attn.out",
        "blocks.1.mlp.fc2",
    ]
    assert residual_blocks(vit) == ["blocks.0", "blocks.1"]
    assert residual_outputs(model_factory("cnn(depth=2, channels=4)")()) == []
    user = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    user[1].initlab_residual = True  # the documented attribute a user's own model sets
    assert residual_outputs(user) == ["1"]


def test_a_residual_branch_is_really_added() -> None:
    """Zeroing the marked layers of a norm-free resnet leaves only the shortcut path: the output changes."""
    model = model_factory("resnet(depth=8, width=4, norm=none)")()
    x = _x()
    with torch.no_grad():
        before = model(x)
        for name in residual_outputs(model):
            model.get_submodule(name).weight.zero_()
        assert not torch.allclose(model(x), before)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("resnet(depth=21)", "depth=21 in 'resnet(depth=21)': a resnet has depth = 6n+2 weighted layers"),
        ("resnet(depth=21)", "nearest: 20 or 26"),
        ("resnet(depth=20.0)", "must be an integer"),
        ("resnet(block=bottleneck)", "must be one of basic, preact"),
        ("resnet(norm=group)", "must be one of batch, none"),
        ("cnn(kernel=4)", "kernel=4 in 'cnn(kernel=4)': must be odd"),
        ("cnn(norm=bach)", "must be one of none, batch, layer, group"),
        ("cnn(depth=0)", "depth=0 in 'cnn(depth=0)': must be >= 1"),
        ("vit(dim=10)", "dim=10 in 'vit(dim=10)': must be a multiple of heads=4"),
        ("vit(patch=5)", "patch=5 in 'vit(patch=5)': must divide the image size 28x28"),
        ("vit(pool=max)", "must be one of cls, mean"),
    ],
)
def test_bad_family_parameters(spec: str, message: str) -> None:
    with pytest.raises(InitlabError) as err:
        model_factory(spec)
    assert message in str(err.value)


def test_image_families_need_image_input() -> None:
    with pytest.raises(InitlabError, match=r"'cnn' needs image input \(C, H, W\).*\(784,\)"):
        model_factory("cnn", in_shape=(784,))
    assert model_factory("mlp", in_shape=(784,))()(torch.zeros(2, 784)).shape == (2, 10)
    make = model_factory("resnet(depth=8, width=2)", in_shape=(3, 16, 12), classes=4)
    assert make()(torch.zeros(2, 3 * 16 * 12)).shape == (2, 4)


def test_conv_layers_under_vmap_run_as_grouped_convolutions() -> None:
    """The first conv sees the shared input: one conv with M x out channels (groups 1); the later ones
    see per-model inputs: one convolution with groups = M (PyTorch's conv batching rule)."""
    M, channels = 3, 4
    ens = Ensemble.from_factory(
        model_factory(f"cnn(depth=3, channels={channels})"), ["he_normal"] * M, [0, 1, 2], strategy="vmap"
    )
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        ens(_x())
    convs = [e for e in prof.events() if e.name == "aten::convolution"]
    lowered = {  # (weight shape, groups) of the convolutions that ran
        (tuple(e.input_shapes[1]), e.concrete_inputs[8])
        for e in convs
        if e.input_shapes[1][0] == M * channels
    }
    assert lowered == {((M * channels, 1, 3, 3), 1), ((M * channels, channels, 3, 3), M)}
