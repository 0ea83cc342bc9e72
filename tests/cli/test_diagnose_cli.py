"""``initlab diagnose``: the run folder, the printed tables, and one-line errors for bad targets."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from initlab.cli import main
from initlab.studies.diagnose import parse_shape
from shared_runs import DIAGNOSE_AUTO, DIAGNOSE_LSUV, DIAGNOSE_MLP20, DIAGNOSE_SPEC, CliRunner


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_mlp20_end_to_end(cli_run: CliRunner) -> None:
    run = cli_run(DIAGNOSE_MLP20)
    code, text, out = run.code, run.stdout, run.out
    assert code == 0
    assert "vanishing signal" in text and "vanishing gradient" in text and "torch_default" in text
    assert "6x per layer" in text  # the audit warning
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "results.json",
        "std_per_layer.png",
        "std_per_layer.svg",
    ]
    res = json.loads((out / "results.json").read_text())
    assert res["target"] == "initlab.examples:mlp20_relu" and res["input_shape"] == [100]
    diag = res["diagnosis"]
    assert len(diag["layers"]) == 40 and diag["forward_ratio"] < 0.1
    assert {f["kind"] for f in diag["findings"]} >= {"vanishing"}
    assert res["audit"]["weights"][0]["scheme"] == "torch_default"
    assert json.loads((out / "config.json").read_text())["command"] == "diagnose"


def test_init_auto_fixes_it(cli_run: CliRunner) -> None:
    run = cli_run(DIAGNOSE_AUTO)
    code, text, out = run.code, run.stdout, run.out
    assert code == 0 and "no findings" in text and "he_normal" in text
    res = json.loads((out / "results.json").read_text())
    assert res["init"]["spec"] == "auto" and res["init"]["steps"][0]["scheme"] == "he_normal"
    assert res["diagnosis"]["findings"] == []


def test_cnn_with_lsuv(cli_run: CliRunner) -> None:
    run = cli_run(DIAGNOSE_LSUV)
    assert run.code == 0 and "LSUV" in run.stdout
    res = json.loads((run.out / "results.json").read_text())
    assert res["lsuv"]["converged"] is True
    assert res["audit"]["weights"][0]["scheme"].startswith("orthogonal(gain=")  # scaled orthogonal


def test_same_seed_same_results_with_a_spec(
    cli_run: CliRunner, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = cli_run(DIAGNOSE_SPEC)  # the session's run; a second, fresh one must equal it
    assert first.code == 0
    assert main([*DIAGNOSE_SPEC, "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    a, b = ((d / "results.json").read_text() for d in (first.out, tmp_path / "b"))
    assert a == b
    res = json.loads(a)
    assert (
        res["init"]["spec"] == "xavier_uniform" and res["audit"]["weights"][3]["scheme"] == "xavier_uniform"
    )


def test_factory_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mymodels_diag.py").write_text(
        textwrap.dedent(
            """
            import torch
            def good():
                return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh())
            def bad():
                raise ValueError("no weights file")
            def not_a_model():
                return 42
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(["diagnose", "mymodels_diag:good", "--input-shape", "3", "--out", "o"], capsys)
    assert code == 0, err
    cases = [
        ("mymodels_diag:bad", "calling mymodels_diag:bad() failed: ValueError: no weights file"),
        ("mymodels_diag:not_a_model", "returned a int, not a torch.nn.Module"),
        ("mymodels_diag:goood", "has no attribute 'goood' (did you mean: good"),
        ("no_such_module_xyz:f", "cannot import module 'no_such_module_xyz'"),
        ("mymodels_diag", "must look like PACKAGE.MODULE:FACTORY"),
    ]
    for target, fragment in cases:  # a new --out: "o" holds the good run
        code, _, err = _run(["diagnose", target, "--input-shape", "3", "--out", "o2"], capsys)
        assert code == 2 and err.startswith("error: ") and fragment in err, err
        assert err.count("\n") == 1  # one line, no traceback


def test_token_inputs_for_a_language_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mylm_diag.py").write_text(
        textwrap.dedent(
            """
            import torch
            from torch import nn
            class TinyLM(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.emb = nn.Embedding(50, 16)
                    self.fc = nn.Linear(16, 16)
                    self.head = nn.Linear(16, 50)
                def forward(self, ids):
                    if ids.is_floating_point():
                        raise TypeError("token ids must be integers")
                    return self.head(torch.relu(self.fc(self.emb(ids))))
            def tiny_lm():
                return TinyLM()
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    argv = ["diagnose", "mylm_diag:tiny_lm", "--input-shape", "6", "--batch", "4"]
    code, _, err = _run([*argv, "--out", "f"], capsys)
    assert code == 2 and "token ids must be integers" in err  # float inputs cannot feed it
    code, _, err = _run([*argv, "--input-dtype", "long", "--vocab", "50", "--out", "o"], capsys)
    assert code == 0, err
    res = json.loads((tmp_path / "o" / "results.json").read_text())
    assert res["input_dtype"] == "long" and res["vocab"] == 50
    assert res["diagnosis"]["input_shape"] == [4, 6] and res["diagnosis"]["layers"][0]["name"] == "emb"
    assert main([*argv, "--input-dtype", "long", "--vocab", "50", "--out", "o2"]) == 0  # same seed ...
    capsys.readouterr()
    assert (tmp_path / "o" / "results.json").read_text() == (tmp_path / "o2" / "results.json").read_text()
    code, _, err = _run([*argv, "--input-dtype", "long", "--vocab", "50", "--lsuv", "--out", "o3"], capsys)
    assert code == 0, err  # LSUV's batch is tokens too


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--input-shape", "1,x"], "--input-shape '1,x' must be positive integers"),
        (["--input-shape", "7"], "forward pass of Sequential failed on input of shape (256, 7)"),
        (["--input-shape", "100", "--batch", "1"], "--batch 1 must be at least 2"),
        (["--input-shape", "100", "--init", "he_norml"], "unknown scheme 'he_norml'"),
        (["--input-shape", "100", "--init", "auto", "--lsuv"], "not allowed with argument"),
    ],
)
def test_bad_arguments(
    extra: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["diagnose", "initlab.examples:mlp20_relu", *extra, "--out", str(tmp_path / "o")]
    code, _, err = _run(argv, capsys)
    assert code == 2 and fragment in err, err


def test_parse_shape() -> None:
    assert parse_shape("1,28,28") == (1, 28, 28) and parse_shape("100") == (100,)
