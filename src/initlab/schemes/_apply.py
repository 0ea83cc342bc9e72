"""``init_``: apply a scheme to a tensor or to every Linear/ConvNd weight of a module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..core.errors import InitlabError
from ..core.io import to_jsonable
from ._fans import fans
from ._laws import Law
from ._marks import WEIGHTED
from ._registry import Scheme, scheme


@dataclass(frozen=True)
class ParamInit:
    """What ``init_`` did to one parameter: analytic ``std`` and the ``empirical_std`` it got."""

    name: str
    shape: tuple[int, ...]
    fan_in: int | None
    fan_out: int | None
    scheme: str
    std: float
    empirical_std: float

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = to_jsonable(self)
        return out


def _fill(t: Tensor, values: Tensor) -> None:
    with torch.no_grad():
        t.copy_(values)


def _draw(law: Law, like: Tensor, generator: torch.Generator | None) -> Tensor:
    return law.sample(tuple(like.shape), generator=generator, dtype=like.dtype, device=like.device)


def _record(name: str, t: Tensor, sch: Scheme, std: float) -> ParamInit:
    shape = tuple(t.shape)
    fi, fo = fans(shape) if t.dim() >= 2 else (None, None)
    emp = float(t.detach().double().std(unbiased=False)) if t.numel() > 0 else 0.0
    return ParamInit(name, shape, fi, fo, sch.spec, std, emp)


def init_(
    target: Tensor | nn.Module, spec: str | Scheme, *, generator: torch.Generator | None = None
) -> list[ParamInit]:
    """Fill ``target`` in place with ``spec`` and return a per-parameter account.

    A tensor is filled directly (a module-aware scheme -- ``zero_residual``, ``fixup``,
    ``depth_scaled`` -- refuses a bare tensor: it needs the residual marks). A module gets every
    ``nn.Linear`` / ``nn.ConvNd`` weight drawn from the scheme (in ``named_modules`` order), and its
    bias set to zero unless the scheme defines a bias law (``torch_default``: ``U(+-1/sqrt(fan_in))``,
    drawn right after its weight as PyTorch does).
    A module-aware scheme's own laws (:meth:`Scheme.module_laws`) replace the scheme's law for the
    weights they name, in the same order; other parameters they name (a norm's gain) come last.
    Randomness comes only from ``generator``. (``initlab.init_`` also takes ``spec="auto"``: that is
    handled a layer above, in :func:`initlab.tools.init_`, since it needs to trace the model.)
    """
    sch = scheme(spec)
    if isinstance(target, Tensor):
        if sch.info.module_aware:
            raise InitlabError(
                f"scheme {sch.text!r} needs the module structure (which layers end a residual branch): "
                f"call init_ on the whole model, not on one tensor of shape {tuple(target.shape)}"
            )
        law = sch.law(tuple(target.shape))
        _fill(target, _draw(law, target, generator))
        return [_record("tensor", target, sch, law.std)]
    if not isinstance(target, nn.Module):
        raise InitlabError(f"init_ needs a Tensor or an nn.Module, got {type(target).__name__}")
    # Everything is drawn before anything is written: a law that cannot be drawn (values that
    # overflow the dtype, a meta tensor) leaves the module as it was.
    drawn: list[tuple[str, Tensor, Tensor, float]] = []  # (name, parameter, values, analytic std)
    special = sch.module_laws(target)  # a module-aware scheme's laws for the layers its marks single out
    for mod_name, mod in target.named_modules():
        if not isinstance(mod, WEIGHTED):
            continue
        w = mod.weight
        prefix = f"{mod_name}." if mod_name else ""
        key = prefix + "weight"
        law = special.pop(key) if key in special else sch.law(tuple(w.shape))
        drawn.append((prefix + "weight", w, _draw(law, w, generator), law.std))
        b = mod.bias
        if b is not None:
            blaw = sch.bias_law(tuple(w.shape))
            if blaw is None:
                drawn.append((prefix + "bias", b, torch.zeros_like(b), 0.0))
            else:
                drawn.append((prefix + "bias", b, _draw(blaw, b, generator), blaw.std))
    if not drawn:
        raise InitlabError(f"{type(target).__name__} has no nn.Linear or nn.ConvNd layer to initialise")
    params = dict(target.named_parameters())
    for name, law in special.items():  # other parameters the rule names (a branch norm's gain), in order
        if name not in params:
            raise InitlabError(f"scheme {sch.text!r} names {name!r}, which is not a parameter of the model")
        drawn.append((name, params[name], _draw(law, params[name], generator), law.std))
    for _, t, values, _ in drawn:
        _fill(t, values)
    return [_record(name, t, sch, std) for name, t, _, std in drawn]
