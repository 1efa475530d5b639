"""README.md is tested: every fenced code block in it runs (and the python blocks of docs/units.md), so the examples users copy stay true.

* ```python blocks run in order in one namespace (a later block may use what an earlier one defined), in a
  temporary working directory.
* ```bash blocks, line by line (a line may chain commands with `&&`; `#` starts a comment):
  - `riskoffset ...` runs in-process through `riskoffset.cli.main` and must exit 0.  The files the
    examples name (positions.csv, market.json, m.json) are written first from the bundled samples.
  - `pip install ...` names only extras that pyproject.toml defines, and only this checkout (`.`).
  - `python -m pytest PATHS`, `mypy`, `ruff check PATHS` name paths that exist and tools the dev or test
    extra installs (they are not run here: this test is itself part of that run).
  Any other command fails the test, so a new kind of example needs a rule here first.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import shlex
import sys
from pathlib import Path

import pytest
import riskoffset as ro
from riskoffset.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9 / 3.10
    tomllib = None


def _blocks(language: str, path: Path = README) -> list[tuple[int, str]]:
    """(first line number, text) of every ```language fenced block of a Markdown file."""
    out = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```" + language:
            start = i + 1
            j = start
            while lines[j].strip() != "```":
                j += 1
            out.append((start + 1, "\n".join(lines[start:j]) + "\n"))
            i = j
        i += 1
    return out


def _extras() -> set[str]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    if tomllib is not None:
        return set(tomllib.loads(text)["project"]["optional-dependencies"])
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^([A-Za-z0-9_-]+)\s*=", section, flags=re.MULTILINE))


def _commands() -> list[tuple[int, list[str]]]:
    """(README line, argv) of every command of every bash block."""
    out = []
    for first, text in _blocks("bash"):
        for k, line in enumerate(text.splitlines()):
            line = line.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            for part in line.split("&&"):
                out.append((first + k, shlex.split(part)))
    return out


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_has_both_key_commands() -> None:
    """The two commands a reader needs first: install and run the demo, install and run the tests."""
    lines = [" ".join(argv) for _, argv in _commands()]
    assert "pip install ." in lines and "riskoffset demo" in lines
    assert "pip install .[test]" in lines
    assert any(c.startswith("python -m pytest tests bench") for c in lines)


def test_python_blocks_run_in_order(in_tmp: Path) -> None:
    blocks = _blocks("python")
    assert blocks, "README.md has no python block"
    namespace: dict[str, object] = {"__name__": "__readme__"}
    for first, text in blocks:
        code = compile(text, f"README.md (python block at line {first})", "exec")
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, namespace)  # noqa: S102 - running the README is the point


@pytest.mark.parametrize("page", ["units.md", "live.md"])
def test_docs_examples_run(page: str, in_tmp: Path) -> None:
    """The python blocks of these docs pages run in order (units.md states the accepted flags with
    asserts; they must hold).  A block that starts a Dask cluster runs where the dask extra is installed."""
    namespace: dict[str, object] = {"__name__": "__docs__"}
    has_dask = importlib.util.find_spec("dask") is not None
    for first, text in _blocks("python", ROOT / "docs" / page):
        if "local_cluster" in text and not has_dask:
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(text, f"docs/{page} (python block at line {first})", "exec"), namespace)  # noqa: S102


def _write_example_files(directory: Path) -> None:
    """positions.csv: the market_maker sample book; market.json and m.json: the sample market."""
    ro.Book.sample("market_maker").to_csv(directory / "positions.csv")
    market = json.dumps(ro.Market.sample().to_dict())
    (directory / "market.json").write_text(market, encoding="utf-8")
    (directory / "m.json").write_text(market, encoding="utf-8")


COMMANDS = _commands()


@pytest.mark.parametrize(("line", "argv"), COMMANDS, ids=[f"line{n}-{a[0]}" for n, a in COMMANDS])
def test_bash_command(line: int, argv: list[str], in_tmp: Path) -> None:
    tool, args = argv[0], argv[1:]
    where = f"README.md line {line}: {' '.join(argv)}"
    if tool == "riskoffset":
        _write_example_files(in_tmp)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                code = cli_main(args)
            except SystemExit as exc:  # argparse exits on a usage error
                code = exc.code if isinstance(exc.code, int) else 1
        assert code in (0, None), f"{where}: exit code {code}"
        assert out.getvalue().strip(), f"{where}: printed nothing"
    elif tool == "pip":
        assert args[0] == "install", where
        extras = _extras()
        for arg in args[1:]:
            if arg.startswith("-"):
                continue
            match = re.fullmatch(r"\.(?:\[([a-z,]+)\])?", arg)
            if match is None:  # a build requirement by name, e.g. pybind11
                assert re.fullmatch(r"[A-Za-z0-9_.-]+", arg), f"{where}: {arg!r}"
                continue
            for extra in filter(None, (match.group(1) or "").split(",")):
                assert extra in extras, (
                    f"{where}: extra {extra!r} is not in pyproject.toml ({sorted(extras)})"
                )
    elif tool in ("python", "mypy", "ruff"):
        if tool == "python":
            assert args[:2] == ["-m", "pytest"], where
            args = args[2:]
        elif tool == "ruff":
            assert args[:1] == ["check"], where
            args = args[1:]
        paths = [a for a in args if not a.startswith("-")]
        for p in paths:
            assert (ROOT / p).exists(), f"{where}: {p} does not exist"
    else:
        pytest.fail(f"{where}: no rule for {tool!r} in tests/test_readme.py")


def test_readme_links_stay_inside_the_repository() -> None:
    """Relative links resolve to files of this checkout; nothing points outside it."""
    text = README.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)]+)\)", text):
        assert not re.match(r"[a-z]+://", target), f"README links outside the repository: {target}"
        assert (ROOT / target.split("#")[0]).exists(), f"README links to a missing file: {target}"
    for pattern in (r"\.\./shared", r"\bDESIGN\b", r"\bspec(ification)? ?§", r"§", r"\bissue \d+"):
        assert not re.search(pattern, text), f"README cites {pattern!r}: point to docs/ instead"


# What a user of a checkout does not have: the team's notes and specs, issue numbers, paths of one machine.
INTERNAL_CITATIONS = (r"\.\./shared", r"\bshared/specs\b", r"\bDESIGN\.md\b", r"§", r"\bissue #?\d+", r"/work/")


def test_shipped_text_cites_only_what_ships() -> None:
    """The package, its docs, tests, benchmarks and tools cite only files of the checkout: no team notes or specs,
    no issue numbers, no paths of a developer's machine."""
    suffixes = {".py", ".pyi", ".md", ".hpp", ".cpp", ".h", ".sh", ".toml", ".txt", ".cfg"}
    folders = ("python", "docs", "tests", "bench", "tools", "cpp", ".ci")
    files = [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / "CMakeLists.txt"]
    files += [p for d in folders for p in (ROOT / d).rglob("*") if p.is_file() and p.suffix in suffixes]
    found = []
    for path in files:
        if path == Path(__file__):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for pattern in INTERNAL_CITATIONS:
            for match in re.finditer(pattern, text, flags=re.IGNORECASE):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)!r}")
    assert not found, "internal citations:\n" + "\n".join(found[:20])
