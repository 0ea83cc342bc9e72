"""A sweep on a Ray cluster: one Ray task per ensemble, rows streamed back to the driver's store.

:class:`RayRunner` is a :class:`~.sweep_runners.Runner`: it connects to Ray (``address="auto"``: the
cluster this machine belongs to -- ``RAY_ADDRESS`` or one started with ``ray start`` -- or else a
local Ray instance started for the sweep and shut down after it; ``HOST:PORT`` or
``ray://HOST:PORT``: that cluster; a Ray connection made before, e.g. ``ray.init()`` in a notebook,
is used as it is), puts each dataset in the object store once, and submits every ensemble as a task
declaring ``num_cpus`` and ``num_gpus`` (its torch threads = its CPUs). The workers return rows; the
driver stores each ensemble's rows as its task finishes (the store has one writer, the driver) and
ticks the progress. A task whose worker dies (killed, out of memory, node lost) is retried up to
``retries`` times by Ray; the store's ``INSERT OR IGNORE`` on the cell's key keeps every cell once
however often it was trained. ``should_stop`` (Ctrl-C) stores the ensembles already finished and
cancels the rest (their workers killed, so a stopped sweep is over at once).

Ray is optional (``pip install initlab[ray]``): this module imports it only when a runner runs, so
a sweep without ``--ray`` never imports Ray.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import InitlabError
from ..data import Dataset
from .config import ShouldStop
from .sweep_runners import Chunk, Rows, TrainChunk

#: Seconds to wait for a cluster's address to answer before saying it is unreachable.
CONNECT_TIMEOUT = 5.0
#: Seconds between two looks at ``should_stop`` while tasks run.
POLL = 0.2
#: The Ray task's name (shown by ``ray list tasks``, the dashboard, and as the worker's process title).
TASK_NAME = "initlab.sweep"
#: Devices a task may ask for: its GPU is the one Ray gives it, so ``cuda:N`` makes no sense there.
DEVICES = ("cpu", "cuda", "auto")
#: The error without Ray (checked before a run, and again where it is imported).
MISSING = "--ray needs Ray, which is not installed: pip install 'initlab[ray]'"


def check_ray(address: str, cpus: float, gpus: float | None, retries: int, device: str) -> None:
    """Raise ``InitlabError`` for the first bad Ray setting, or if Ray is not installed (no import)."""
    if address != "auto":
        split_address(address)
    if isinstance(cpus, bool) or not isinstance(cpus, int | float) or not cpus > 0:
        raise InitlabError(f"ray_cpus must be > 0, got {cpus!r}")
    if gpus is not None and (isinstance(gpus, bool) or not isinstance(gpus, int | float) or gpus < 0):
        raise InitlabError(f"ray_gpus must be >= 0, got {gpus!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InitlabError(f"ray_retries must be a non-negative integer, got {retries!r}")
    if device.strip().lower() not in DEVICES:
        raise InitlabError(
            f"with --ray the device is one of {', '.join(DEVICES)} (a task's GPU is the one Ray gives "
            f"it), got {device!r}"
        )
    if importlib.util.find_spec("ray") is None:
        raise InitlabError(MISSING)


def split_address(address: str) -> tuple[str, int]:
    """``(host, port)`` of ``HOST:PORT`` or ``ray://HOST:PORT`` (``[IPv6]:PORT`` too).

    >>> split_address("ray://10.0.0.5:10001")
    ('10.0.0.5', 10001)
    """
    rest = address.removeprefix("ray://")
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InitlabError(f"--ray takes auto, HOST:PORT or ray://HOST:PORT, got {address!r}")
    return host, int(port)


def task_gpus(gpus: float | None, device: str) -> float:
    """GPUs per task: ``gpus`` if given, else 1 for ``--device cuda`` and 0 otherwise."""
    if gpus is not None:
        return float(gpus)
    return 1.0 if device.strip().lower() == "cuda" else 0.0


def _import_ray() -> Any:
    try:
        return importlib.import_module("ray")  # optional: typed as Any
    except ImportError:
        raise InitlabError(MISSING) from None


def _connect(ray: Any, address: str) -> bool:
    """Connect to Ray unless connected already; returns whether this call connected (and so shuts
    down after). An unreachable address is an error after :data:`CONNECT_TIMEOUT` seconds (Ray
    itself would retry for minutes)."""
    if address != "auto":
        host, port = split_address(address)
        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
        except OSError as err:
            raise InitlabError(f"cannot reach the Ray cluster at {address}: {err.strerror or err}") from None
    if ray.is_initialized():
        return False
    try:
        if address == "auto":  # this machine's cluster, else a local instance (no dashboard needed)
            ray.init(logging_level=logging.WARNING, log_to_driver=False, include_dashboard=False)
        else:  # a cluster's node (HOST:PORT) or a Ray Client server (ray://HOST:PORT)
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InitlabError(f"cannot connect to Ray at {address}: {first}") from None
    return True


def _task(train: TrainChunk, chunk: Chunk, data: Dataset, threads: int) -> Rows | None:
    """The Ray task (on a worker): train one ensemble with ``threads`` torch threads, return its rows."""
    import torch

    torch.set_num_threads(threads)
    return train(chunk, data, None)


def _lost(chunk: Chunk, err: BaseException, retries: int) -> InitlabError:
    first = chunk[0][0]
    what = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return InitlabError(
        f"Ray lost the ensemble of {len(chunk)} cell(s) from {first.model} {first.init} after "
        f"{retries} retr{'y' if retries == 1 else 'ies'}: {type(err).__name__}: {what}"
    )


@dataclass(frozen=True)
class RayRunner:
    """Run each chunk as a Ray task on the cluster at ``address`` (see the module docstring)."""

    address: str = "auto"
    cpus: float = 1.0  #: CPUs per task (its torch threads: at least 1)
    gpus: float = 0.0  #: GPUs per task
    retries: int = 3  #: times a task whose worker died is run again

    def __call__(
        self,
        chunks: Sequence[Chunk],
        train: TrainChunk,
        data: Callable[[str], Dataset],
        deliver: Callable[[Rows], None],
        should_stop: ShouldStop | None,
    ) -> bool:
        ray = _import_ray()
        if not chunks:
            return False
        started = _connect(ray, self.address)
        pending: dict[Any, Chunk] = {}
        try:
            task = ray.remote(_task).options(
                name=TASK_NAME,
                num_cpus=self.cpus,
                num_gpus=self.gpus,
                max_retries=self.retries,
                retry_exceptions=False,  # an exception in initlab is a bug or bad input: not retried
            )
            refs: dict[str, Any] = {}
            threads = max(1, int(self.cpus))
            for chunk in chunks:
                name = chunk[0][0].dataset
                if name not in refs:
                    refs[name] = ray.put(data(name))
                pending[task.remote(train, chunk, refs[name], threads)] = chunk
            while pending:
                stop = should_stop is not None and should_stop()
                timeout = 0 if stop else POLL
                ready, _ = ray.wait(list(pending), num_returns=len(pending) if stop else 1, timeout=timeout)
                for ref in ready:
                    chunk = pending.pop(ref)
                    rows = self._get(ray, ref, chunk, should_stop)
                    if rows is not None:
                        deliver(rows)
                if stop:
                    return bool(pending)
            return False
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)  # its worker killed: a stopped task is over at once
            if started:
                ray.shutdown()

    def _get(self, ray: Any, ref: Any, chunk: Chunk, should_stop: ShouldStop | None) -> Rows | None:
        try:
            rows: Rows | None = ray.get(ref)
            return rows
        except ray.exceptions.RayTaskError as err:
            cause = getattr(err, "cause", None)
            if isinstance(cause, InitlabError):
                raise InitlabError(str(cause)) from None
            if should_stop is not None and should_stop():
                return None  # a task interrupted by the same Ctrl-C: its cells are simply not stored
            raise
        except ray.exceptions.RayError as err:
            if should_stop is not None and should_stop():
                return None  # a worker stopped by the same Ctrl-C: its cells are simply not stored
            raise _lost(chunk, err, self.retries) from None


__all__ = ["CONNECT_TIMEOUT", "TASK_NAME", "RayRunner", "check_ray", "split_address", "task_gpus"]
