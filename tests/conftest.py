"""Shared fixtures.  `simd_target` runs a test once per SIMD target this CPU supports (every
kernel must give the same answers on every target the machine supports), restoring the previous target after."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cli_runner
import pytest
import riskoffset as ro
from cli_runner import RunCli
from hypothesis import settings

SUPPORTED_TARGETS = list(ro.simd_info()["supported"])


# Property-based fuzzing (tests/test_fuzz.py): HYPOTHESIS_PROFILE=ci (the default: bounded, every CI run) or
# long (a one-off campaign of over a million inputs, its count recorded in bench/RESULTS.md).
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("long", max_examples=10_000, deadline=None, print_blob=True)
# Under the sanitizers (tools/sanitize.sh) every call is several times slower and the aim is memory errors on
# every path, which the main suite's properties at full strength do not need to repeat.
settings.register_profile("sanitize", max_examples=20, deadline=None, derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=SUPPORTED_TARGETS)
def simd_target(request: pytest.FixtureRequest) -> Iterator[str]:
    """The name of the active SIMD target for the duration of the test."""
    with ro.simd_target(request.param):
        yield request.param


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Runs the ``riskoffset`` command: ``run_cli(*argv) -> (returncode, stdout, stderr)`` (tests/cli_runner.py),
    in a temporary working directory (files a command writes there, such as the demo's report, are dropped)."""
    monkeypatch.chdir(tmp_path)
    return cli_runner.run_cli


@pytest.fixture(scope="session")
def short_stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample day at 30-minute steps (every quote of those instants, so forwards and futures marks
    stay consistent, and every account line): a few hundred lines, the crash included."""
    import json

    from riskoffset.live import sample_stream_path

    kept = []
    for line in sample_stream_path().read_text().splitlines():
        if line.startswith("#") or '"account"' in line:
            kept.append(line)
            continue
        data = json.loads(line)["params"]["data"]
        if (data[0] if isinstance(data, list) else data)["timestamp"] % (30 * 60 * 1000) == 0:
            kept.append(line)
    path = tmp_path_factory.mktemp("stream") / "short.jsonl"
    path.write_text("\n".join(kept) + "\n")
    return path
