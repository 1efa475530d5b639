"""Margin parameter sets as data: dated JSON files with their source tag (see docs/margin.md).

Bundled sets live in ``riskoffset/data/margin/NAME_DATE.json``; each carries ``name``, ``as_of`` (the date the
numbers were current), ``source`` (where they were read, named in words) and the method's
numbers.  Nothing here is a default hidden in code: a missing or malformed key is an error that names the
file and the key.  A parameter set is chosen by

- preset name: ``"deribit-standard"`` (the most recent dated file of that method), or the ``name`` of one
  dated file (``"deribit-standard-2019"``, ``"deribit-pm-2024-06-17"``);
- path to a JSON file of the same form;
- an already parsed mapping (for Deribit PM also the bare ``model_params`` object, or a whole
  ``private/pme/simulate`` response, see riskoffset.margining.portfolio).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any


class ParameterError(ValueError):
    """A margin parameter file or object is missing, unreadable or malformed (the message names the file
    and the key)."""


def _data_dir() -> Any:
    return resources.files("riskoffset").joinpath("data/margin")


def bundled_files(method: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, as_of, document) of every bundled file of ``method`` ("deribit-standard", "deribit-pm"),
    oldest first."""
    out = []
    for entry in _data_dir().iterdir():
        filename = entry.name
        if not (filename.startswith(method + "_") and filename.endswith(".json")):
            continue
        doc = _parse(entry.read_text(), filename)
        out.append((str(doc.get("name", filename)), str(doc.get("as_of", "")), doc))
    return sorted(out, key=lambda item: item[1])


def presets(method: str) -> list[str]:
    """Preset names available for ``method``: the method name (latest set) and every dated set."""
    return [method, *(name for name, _, _ in bundled_files(method))]


def _parse(text: str, origin: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParameterError(f"{origin}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ParameterError(f"{origin}: a parameter file is a JSON object, got {type(doc).__name__}")
    return doc


def load(source: str | Path | Mapping[str, Any], method: str) -> tuple[dict[str, Any], str]:
    """(document, origin) of a parameter set given by preset name, path or mapping (see the module doc).
    For a bare preset ``method`` the bundled documents are returned merged by ``merge`` (key-wise, most
    recent wins) when the method defines one; otherwise the latest file."""
    if isinstance(source, Mapping):
        return dict(source), "parameters given as an object"
    text = str(source)
    files = bundled_files(method)
    for name, _, doc in files:
        if text == name:
            return doc, f"{name} (bundled)"
    if text == method:
        if not files:
            raise ParameterError(f"no bundled parameter files for {method!r}")
        name, _, doc = files[-1]
        return doc, f"{name} (bundled, latest)"
    path = Path(text)
    if path.suffix.lower() == ".json" or path.exists():
        if not path.exists():
            raise ParameterError(f"parameter file {text!r} does not exist")
        return _parse(path.read_text(), str(path)), str(path)
    raise ParameterError(
        f"unknown {method} parameter set {text!r}: give a preset ({', '.join(presets(method))}), a path to a "
        "JSON file or a mapping"
    )


def section(doc: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """doc[key], which must be a JSON object."""
    if key not in doc:
        raise ParameterError(f"{where}: missing key {key!r}")
    value = doc[key]
    if not isinstance(value, Mapping):
        raise ParameterError(f"{where}.{key}: expected an object, got {type(value).__name__}")
    return value


def number(
    doc: Mapping[str, Any],
    key: str,
    where: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    default: float | None = None,
) -> float:
    """doc[key] as a finite float within [minimum, maximum]; ``default`` only where the method defines one."""
    if key not in doc:
        if default is not None:
            return default
        raise ParameterError(f"{where}: missing key {key!r}")
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{where}.{key}: expected a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ParameterError(f"{where}.{key}: must be finite, got {value!r}")
    if minimum is not None and x < minimum:
        raise ParameterError(f"{where}.{key}: must be >= {minimum:g}, got {value!r}")
    if maximum is not None and x > maximum:
        raise ParameterError(f"{where}.{key}: must be <= {maximum:g}, got {value!r}")
    return x


def text(doc: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    if key not in doc:
        if default is not None:
            return default
        raise ParameterError(f"{where}: missing key {key!r}")
    value = doc[key]
    if not isinstance(value, str):
        raise ParameterError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def describe(doc: Mapping[str, Any], origin: str) -> str:
    """'name as_of: source' for MarginResult.parameters_source."""
    name = doc.get("name", origin)
    as_of = doc.get("as_of")
    source = doc.get("source")
    head = f"{name} ({as_of})" if as_of else str(name)
    return f"{head}: {source}" if source else head
