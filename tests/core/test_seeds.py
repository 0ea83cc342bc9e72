"""Seed streams: named, independent, 32-bit derived seeds, and every seed distinct."""

from __future__ import annotations

import pytest
import torch

from initlab import InitlabError
from initlab.core import seeds


def test_derive_is_a_fixed_32_bit_function_of_seed_and_stream() -> None:
    assert seeds.derive(0, "weights") == seeds.derive(0, "weights")
    values = {seeds.derive(s, name) for s in range(50) for name in seeds.STREAMS}
    assert len(values) == 50 * len(seeds.STREAMS)  # no two (seed, stream) pairs share a seed here
    assert all(0 <= v < 2**32 for v in values)
    assert seeds.generator(3, "batches").initial_seed() == seeds.derive(3, "batches")


def test_seeds_beyond_32_bits_stay_distinct() -> None:
    """PyTorch's CPU generator reads only 32 bits of a seed: manual_seed(2**32) is manual_seed(0).
    A derived stream hashes the whole seed, so seed 2**32 is not seed 0."""
    raw = [torch.randn(4, generator=torch.Generator().manual_seed(s)) for s in (0, 2**32)]
    assert torch.equal(raw[0], raw[1])  # the pitfall, measured
    a, b = (torch.randn(4, generator=seeds.generator(s, "weights")) for s in (0, 2**32))
    assert not torch.equal(a, b)


def test_streams_are_independent_draws() -> None:
    draws = {name: torch.randn(2000, generator=seeds.generator(7, name)) for name in seeds.STREAMS}
    names = list(draws)
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            r = float(torch.corrcoef(torch.stack([draws[x], draws[y]]))[0, 1])
            assert abs(r) < 0.1, (x, y, r)  # 2000 samples: |r| < 0.1 is over 4 standard errors


@pytest.mark.parametrize(
    ("seed", "stream", "message"),
    [
        (-1, "weights", "seed must be >= 0, got -1"),
        (1.5, "weights", "seed must be an integer, got 1.5"),
        (True, "weights", "seed must be an integer, got True"),
        (0, "weight", "unknown seed stream 'weight' \\(did you mean: weights"),
    ],
)
def test_bad_seed_or_stream(seed: object, stream: str, message: str) -> None:
    with pytest.raises(InitlabError, match=message):
        seeds.derive(seed, stream)  # type: ignore[arg-type]
