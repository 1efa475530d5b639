"""``riskoffset info``: the version and the SIMD targets of this machine."""

from __future__ import annotations

import argparse
from typing import Any

from ..simd import simd_info
from .common import add_json_argument, print_json


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser("info", help="version and SIMD targets")
    add_json_argument(p)
    return p


def run(args: argparse.Namespace) -> int:
    from .. import __version__

    data = {"version": __version__, **simd_info()}
    if args.json:
        print_json(data)
    else:
        print("\n".join(f"{k}: {v}" for k, v in data.items()))
    return 0
