"""Which nonlinearity follows each weighted layer of a model (for ``init_(model, "auto")``, audit, LSUV).

The layers are those of :func:`._layers.weight_slots` (Linear, ConvNd, Hugging Face's ``Conv1D``,
``nn.MultiheadAttention``'s q/k/v blocks and its output projection). The order the network runs
them is taken, in this order of preference, from:

1. ``fx`` -- ``torch.fx`` symbolic tracing (every branch of the code; Conv1D, MultiheadAttention and
   recognised activation modules are kept as leaves);
2. ``forward`` -- where fx cannot trace (data-dependent ``if``, every Hugging Face model) and an
   ``example`` input is given: one real forward pass (``eval()`` mode, no gradients) recorded by hooks
   on the leaf modules and a ``torch.overrides.TorchFunctionMode`` for the functions called between
   them (``F.relu``, ``torch.tanh``, ``x.sigmoid()``, additions, reshapes ...), turned into the same
   data-flow graph fx would give: the order and data flow the network *actually* ran;
3. ``definition`` -- no example input: module definition order (the next leaf module in
   ``named_modules`` that is a nonlinearity or a weighted layer); a guess, said so in the note.

From each weighted layer's output the graph is walked forward through *transparent* operations
(normalisation, dropout, pooling, reshapes, residual additions, concatenation; passing a
normalisation is recorded) to the first nonlinearity -- a module (``nn.ReLU``), a function
(``F.relu``, ``torch.tanh``) or a method (``x.relu()``). Reaching another weighted layer, the model's
output or any other operation first means the layer is followed by no nonlinearity (``linear``).
The q/k/v blocks of an attention feed its dot products and weighted sums (``linear``); its output
projection is followed by whatever follows the attention module.

A module is a nonlinearity by its class (``nn.ReLU`` ...) or, for any other parameter-free leaf
module, by what it computes (:func:`initlab.activations.match_activation`: HF's ``GELUActivation``,
``NewGELUActivation``, timm's ``Swish`` ...). An elementwise module that matches no registered
activation is reported as ``unknown`` with its numerical gain, not taken for ``linear``.
"""

from __future__ import annotations

import dataclasses
import operator
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..activations import ActivationModule, match_activation
from ._forward import record_forward
from ._layers import LAYER_KINDS, is_conv1d, weight_slots

Order = Literal["fx", "forward", "definition"]


@dataclass(frozen=True)
class Follower:
    """The nonlinearity applied to a layer's output: an activation ``name`` (``linear`` for none)."""

    name: str
    negative_slope: float = 0.0
    via: str = ""
    normalized: bool = False  #: a normalisation layer (BatchNorm, LayerNorm, ...) sits in between
    gain: float | None = None  #: for ``unknown``: its numerical gain ``1 / sqrt(E[phi(z)^2])``

    @property
    def spec(self) -> str:
        """Activation spec string, e.g. ``relu`` or ``leaky_relu(negative_slope=0.2)``."""
        if self.name == "leaky_relu":
            return f"leaky_relu(negative_slope={self.negative_slope:g})"
        if self.name == "unknown":
            return f"unknown(gain={self.gain:.4g})"
        return self.name


@dataclass(frozen=True)
class Followers:
    """``layers`` maps each layer slot's name to its :class:`Follower`; ``order`` says how it was found.

    ``traced``: the order was observed (``fx`` or ``forward``), not guessed from definitions.
    ``unknown``: the nonlinearities met that no registered activation matches (described).
    """

    layers: dict[str, Follower]
    traced: bool
    note: str = ""
    order: Order = "fx"
    unknown: tuple[str, ...] = ()


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
    nn.Hardswish: "hardswish",
    nn.Hardsigmoid: "hardsigmoid",
    nn.Hardtanh: "hardtanh",
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
    F.hardswish: "hardswish",
    F.hardsigmoid: "hardsigmoid",
    F.hardtanh: "hardtanh",
    F.softplus: "softplus",
    torch.tanh: "tanh",
    F.tanh: "tanh",
    torch.sigmoid: "sigmoid",
    F.sigmoid: "sigmoid",
    F.softsign: "softsign",
}
_METHODS = {"relu": "relu", "relu_": "relu", "tanh": "tanh", "tanh_": "tanh", "sigmoid": "sigmoid"}
_METHODS |= {"sigmoid_": "sigmoid"}
_PASS_MODULES: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.RMSNorm,
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
_NORM_MODULES: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.RMSNorm,
)
_NORM_FUNCTIONS: set[Any] = {F.batch_norm, F.layer_norm, F.group_norm, F.instance_norm, F.rms_norm}
_PASS_METHODS = {"view", "reshape", "flatten", "permute", "transpose", "contiguous", "squeeze", "unsqueeze"}
_PASS_METHODS |= {"add", "add_", "mean", "__add__", "__iadd__", "__radd__", "view_as", "expand"}
_PASS_FUNCTIONS |= {F.group_norm, F.instance_norm, F.rms_norm, F.dropout1d, F.dropout2d, F.dropout3d}


def module_follower(mod: nn.Module, via: str) -> Follower | None:
    """The :class:`Follower` a nonlinearity module stands for, or ``None`` if it is not one.

    Known classes first; any other parameter-free leaf module by what it computes
    (:func:`initlab.activations.match_activation`), ``unknown`` if elementwise but unmatched.
    """
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
    found = _probe(mod)
    if found is None or not found.elementwise:
        return None
    if found.activation is None:
        return Follower("unknown", 0.0, via, gain=found.gain)
    return Follower(found.activation.name, 0.0, via)


_PROBED: weakref.WeakKeyDictionary[nn.Module, Any] = weakref.WeakKeyDictionary()


def _probe(mod: nn.Module) -> Any:
    """:func:`match_activation` on a parameter-free leaf module (in eval mode), else ``None``.

    Cached per module for the duration of one :func:`followers` call (it clears the cache).
    """
    if isinstance(mod, _PASS_MODULES) or next(mod.children(), None) is not None:
        return None
    if any(True for _ in mod.parameters(recurse=False)) or any(True for _ in mod.buffers(recurse=False)):
        return None
    if mod in _PROBED:
        return _PROBED[mod]
    mode = mod.training
    mod.training = False  # a custom dropout must not draw from the global RNG
    try:
        found = match_activation(mod)
    finally:
        mod.training = mode
    _PROBED[mod] = found
    return found


def _passes_through(mod: nn.Module) -> bool:
    """A leaf module that is an identity on its input (by class, or by what it computes)."""
    if isinstance(mod, _PASS_MODULES):
        return True
    found = _probe(mod)
    return found is not None and not found.elementwise and found.activation is not None


class _Tracer(torch.fx.Tracer):
    """fx tracer that keeps layer modules (Conv1D, MultiheadAttention) and activation modules whole."""

    def __init__(self, keep: set[nn.Module]) -> None:
        super().__init__()
        self.keep = keep

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return m in self.keep or is_conv1d(m) or super().is_leaf_module(m, module_qualified_name)


def followers(model: nn.Module, example: Any = None) -> Followers:
    """For every layer slot in ``model``, the nonlinearity that follows it (module docstring).

    ``example``: an input for one forward pass, used when fx cannot trace: a tensor, a tuple/list
    (positional arguments) or a dict (keyword arguments, e.g. ``{"input_ids": ids}``).
    """
    _PROBED.clear()
    keep: set[nn.Module] = {  # probed before tracing: fx patches Module.__call__ while it traces
        m
        for m in model.modules()
        if isinstance(m, nn.MultiheadAttention)
        or (next(m.children(), None) is None and module_follower(m, "") is not None)
    }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = _Tracer(keep).trace(model)
    except Exception as err:  # tracing runs arbitrary user code; any failure means "fall back"
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        why = f"torch.fx could not trace the model ({type(err).__name__}: {first[:120]})"
        if example is not None:
            graph = record_forward(model, example)
            note = f"{why}; used the order of one forward pass on the example input"
            return _result(model, graph, "forward", note)
        note = (
            f"{why}; used module order: the order was guessed from the definitions because no example "
            f"input was given (pass example=... to follow a real forward pass)"
        )
        layers = _by_order(model)
        unknown = tuple(sorted({f.via for f in layers.values() if f.name == "unknown"}))
        return Followers(layers, traced=False, note=note, order="definition", unknown=unknown)
    return _result(model, graph, "fx", "")


def _result(model: nn.Module, graph: torch.fx.Graph, order: Order, note: str) -> Followers:
    layers = _by_graph(model, graph)
    unknown = tuple(sorted({f.via for f in layers.values() if f.name == "unknown"}))
    if unknown:
        extra = (
            f"activations initlab does not know (given He with their numerical gain): {', '.join(unknown)}"
        )
        note = f"{note}; {extra}" if note else extra
    return Followers(layers, traced=True, note=note, order=order, unknown=unknown)


def _by_graph(model: nn.Module, graph: torch.fx.Graph) -> dict[str, Follower]:
    mods = dict(model.named_modules())
    slots = [s for s in weight_slots(model) if s.kind in LAYER_KINDS]
    by_module: dict[str, list[str]] = {}
    for slot in slots:
        by_module.setdefault(slot.module, []).append(slot.name)
    out: dict[str, Follower] = {}
    for node in graph.nodes:
        if node.op != "call_module":
            continue
        name = str(node.target)
        mod = mods.get(name)
        if isinstance(mod, nn.MultiheadAttention):
            after = _walk(node, mods)
            for slot_name in by_module.get(name, []):
                out.setdefault(slot_name, Follower("linear", via=f"the attention scores/values of {name!r}"))
            out.setdefault(f"{name}.out_proj" if name else "out_proj", after)
        elif name in by_module and name not in out:  # a module called twice keeps its first call's follower
            out[name] = _walk(node, mods)
    for slot in slots:  # layers never called in the traced forward
        out.setdefault(slot.name, Follower("linear", via="not called in the traced forward"))
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
        if name == "gelu" and node.kwargs.get("approximate") == "tanh":
            name = "gelu_tanh"
        return Follower(name, 0.0, _describe(node, mods))
    if node.op == "call_method" and node.target in _METHODS:
        return Follower(_METHODS[str(node.target)], 0.0, _describe(node, mods))
    return None


def _passes(node: torch.fx.Node, mods: dict[str, nn.Module]) -> bool:
    if node.op == "call_module":
        mod = mods.get(str(node.target))
        return mod is not None and _passes_through(mod)
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
        if next(mod.children(), None) is None or isinstance(mod, nn.MultiheadAttention):
            yield name, mod


def _by_order(model: nn.Module) -> dict[str, Follower]:
    slots = [s for s in weight_slots(model) if s.kind in LAYER_KINDS]
    layer_mods = {s.module for s in slots}
    leaves = list(_leaves(model))
    out: dict[str, Follower] = {}
    for i, (name, mod) in enumerate(leaves):
        if isinstance(mod, nn.MultiheadAttention):
            for slot in slots:
                if slot.module == name:
                    out[slot.name] = Follower("linear", via=f"the attention scores/values of {name!r}")
            continue
        if name not in layer_mods:
            continue
        out[name] = Follower("linear", via="the end of the model (module order)")
        normed = False
        for other, nxt in leaves[i + 1 :]:
            if other in layer_mods:
                out[name] = Follower("linear", via=f"{type(nxt).__name__} {other!r} (module order)")
                break
            found = module_follower(nxt, f"{type(nxt).__name__} {other!r} (module order)")
            if found is not None:
                out[name] = dataclasses.replace(found, normalized=normed)
                break
            normed = normed or isinstance(nxt, _NORM_MODULES)
    for slot in slots:
        out.setdefault(slot.name, Follower("linear", via="the end of the model (module order)"))
    return out
