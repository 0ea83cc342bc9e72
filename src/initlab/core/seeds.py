"""Seed streams: one integer seed gives named, independent random streams.

Every study takes one ``seed`` and draws all its randomness from generators derived from it, one
**stream** per purpose, so that changing how much one part draws never shifts another part's
numbers, and the same ``(spec, seed)`` gives the same initial weights in every study:

==============  ===============================================================================
stream          what it draws
==============  ===============================================================================
``weights``     a model's initial weights and biases, layer by layer (weight, then bias); keyed by
                the *model's* seed, so model seed ``s`` has the same weights in ``probe``,
                ``compare`` and ``symmetry`` (replicate ``j`` of a study run with ``seed`` has model
                seed ``seed + j``)
``batches``     the training mini-batches (shared by every model of a run)
``inputs``      probe inputs (N(0, 1) samples), and the LSUV batch of ``diagnose``
``cotangents``  the Gaussian cotangent a probe injects at its last layer
``factory``     the global RNG while ``diagnose`` calls a user's model factory (restored afterwards)
``init``        re-initialisation of a user model (``init_``, ``auto``, LSUV) in ``diagnose``
``diagnose``    the input and cotangent of :func:`initlab.diagnose` in ``diagnose``
``bootstrap``   the resamples of a summary's bootstrap intervals (``sweep``)
==============  ===============================================================================

A stream's generator is ``torch.Generator().manual_seed(derive(seed, stream))`` with

    derive(seed, stream) = first 4 bytes (big-endian) of BLAKE2b-64("initlab:<stream>:<seed>")

a 32-bit number: PyTorch's CPU generator (Mersenne Twister) reads only the low 32 bits of a seed
(``manual_seed(2**32 + 5)`` draws what ``manual_seed(5)`` draws), so a wider derived seed would
only pretend to be wider. Hashing the decimal seed keeps every seed distinct (``2**32`` is not
``0``) and the streams of neighbouring seeds unrelated; two streams collide only by chance
(probability 2**-32 per pair). Generators live on the CPU: initial weights are drawn there and
then moved, so they are the same on every device.

>>> derive(0, "weights") == derive(0, "weights"), derive(0, "weights") == derive(0, "batches")
(True, False)
>>> g = generator(0, "batches")
>>> g.initial_seed() == derive(0, "batches")
True
"""

from __future__ import annotations

import hashlib

import torch

from .errors import InitlabError, check_int, unknown

#: The named streams (see the module docstring).
STREAMS: tuple[str, ...] = (
    "weights",
    "batches",
    "inputs",
    "cotangents",
    "factory",
    "init",
    "diagnose",
    "bootstrap",
)


#: The largest valid seed: every seed a run uses (``seed`` .. ``seed + count - 1``) fits a signed
#: 64-bit integer, so it survives JSON readers, NumPy and PyTorch unchanged. The one range of every
#: command and every ``Config.validate``.
MAX_SEED = 2**63 - 1


def check_seed(seed: object, name: str = "seed", count: int = 1) -> int:
    """``seed`` as a Python int in ``0 .. MAX_SEED``, leaving room for ``count`` consecutive seeds
    (``seed .. seed + count - 1``: a run's model seeds); ``InitlabError`` quoting it otherwise."""
    value = check_int(seed, name, minimum=0)
    last = value + max(count, 1) - 1
    if last > MAX_SEED:
        span = f" (its {count} consecutive seeds run up to {last})" if count > 1 else ""
        raise InitlabError(f"{name} must be <= {MAX_SEED} (2**63 - 1), got {value}{span}")
    return value


def derive(seed: int, stream: str) -> int:
    """The 32-bit seed of ``stream`` for ``seed`` (see the module docstring for the formula)."""
    if stream not in STREAMS:
        raise unknown("seed stream", stream, STREAMS)
    s = check_seed(seed)
    digest = hashlib.blake2b(f"initlab:{stream}:{s}".encode(), digest_size=8).digest()
    return int.from_bytes(digest[:4], "big")


def generator(seed: int, stream: str) -> torch.Generator:
    """A fresh CPU ``torch.Generator`` for ``stream`` of ``seed``."""
    return torch.Generator().manual_seed(derive(seed, stream))


def weight_seeds(model_seeds: list[int]) -> list[int]:
    """The ``weights``-stream seeds of models with these seeds (what ``Stack.from_schemes`` takes)."""
    return [derive(s, "weights") for s in model_seeds]
