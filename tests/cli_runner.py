"""The `run_cli` fixture's types: ``run_cli("margin", "short_strangle", "--json")`` runs the ``riskoffset``
command in-process through `riskoffset.cli.main` (or, with ``env=`` or ``subprocess=True``, as
``python -m riskoffset`` in a child process) and returns its exit code, standard output and standard error."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess as sp
import sys
from typing import NamedTuple, Protocol


class CliResult(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


class RunCli(Protocol):
    def __call__(
        self, *args: str, env: dict[str, str] | None = None, subprocess: bool = False
    ) -> CliResult: ...


def run_cli(*args: str, env: dict[str, str] | None = None, subprocess: bool = False) -> CliResult:
    if env is not None or subprocess:
        done = sp.run(
            [sys.executable, "-m", "riskoffset", *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **(env or {})},
        )
        return CliResult(done.returncode, done.stdout, done.stderr)
    from riskoffset.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return CliResult(code, out.getvalue(), err.getvalue())
