"""Every subcommand that reads a book or a market answers a bad file with one line on standard error naming
the file, and exit code 2: never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import RunCli

SUBCOMMANDS = [
    ("greeks",),
    ("margin",),
    ("hedge",),
    ("report",),
    ("whatif", "--order", "BTC-PERPETUAL:10"),
    ("liquidation", "--balance", "BTC:1"),
]
BAD_FILES = {
    "missing.csv": None,
    "empty.csv": b"",
    "binary.csv": bytes(range(256)) * 2,
    "binary.json": b"\xff\xfe\x00garbage",
    "truncated.json": b'{"positions": [1, 2',
    "wrong_columns.csv": b"x,y\n1,2\n",
}


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=lambda a: a[0])
@pytest.mark.parametrize("name", sorted(BAD_FILES))
@pytest.mark.parametrize("role", ["book", "market"])
def test_bad_file_is_one_line_naming_it(
    run_cli: RunCli, tmp_path: Path, args: tuple[str, ...], name: str, role: str
) -> None:
    path = tmp_path / name
    content = BAD_FILES[name]
    if content is not None:
        path.write_bytes(content)
    if role == "book":
        argv = (args[0], str(path), *args[1:])
    else:
        argv = (args[0], "short_strangle", "--market", str(path), *args[1:])
    code, _, err = run_cli(*argv)
    assert code == 2, err
    assert err.startswith("riskoffset: error:") and err.count("\n") == 1, err
    assert name in err, err
