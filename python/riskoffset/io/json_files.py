"""Reading a JSON file with errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json(path: str | Path, what: str = "JSON") -> Any:
    """The parsed content of ``path``; a missing file or malformed JSON is an error naming the file (and
    the line and column of the syntax error)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{what} file {str(p)!r} does not exist")
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{what} file {str(p)!r} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
