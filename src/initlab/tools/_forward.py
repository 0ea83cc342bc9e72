"""One real forward pass, recorded as the data-flow graph it ran (for models ``torch.fx`` cannot trace).

:func:`record_forward` runs ``model(example)`` once (``eval()`` mode, no gradients, modes restored)
with hooks on its *units* -- leaf modules, plus Hugging Face's ``Conv1D`` and
``nn.MultiheadAttention``, whose insides are not looked at -- and a
``torch.overrides.TorchFunctionMode`` that sees every torch function and tensor method called
*between* units (``F.relu``, ``torch.tanh``, ``x.sigmoid()``, ``+``, ``view`` ...; the calls inside a
unit are skipped). Each call becomes a node of a ``torch.fx.Graph`` (``call_module`` with the module's
name, ``call_function`` with the function, ``call_method`` with the method's name) whose arguments
are the nodes that produced its tensor arguments, matched by tensor identity (a weak-keyed map, so a
freed tensor's id is never confused with a new one). The result reads exactly like an fx trace of
the path the data took, so the same walk finds each layer's nonlinearity.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode
from torch.utils.weak import WeakTensorKeyDictionary

from ..core.errors import InitlabError
from ._layers import is_conv1d

_SCALARS = (int, float, bool, str, type(None), slice, torch.dtype)


def _is_unit(mod: nn.Module) -> bool:
    return next(mod.children(), None) is None or is_conv1d(mod) or isinstance(mod, nn.MultiheadAttention)


class _Recorder(TorchFunctionMode):
    """Builds the graph: module hooks add unit calls, ``__torch_function__`` the calls between units."""

    def __init__(self, names: dict[nn.Module, str]) -> None:
        super().__init__()
        self.graph = torch.fx.Graph()
        self.names = names
        self.producer: WeakTensorKeyDictionary = WeakTensorKeyDictionary()
        self.depth = 0
        self.pending: list[tuple[Any, Any]] = []  # (mapped args, mapped kwargs) of the open unit calls

    def arg(self, a: Any) -> Any:
        """A call's argument with tensors replaced by the nodes that produced them (else ``None``)."""
        if isinstance(a, Tensor):
            return self.producer.get(a)  # type: ignore[no-untyped-call]
        if isinstance(a, list | tuple):
            return (
                type(a)(self.arg(x) for x in a)
                if not hasattr(a, "_fields")
                else tuple(self.arg(x) for x in a)
            )
        if isinstance(a, dict):
            return {str(k): self.arg(v) for k, v in a.items()}
        return a if isinstance(a, _SCALARS) else None

    def produced(self, out: Any, node: torch.fx.Node) -> bool:
        """Map every tensor in ``out`` to ``node``; whether there was one."""
        if isinstance(out, Tensor):
            self.producer[out] = node
            return True
        if isinstance(out, list | tuple):
            return any([self.produced(o, node) for o in out])
        if isinstance(out, dict):
            return any([self.produced(o, node) for o in out.values()])
        return False

    def pre(self, mod: nn.Module, args: Any, kwargs: Any) -> None:
        if self.depth == 0:
            self.pending.append((self.arg(tuple(args)), self.arg(dict(kwargs))))
        self.depth += 1

    def post(self, mod: nn.Module, args: Any, kwargs: Any, out: Any) -> None:
        self.depth -= 1
        if self.depth == 0:
            a, kw = self.pending.pop()
            node = self.graph.create_node("call_module", self.names[mod], a, kw)
            self.produced(out, node)

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.depth == 0 and _has_tensor(out):
            name = getattr(func, "__name__", "")
            qual = getattr(func, "__qualname__", "")
            a, kw = self.arg(tuple(args)), self.arg(dict(kwargs))
            if name == "__getitem__":
                node = self.graph.create_node("call_function", operator.getitem, a, kw)
            elif qual.startswith(("TensorBase.", "Tensor.")):
                node = self.graph.create_node("call_method", name, a, kw)
            else:
                node = self.graph.create_node("call_function", func, a, kw)
            self.produced(out, node)
        return out


def _has_tensor(out: Any) -> bool:
    if isinstance(out, Tensor):
        return True
    if isinstance(out, list | tuple):
        return any(_has_tensor(o) for o in out)
    return False


def record_forward(model: nn.Module, example: Any) -> torch.fx.Graph:
    """The data-flow graph of ``model`` run once on ``example`` (module docstring)."""
    names = {m: n for n, m in model.named_modules() if _is_unit(m)}
    rec = _Recorder(names)
    modes = {m: m.training for m in model.modules()}
    handles = []
    try:
        for mod in names:
            handles.append(mod.register_forward_pre_hook(rec.pre, with_kwargs=True))
            handles.append(mod.register_forward_hook(rec.post, with_kwargs=True, always_call=True))
        model.eval()
        with torch.no_grad(), rec:
            if isinstance(example, dict):
                out = model(**example)
            elif isinstance(example, list | tuple):
                out = model(*example)
            else:
                out = model(example)
        rec.graph.output(rec.arg(out if isinstance(out, Tensor | list | tuple | dict) else None))
    except InitlabError:
        raise
    except Exception as err:
        raise InitlabError(
            f"the forward pass on the example input failed: {type(err).__name__}: {str(err)[:200]}"
        ) from err
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
    return rec.graph
