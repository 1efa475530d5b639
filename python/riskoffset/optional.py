"""Optional dependencies, imported only when a feature needs them, with an error that names the extra to
install (numpy is the only required dependency)."""

from __future__ import annotations

import importlib
from typing import Any


def require_pandas(feature: str = "to_pandas()") -> Any:
    """The pandas module, or an ImportError saying how to install it."""
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise ImportError(
            f'{feature} needs pandas, which is not installed: pip install "riskoffset[pandas]"'
        ) from None


__all__ = ["require_pandas"]
