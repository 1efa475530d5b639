"""The ``riskoffset`` command: one module per subcommand (``demo``, ``greeks``, ``margin``, ``hedge``,
``whatif``, ``liquidation``, ``report``, ``info``), each exposing ``add_parser(subparsers)`` and
``run(args) -> int``; `main` (cli/main.py) assembles them and turns bad input into one line on standard
error and exit code 2.  ``common`` holds the loaders and argument parsers the subcommands share."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
