"""Ctrl-C while the ``initlab`` command starts (torch importing) exits 130 quietly, without a traceback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import initlab.cli

TORCH_LINE = re.compile(r"\|\s+torch(\.|$)")  #: ``-X importtime``: a torch module finished importing


def test_ctrl_c_while_torch_imports_exits_130_quietly() -> None:
    assert callable(initlab.cli.main)  # what starts behind ``python -m initlab``
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-X", "importtime", "-m", "initlab", "schemes"]
    with subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    ) as child:
        assert child.stderr is not None
        reached = False
        for line in child.stderr:  # importtime reports each module as its import completes
            if TORCH_LINE.search(line.rstrip()):
                reached = True  # torch is importing: the facade is past its guard, the CLI not started
                break
        assert reached, "torch never imported"
        child.send_signal(signal.SIGINT)
        rest = child.stderr.read()
        rc = child.wait(timeout=60)
    assert rc == 130, (rc, rest[-2000:])
    assert "Traceback" not in rest, rest[-2000:]
