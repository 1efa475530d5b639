"""Optional dependencies, imported on first use with an error that says which extra to install."""

from __future__ import annotations

import importlib
from typing import Any


def import_pandas() -> Any:
    """The pandas module; without pandas an ImportError saying ``pip install "riskoffset[pandas]"``."""
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise ImportError('this needs pandas: pip install "riskoffset[pandas]"') from None
