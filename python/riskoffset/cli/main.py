"""Parser assembly and the one place where errors become a message: `main(argv) -> int`.

Each subcommand is a module of this package named in `SUBCOMMANDS`, exposing ``add_parser(subparsers)``
(which returns its argparse parser) and ``run(args) -> int``.  Adding a subcommand is writing that module
and adding its name here."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from .. import progress

#: The subcommands in the order ``riskoffset --help`` lists them; each is riskoffset/cli/<name>.py.
SUBCOMMANDS: tuple[str, ...] = (
    "demo",
    "greeks",
    "margin",
    "hedge",
    "whatif",
    "liquidation",
    "replay",
    "report",
    "info",
)


class UsageError(ValueError):
    """A bad flag or argument, reported by argparse."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing the usage block and exiting, so that a bad flag is one line
    naming it, like every other bad input (``riskoffset SUBCOMMAND --help`` still shows the usage)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(prog="riskoffset", description="Portfolio risk and margin engine (docs/cli.md).")
    parser.add_argument("--version", action="version", version=f"riskoffset {__version__}")
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bars (they show on a terminal for work over a second)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"{__package__}.{name}")
        module.add_parser(sub).set_defaults(run=module.run)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(text.split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``riskoffset`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit code: 0; 3 from
    ``liquidation`` when the account is already below maintenance margin; or 2 after one line on standard error
    naming the bad file, field or flag."""
    try:
        args = build_parser().parse_args(argv)
        with progress.enabled(sys.stderr.isatty() and not args.quiet):
            code: int = args.run(args)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except BrokenPipeError:  # output piped into head & co. (before OSError, its base class)
        sys.stderr.close()
        return 0
    # The package's own errors (MarketDataError, ParameterError, SpanFileError, MethodUnavailable) are
    # ValueErrors, as are json.JSONDecodeError and UnicodeDecodeError; KeyError: an instrument outside the
    # what-if universe; ImportError: an optional extra (scipy for the margin hedge) is missing.
    except (ValueError, TypeError, OSError, KeyError, ImportError) as exc:
        print(f"riskoffset: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    return code
