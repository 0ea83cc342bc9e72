"""Which modules of a model the ensemble probe records, and what each one's output means.

A *tap* is a module whose output the probe summarises (forward) and whose output gradient it
summarises (backward). :func:`find_taps` picks, in ``named_modules`` order:

* ``weighted`` -- every Linear and ConvNd (:data:`initlab.schemes.WEIGHTED`): the pre-activation;
  the std of its weight's gradient is recorded too;
* ``norm`` -- BatchNorm, LayerNorm, GroupNorm, InstanceNorm;
* ``activation`` -- a registered activation as a module (anything with an ``act`` attribute that is
  an :class:`~initlab.activations.Activation`, as the model families build them) or one of
  PyTorch's activation modules (``nn.ReLU``, ``nn.Tanh``, ``nn.GELU``, ...);
* ``attention`` -- ``nn.MultiheadAttention`` (its first output, the attended values);
* ``block`` -- a module marked as a residual block (``initlab_block = True``,
  :func:`initlab.schemes.branches`): its output is the **residual stream** (role ``stream``).

Residual branches: the output of a branch is the module marked ``initlab_residual_norm`` (the norm
after the branch's last weighted layer) when its parent holds one, otherwise the module marked
``initlab_residual`` (that last weighted layer); that tap gets the role ``branch``. So a basic
ResNet block gives one ``stream`` tap (the block) and one ``branch`` tap (its second BatchNorm, or
its second conv without normalization).

Units (the axis over which "dead" is judged and ``signal_std`` is taken): as in
:mod:`initlab.measure.hooks` -- channels (axis 1) for conv, norm and pooling outputs
``(B, C, *spatial)``, the last axis for Linear, LayerNorm and attention outputs ``(B, T, C)``
(every token of every input is then one sample of a feature), and the layout of the previous output
for elementwise modules and blocks. Per conv channel, per transformer feature over all tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..activations import Activation, activation
from ..ensemble import BLOCK, RESIDUAL, RESIDUAL_NORM
from ..schemes import WEIGHTED

NORMS: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,  # BatchNorm*, InstanceNorm*
    nn.LayerNorm,
    nn.GroupNorm,
)
#: PyTorch activation modules and the registered activation each one is (for its output bounds).
TORCH_ACTIVATIONS: tuple[tuple[type[nn.Module], str | None], ...] = (
    (nn.ReLU, "relu"),
    (nn.LeakyReLU, "leaky_relu"),
    (nn.Tanh, "tanh"),
    (nn.Sigmoid, "sigmoid"),
    (nn.GELU, "gelu"),
    (nn.SiLU, "silu"),
    (nn.ELU, "elu"),
    (nn.SELU, "selu"),
    (nn.Softplus, "softplus"),
    (nn.Softsign, "softsign"),
    (nn.Mish, "mish"),
    (nn.Hardtanh, None),
    (nn.Hardsigmoid, None),
    (nn.PReLU, None),
)

KINDS = ("weighted", "norm", "activation", "attention", "block")
ROLES = ("stream", "branch")


@dataclass(frozen=True)
class Tap:
    """A recorded module: its ``named_modules`` name, kind, residual role and output bounds.

    ``bounds`` is the image of an activation (``(0, 1)`` sigmoid, ``(0, None)`` ReLU, ...): both
    finite give the saturated fraction; either picks the histogram range like the MLP probe's.
    ``has_weight``: the module owns a ``weight`` parameter, whose gradient std is recorded.
    """

    name: str
    kind: str
    type: str
    role: str | None
    bounds: tuple[float | None, float | None]
    has_weight: bool


def activation_bounds(mod: nn.Module) -> tuple[float | None, float | None] | None:
    """The output bounds of an activation module, ``None`` if ``mod`` is not one."""
    act = getattr(mod, "act", None)
    if isinstance(act, Activation):
        return act.bounds
    for cls, name in TORCH_ACTIVATIONS:
        if isinstance(mod, cls):
            if name == "leaky_relu":
                return (None, None)
            if name is not None:
                return activation(name).bounds
            if isinstance(mod, nn.Hardsigmoid):
                return (0.0, 1.0)
            if isinstance(mod, nn.Hardtanh):
                return (float(mod.min_val), float(mod.max_val))
            return (None, None)
    return None


def _kind(mod: nn.Module) -> tuple[str, tuple[float | None, float | None]] | None:
    if getattr(mod, BLOCK, False) is True:
        return "block", (None, None)
    if isinstance(mod, WEIGHTED):
        return "weighted", (None, None)
    if isinstance(mod, NORMS):
        return "norm", (None, None)
    if isinstance(mod, nn.MultiheadAttention):
        return "attention", (None, None)
    bounds = activation_bounds(mod)
    if bounds is not None:
        return "activation", bounds
    return None


def _branch_outputs(model: nn.Module) -> set[str]:
    """Names of the modules whose output is a residual branch's output (module docstring)."""
    mods = dict(model.named_modules())
    norms = [n for n, m in mods.items() if getattr(m, RESIDUAL_NORM, False) is True]
    out = set(norms)
    for name, mod in mods.items():
        if getattr(mod, RESIDUAL, False) is True:
            parent = name.rpartition(".")[0]
            if not any(n.rpartition(".")[0] == parent for n in norms):
                out.add(name)
    return out


def find_taps(model: nn.Module) -> dict[str, Tap]:
    """The taps of ``model`` by ``named_modules`` name, in that order (see the module docstring)."""
    branches = _branch_outputs(model)
    taps: dict[str, Tap] = {}
    for name, mod in model.named_modules():
        found = _kind(mod)
        if found is None or name == "":
            continue
        kind, bounds = found
        role = "stream" if kind == "block" else "branch" if name in branches else None
        weight = getattr(mod, "weight", None)
        if isinstance(mod, nn.MultiheadAttention):
            weight = mod.in_proj_weight if mod.in_proj_weight is not None else mod.q_proj_weight
        has_weight = isinstance(weight, nn.Parameter) and weight.requires_grad
        taps[name] = Tap(name, kind, type(mod).__name__, role, bounds, has_weight)
    return taps


def weight_name(model: nn.Module, tap: Tap) -> str | None:
    """The ``named_parameters`` name of a tap's weight (``None`` if it has none)."""
    if not tap.has_weight:
        return None
    mod = dict(model.named_modules())[tap.name]
    attr = "weight"
    if isinstance(mod, nn.MultiheadAttention):
        attr = "in_proj_weight" if mod.in_proj_weight is not None else "q_proj_weight"
    return f"{tap.name}.{attr}"
