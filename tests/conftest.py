"""Shared test helpers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _seeded_global_rng() -> Iterator[None]:
    """Modules built with PyTorch's constructors draw from the global RNG: make every test see the
    same stream whatever ran before it (and restore the state after, so tests cannot leak into each
    other). The library itself never uses the global RNG; tests that check this still can."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield


@pytest.fixture
def gen() -> torch.Generator:
    """A fixed generator: every random draw in a test comes from it."""
    return torch.Generator().manual_seed(1234)
