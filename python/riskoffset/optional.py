"""Optional dependencies, imported only when a feature needs them, with an error that names the extra to
install (numpy is the only required dependency)."""

from __future__ import annotations

import importlib
from typing import Any


def require(module: str, extra: str, feature: str) -> Any:
    """The named module, or an ImportError saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f'{feature} needs {module}, which is not installed: pip install "riskoffset[{extra}]"'
        ) from None


def require_pandas(feature: str = "to_pandas()") -> Any:
    """The pandas module, or an ImportError saying how to install it."""
    return require("pandas", "pandas", feature)


__all__ = ["require", "require_pandas"]
