"""Shared test helpers."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def gen() -> torch.Generator:
    """A fixed generator: every random draw in a test comes from it."""
    return torch.Generator().manual_seed(1234)
