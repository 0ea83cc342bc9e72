"""The ensemble: M copies of any ``nn.Module`` architecture, parameters stacked, run as one computation.

Every parameter and buffer of the M models is stacked with a leading model axis ``M``
(:func:`torch.func.stack_module_state`); a forward pass of all M models on the **same** input batch
is one call of ``torch.func.vmap(functional_call)`` over that axis (the ``"vmap"`` strategy)::

    params[name]: (M, *shape)       buffers[name]: (M, *shape)
    x: (B, ...) shared by every model  ->  out: (M, B, ...)

so a Linear layer becomes one batched matmul and a convolution one grouped convolution (PyTorch's
batching rule for ``conv2d`` with a batched weight folds the model axis into the groups).
BatchNorm keeps running statistics per model (the stacked buffers are updated in place through
vmap), and random layers (Dropout) draw different randomness for every model
(``vmap(..., randomness="different")``, from the device's default generator).

Execution strategy (:mod:`initlab.ensemble.strategy`, ``strategy=`` on the constructor and
:meth:`Ensemble.from_factory`, or ``ensemble.strategy = ...`` later): ``"vmap"`` as above;
``"loop"`` calls ``functional_call`` once per model on views of the same stacked tensors (same
results up to floating-point reassociation, gradients into the stacked parameters, running
statistics into the stacked buffers, per-model Dropout); ``"auto"`` (the default) picks ``"loop"``
for conv nets on the CPU -- where grouped convolutions over M-times larger activations are slower
than M ordinary ones -- and ``"vmap"`` otherwise (MLPs, transformers, any model on a GPU). The
measured ratios are in :mod:`initlab.ensemble.strategy`.

Initial weights: :meth:`Ensemble.from_factory` builds model ``m`` on the CPU, with the global RNG
forked and seeded from ``seeds[m]`` while the factory runs (so a factory's own default init is
reproducible and the caller's RNG state is untouched), then draws its weights with ``init(model,
inits[m], generator=Generator().manual_seed(seeds[m]))`` -- layer by layer, weight then bias, as
:func:`initlab.schemes.init_` does -- and only then moves the stack to the device. The same
``(spec, seed)`` therefore gives bit-identical initial weights on every device.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import stack_module_state

from ..core.errors import InitlabError
from ..schemes import Scheme
from ..schemes import init_ as scheme_init_
from .strategy import Strategy, check_strategy, resolve_strategy, run_loop, run_vmap

#: ``init(model, spec, generator=...)``: fills a freshly built model in place (default:
#: :func:`initlab.schemes.init_`; studies pass :func:`initlab.tools.init_` to allow ``"auto"``).
InitFn = Callable[..., Any]


def _signature(model: nn.Module) -> list[tuple[str, tuple[int, ...], torch.dtype]]:
    named = [*model.named_parameters(), *model.named_buffers()]
    return [(n, tuple(t.shape), t.dtype) for n, t in named]


class Ensemble:
    """M models of one architecture with stacked parameters ``params[name]: (M, *shape)``.

    Build it from ready models (:class:`Ensemble` ``(models)``, all of one structure) or from a
    factory, specs and seeds (:meth:`from_factory`). Call it on a batch shared by every model:
    ``ensemble(x: (B, ...)) -> (M, B, ...)``. ``train()`` / ``eval()`` switch the mode of every model.
    ``strategy``: ``"auto"`` (default), ``"vmap"`` or ``"loop"`` (see the module doc).
    """

    def __init__(
        self,
        models: Sequence[nn.Module],
        *,
        device: torch.device | str | None = None,
        strategy: str = "auto",
    ) -> None:
        check_strategy(strategy)
        models = list(models)
        if not models:
            raise InitlabError("an ensemble needs at least one model")
        for i, m in enumerate(models):
            if not isinstance(m, nn.Module):
                raise InitlabError(f"model {i} is a {type(m).__name__}, not an nn.Module")
        first = _signature(models[0])
        if not any(True for _ in models[0].parameters()):
            name = type(models[0]).__name__
            raise InitlabError(f"{name} has no parameters: nothing to initialise or train")
        for i, m in enumerate(models[1:], start=1):
            sig = _signature(m)
            if sig != first:
                pairs = zip(first, sig, strict=False)
                diff = next(
                    (f"{a[0]} {a[1]} {a[2]} vs {b[0]} {b[1]} {b[2]}" for a, b in pairs if a != b),
                    f"{len(first)} vs {len(sig)} tensors",
                )
                raise InitlabError(
                    f"the models of an ensemble must have one architecture, but model {i} differs from "
                    f"model 0: {diff}"
                )
        dev = torch.device(device) if device is not None else next(models[0].parameters()).device
        params, buffers = stack_module_state(models)  # type: ignore[arg-type]
        self.params: dict[str, Tensor] = {
            k: v.detach().to(dev).requires_grad_(True) for k, v in params.items()
        }  # each (M, *shape)
        self.buffers: dict[str, Tensor] = {k: v.to(dev) for k, v in buffers.items()}  # each (M, *shape)
        self._template = copy.deepcopy(models[0]).cpu()  # model 0 on the CPU (for model(m))
        self.base = copy.deepcopy(models[0]).to(dev)  # the module functional_call runs
        self.M = len(models)
        self.device = dev
        self.training = models[0].training
        self.base.train(self.training)
        self._requested = strategy
        self._strategy: Strategy = resolve_strategy(strategy, self.base, dev)

    @property
    def strategy(self) -> Strategy:
        """How the models run now: ``"vmap"`` or ``"loop"`` (``"auto"`` resolved for the device).

        Set it to ``"auto"``, ``"vmap"`` or ``"loop"``; ``"auto"`` is resolved again by :meth:`to`.
        """
        return self._strategy

    @strategy.setter
    def strategy(self, strategy: str) -> None:
        check_strategy(strategy)
        self._requested = strategy
        self._strategy = resolve_strategy(strategy, self.base, self.device)

    @classmethod
    def from_factory(
        cls,
        factory: Callable[[], nn.Module],
        inits: Sequence[str | Scheme],
        seeds: Sequence[int],
        *,
        init: InitFn | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
        strategy: str = "auto",
    ) -> Ensemble:
        """Model ``m`` = ``factory()``, weights from ``inits[m]`` drawn from ``seeds[m]`` (see module doc)."""
        if len(inits) != len(seeds):
            raise InitlabError(f"{len(inits)} init specs but {len(seeds)} seeds; give one seed per model")
        check_strategy(strategy)
        fill = init if init is not None else scheme_init_
        models: list[nn.Module] = []
        for spec, seed in zip(inits, seeds, strict=True):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                model = factory()
            if not isinstance(model, nn.Module):
                raise InitlabError(f"the model factory returned a {type(model).__name__}, not an nn.Module")
            model = model.to(device="cpu", dtype=dtype)
            fill(model, spec, generator=torch.Generator().manual_seed(int(seed)))
            models.append(model)
        return cls(models, device=device, strategy=strategy)

    # -- running ------------------------------------------------------------------------------------

    def forward(self, x: Tensor) -> Tensor:
        """``x: (B, ...)`` shared by every model -> ``(M, B, ...)``, run by :attr:`strategy`."""
        if self._strategy == "loop":
            return run_loop(self.base, self.params, self.buffers, x)  # (M, B, ...)
        return run_vmap(self.base, self.params, self.buffers, x)  # (M, B, ...)

    __call__ = forward

    def train(self, mode: bool = True) -> Ensemble:
        """Training mode (BatchNorm batch statistics, Dropout on) for every model."""
        self.training = mode
        self.base.train(mode)
        return self

    def eval(self) -> Ensemble:
        """Evaluation mode (BatchNorm running statistics, Dropout off) for every model."""
        return self.train(False)

    # -- access -------------------------------------------------------------------------------------

    def parameters(self) -> list[Tensor]:
        """The stacked parameters, each ``(M, *shape)``, in the models' ``named_parameters`` order."""
        return list(self.params.values())

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        yield from self.params.items()

    def model(self, m: int) -> nn.Module:
        """Model ``m`` as an ordinary module (a CPU copy with its own parameters and buffers)."""
        if not 0 <= m < self.M:
            raise InitlabError(f"model index {m} out of range for an ensemble of {self.M}")
        mod = copy.deepcopy(self._template)
        stacked = {**self.params, **self.buffers}
        with torch.no_grad():
            for name, t in (*mod.named_parameters(), *mod.named_buffers()):
                t.copy_(stacked[name][m])
        mod.train(self.training)
        return mod

    def to(self, device: torch.device | str) -> Ensemble:
        """Move every stacked tensor (and the module functional_call runs) to ``device``, in place."""
        dev = torch.device(device)
        self.params = {k: v.detach().to(dev).requires_grad_(True) for k, v in self.params.items()}
        self.buffers = {k: v.to(dev) for k, v in self.buffers.items()}
        self.base = self.base.to(dev)
        self.device = dev
        self._strategy = resolve_strategy(self._requested, self.base, dev)
        return self
