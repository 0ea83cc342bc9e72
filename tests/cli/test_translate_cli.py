"""``initlab translate``: the code to paste, the verdict, and every framework by default."""

from __future__ import annotations

import pytest

from initlab.cli import main
from initlab.schemes import TARGETS, translate


def test_one_framework(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["translate", "lecun_normal", "--to", "jax"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "lecun_normal -> jax (exact)"
    assert (
        lines[1] == '    jax.nn.initializers.variance_scaling(1.0, "fan_in", "normal")'
    )  # verbatim, no wrapping
    assert "lecun_normal() is not the same" in out and "layout: kernels are (in, out)" in out
    assert "-> torch" not in out


def test_every_framework_by_default_and_the_torch_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["translate", "Glorot: xavier_normal(gain=2)"]) == 0
    out = capsys.readouterr().out
    for target in TARGETS:
        assert f"xavier_normal(gain=2.0) -> {target} (exact" in out
    assert "same values as initlab.init_" in out
    code = translate("xavier_normal(gain=2)", "keras").code
    assert code is not None and code in out


def test_no_exact_equivalent_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["translate", "sparse", "--to", "keras", "--to", "torch"]) == 0
    out = capsys.readouterr().out
    assert "sparse -> keras (NO EXACT EQUIVALENT)" in out
    assert "torch.nn.init.sparse_(w, sparsity=0.1, std=0.01)" in out
    assert out.index("-> keras") < out.index("-> torch")  # in the order asked
