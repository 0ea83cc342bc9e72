"""Device names: resolved when present, one clear error when not."""

from __future__ import annotations

import pytest
import torch

from initlab.core.device import resolve_device
from initlab.core.errors import InitlabError


def test_cpu_and_auto() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    auto = resolve_device("auto")
    if torch.cuda.is_available():
        assert auto == torch.device("cuda", 0)
    elif auto.type != "mps":
        assert auto == torch.device("cpu")


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "tpu", ""])
def test_unknown_device_names(bad: str) -> None:
    with pytest.raises(InitlabError, match="unknown device"):
        resolve_device(bad)


def test_missing_cuda_device_names_what_is_there() -> None:
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(InitlabError, match=f"device cuda:{n} is not available: this machine has"):
        resolve_device(f"cuda:{n}")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_present() -> None:
    assert resolve_device("cuda") == torch.device("cuda", 0)
