"""``init_``: the library's one entry point for filling tensors and modules, ``"auto"`` included.

``init_(target, spec)`` with a catalogue spec is :func:`initlab.schemes.init_`; ``spec="auto"`` on a
module chooses each layer's scheme from the nonlinearity that follows it (:func:`auto_init_`, which
traces the model, hence this layer) and returns its per-parameter records.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..core.errors import InitlabError
from ..schemes import ParamInit, Scheme
from ..schemes import init_ as scheme_init_
from ._autoinit import auto_init_


def init_(
    target: Tensor | nn.Module,
    spec: str | Scheme,
    *,
    generator: torch.Generator | None = None,
    example: Any = None,
) -> list[ParamInit]:
    """Fill ``target`` in place with ``spec`` (a catalogue spec, a :class:`Scheme` or ``"auto"``).

    ``example`` (``"auto"`` only): an input for one forward pass, so a model ``torch.fx`` cannot trace
    is followed as it runs (:func:`auto_init_`); ignored by catalogue specs.

    >>> import torch, initlab
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    >>> [r.scheme for r in init_(net, "auto", generator=torch.Generator().manual_seed(0))][::2]
    ['he_normal', 'xavier_normal']
    """
    if isinstance(spec, str) and spec.strip() == "auto":
        if not isinstance(target, nn.Module):
            raise InitlabError(f"init_ spec 'auto' needs an nn.Module, got {type(target).__name__}")
        return auto_init_(target, example=example, generator=generator).records
    return scheme_init_(target, spec, generator=generator)
