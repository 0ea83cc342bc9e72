"""Which nonlinearity follows each Linear/ConvNd layer of a model (for ``init_(model, "auto")`` and audit).

The model is traced with ``torch.fx.symbolic_trace``; from each weighted layer's output the graph is
walked forward through *transparent* operations (normalisation, dropout, pooling, reshapes, residual
additions, concatenation; passing a normalisation is recorded) to the first nonlinearity -- a
module (``nn.ReLU``), a function (``F.relu``, ``torch.tanh``) or a method (``x.relu()``).
Reaching another weighted layer, the model's output or any other operation first means the layer
is followed by no nonlinearity (``linear``).
When tracing fails (data-dependent control flow, unsupported Python), the fallback is module order:
the next leaf module in ``named_modules`` that is a nonlinearity or a weighted layer.
"""

from __future__ import annotations

import dataclasses
import operator
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..activations import ActivationModule
from ..schemes import WEIGHTED


@dataclass(frozen=True)
class Follower:
    """The nonlinearity applied to a layer's output: an activation ``name`` (``linear`` for none)."""

    name: str
    negative_slope: float = 0.0
    via: str = ""
    normalized: bool = False  #: a normalisation layer (BatchNorm, LayerNorm, ...) sits in between

    @property
    def spec(self) -> str:
        """Activation spec string, e.g. ``relu`` or ``leaky_relu(negative_slope=0.2)``."""
        if self.name == "leaky_relu":
            return f"leaky_relu(negative_slope={self.negative_slope:g})"
        return self.name


@dataclass(frozen=True)
class Followers:
    """``layers`` maps each weighted module's name to its :class:`Follower`; ``traced`` says how."""

    layers: dict[str, Follower]
    traced: bool
    note: str = ""


_MODULES: dict[type[nn.Module], str] = {
    nn.ReLU: "relu",
    nn.ReLU6: "relu",
    nn.LeakyReLU: "leaky_relu",
    nn.PReLU: "leaky_relu",
    nn.ELU: "elu",
    nn.CELU: "elu",
    nn.SELU: "selu",
    nn.GELU: "gelu",
    nn.SiLU: "silu",
    nn.Mish: "mish",
    nn.Softplus: "softplus",
    nn.Tanh: "tanh",
    nn.Sigmoid: "sigmoid",
    nn.Softsign: "softsign",
}
_FUNCTIONS: dict[Any, str] = {
    torch.relu: "relu",
    torch.relu_: "relu",
    F.relu: "relu",
    F.relu_: "relu",
    F.relu6: "relu",
    F.leaky_relu: "leaky_relu",
    F.elu: "elu",
    F.selu: "selu",
    torch.selu: "selu",
    F.gelu: "gelu",
    F.silu: "silu",
    F.mish: "mish",
    F.softplus: "softplus",
    torch.tanh: "tanh",
    F.tanh: "tanh",
    torch.sigmoid: "sigmoid",
    F.sigmoid: "sigmoid",
    F.softsign: "softsign",
}
_METHODS = {"relu": "relu", "relu_": "relu", "tanh": "tanh", "tanh_": "tanh", "sigmoid": "sigmoid"}
_PASS_MODULES: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.modules.dropout._DropoutNd,
    nn.Flatten,
    nn.Unflatten,
    nn.Identity,
    nn.modules.pooling._MaxPoolNd,
    nn.modules.pooling._AvgPoolNd,
    nn.modules.pooling._AdaptiveAvgPoolNd,
    nn.modules.pooling._AdaptiveMaxPoolNd,
    nn.Upsample,
)
_PASS_FUNCTIONS: set[Any] = {
    operator.add,
    operator.iadd,
    operator.getitem,
    torch.add,
    torch.cat,
    torch.flatten,
    torch.reshape,
    torch.permute,
    torch.transpose,
    F.dropout,
    F.batch_norm,
    F.layer_norm,
    F.max_pool1d,
    F.max_pool2d,
    F.avg_pool1d,
    F.avg_pool2d,
    F.adaptive_avg_pool1d,
    F.adaptive_avg_pool2d,
}
_NORM_MODULES: tuple[type[nn.Module], ...] = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)
_NORM_FUNCTIONS: set[Any] = {F.batch_norm, F.layer_norm, F.group_norm, F.instance_norm}
_PASS_METHODS = {"view", "reshape", "flatten", "permute", "transpose", "contiguous", "squeeze", "unsqueeze"}
_PASS_METHODS |= {"add", "add_", "mean"}


def module_follower(mod: nn.Module, via: str) -> Follower | None:
    """The :class:`Follower` a nonlinearity module stands for, or ``None`` if it is not one."""
    if isinstance(mod, ActivationModule):  # initlab's own (the model families use it)
        if mod.act.name == "linear":
            return None
        slope = float(mod.act.params.get("negative_slope", 0.01)) if mod.act.name == "leaky_relu" else 0.0
        return Follower(mod.act.name, slope, via)
    for cls, name in _MODULES.items():
        if isinstance(mod, cls):
            if isinstance(mod, nn.LeakyReLU):
                return Follower(name, float(mod.negative_slope), via)
            if isinstance(mod, nn.PReLU):
                return Follower(name, float(mod.weight.detach().abs().mean()), via)
            return Follower(name, 0.0, via)
    return None


def followers(model: nn.Module) -> Followers:
    """For every Linear/ConvNd in ``model``, the nonlinearity that follows it (fx, else module order)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = torch.fx.symbolic_trace(model).graph
    except Exception as err:  # tracing runs arbitrary user code; any failure means "fall back"
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        note = f"torch.fx could not trace the model ({type(err).__name__}: {first[:120]}); used module order"
        return Followers(_by_order(model), traced=False, note=note)
    return Followers(_by_graph(model, graph), traced=True)


def _by_graph(model: nn.Module, graph: torch.fx.Graph) -> dict[str, Follower]:
    mods = dict(model.named_modules())
    out: dict[str, Follower] = {}
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(mods.get(str(node.target)), WEIGHTED):
            continue
        name = str(node.target)
        if name not in out:  # a module called twice keeps its first call's follower
            out[name] = _walk(node, mods)
    for name, mod in mods.items():  # weighted modules never called in the traced forward
        if isinstance(mod, WEIGHTED) and name not in out:
            out[name] = Follower("linear", via="not called in the traced forward")
    return out


def _walk(start: torch.fx.Node, mods: dict[str, nn.Module]) -> Follower:
    seen: set[torch.fx.Node] = set()
    frontier = [(user, False) for user in start.users]  # (node, normalised on the way)
    stop = ""
    while frontier:
        node, normed = frontier.pop(0)
        if node in seen:
            continue
        seen.add(node)
        found = _as_follower(node, mods)
        if found is not None:
            return dataclasses.replace(found, normalized=normed)
        if _passes(node, mods):
            normed = normed or _normalises(node, mods)
            frontier.extend((user, normed) for user in node.users)
        elif not stop:
            stop = _describe(node, mods)
    return Follower("linear", via=stop or "nothing")


def _normalises(node: torch.fx.Node, mods: dict[str, nn.Module]) -> bool:
    if node.op == "call_module":
        return isinstance(mods.get(str(node.target)), _NORM_MODULES)
    return node.op == "call_function" and node.target in _NORM_FUNCTIONS


def _as_follower(node: torch.fx.Node, mods: dict[str, nn.Module]) -> Follower | None:
    if node.op == "call_module":
        mod = mods.get(str(node.target))
        return None if mod is None else module_follower(mod, _describe(node, mods))
    if node.op == "call_function" and node.target in _FUNCTIONS:
        name = _FUNCTIONS[node.target]
        if name == "leaky_relu":
            slope = node.kwargs.get("negative_slope", node.args[1] if len(node.args) > 1 else 0.01)
            return Follower(
                name, float(slope) if isinstance(slope, int | float) else 0.01, _describe(node, mods)
            )
        return Follower(name, 0.0, _describe(node, mods))
    if node.op == "call_method" and node.target in _METHODS:
        return Follower(_METHODS[str(node.target)], 0.0, _describe(node, mods))
    return None


def _passes(node: torch.fx.Node, mods: dict[str, nn.Module]) -> bool:
    if node.op == "call_module":
        return isinstance(mods.get(str(node.target)), _PASS_MODULES)
    if node.op == "call_function":
        return node.target in _PASS_FUNCTIONS
    if node.op == "call_method":
        return node.target in _PASS_METHODS
    return False


def _describe(node: torch.fx.Node, mods: dict[str, nn.Module]) -> str:
    if node.op == "call_module":
        return f"{type(mods[str(node.target)]).__name__} {str(node.target)!r}"
    if node.op == "output":
        return "the model's output"
    target = node.target
    name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
    return f"{'.' if node.op == 'call_method' else ''}{name}()"


def _leaves(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    for name, mod in model.named_modules():
        if next(mod.children(), None) is None:
            yield name, mod


def _by_order(model: nn.Module) -> dict[str, Follower]:
    leaves = list(_leaves(model))
    out: dict[str, Follower] = {}
    for i, (name, mod) in enumerate(leaves):
        if not isinstance(mod, WEIGHTED):
            continue
        out[name] = Follower("linear", via="the end of the model (module order)")
        normed = False
        for other, nxt in leaves[i + 1 :]:
            if isinstance(nxt, WEIGHTED):
                out[name] = Follower("linear", via=f"{type(nxt).__name__} {other!r} (module order)")
                break
            found = module_follower(nxt, f"{type(nxt).__name__} {other!r} (module order)")
            if found is not None:
                out[name] = dataclasses.replace(found, normalized=normed)
                break
            normed = normed or isinstance(nxt, _NORM_MODULES)
    return out
