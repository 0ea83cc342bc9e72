"""Study flags are generated from each Config: names, defaults and help come from the dataclass."""

from __future__ import annotations

import argparse
import json
from dataclasses import MISSING, fields

import pytest

from initlab.cli import build_parser, config_from_args, study_commands
from shared_runs import PROBE_BOUNDED, CliRunner

COMMANDS = study_commands()
BY_NAME = {c.name: c for c in COMMANDS}
REQUIRED = {"diagnose": ["initlab.examples:mlp20_relu", "--input-shape", "100", "--out", "x"]}


def _sub(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c.name)
def test_no_flags_give_the_config_defaults(cmd: object) -> None:
    args = _sub(cmd.name).parse_args(REQUIRED.get(cmd.name, []))  # type: ignore[attr-defined]
    cfg = config_from_args(cmd, args)  # type: ignore[arg-type]
    for f in fields(cfg):
        if f.default is not MISSING:
            assert getattr(cfg, f.name) == f.default, f.name


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c.name)
def test_every_flag_field_is_in_help_with_its_default(cmd: object) -> None:
    text = _sub(cmd.name).format_help()  # type: ignore[attr-defined]
    flat = " ".join(text.split())
    for f in fields(cmd.config):  # type: ignore[attr-defined]
        md = f.metadata
        if md["flag"] is None or md["positional"]:
            continue
        flag = md["flag"] or "--" + f.name.replace("_", "-")
        assert flag in text, flag
        if (
            md["default_text"] is None
            and f.default not in (None, MISSING)
            and not isinstance(f.default, bool)
        ):
            assert f"(default {f.default})" in flat, (flag, f.default)


def test_flags_reach_the_config() -> None:
    args = _sub("probe").parse_args(
        ["--init", "a: he_normal", "--init", "lecun_normal", "--range", "0", "1", "--bias", "--seeds", "3"]
    )
    cfg = config_from_args(BY_NAME["probe"], args)
    assert cfg.inits == ("a: he_normal", "lecun_normal") and cfg.hist_range == (0.0, 1.0)
    assert cfg.bias is True and cfg.seeds == 3 and cfg.layers == 5
    quick = config_from_args(BY_NAME["reproduce"], _sub("reproduce").parse_args(["--quick", "--seeds", "3"]))
    assert quick.quick and quick.seeds == 3 and quick.iterations == 150  # --quick's base, --seeds on top


def test_config_json_is_the_config(cli_run: CliRunner) -> None:
    run = cli_run(PROBE_BOUNDED)
    assert run.code == 0, run.stderr
    doc = json.loads((run.out / "config.json").read_text())
    from initlab.studies.probe import ProbeConfig

    cfg = ProbeConfig(activation="tanh", inits=("orthogonal",), bias=True, layers=2, width=8, samples=10)
    assert doc["config"] == {**cfg.to_dict(), "threads": 1, "data_dir": None}
