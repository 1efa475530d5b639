"""``python -m riskoffset``: the ``riskoffset`` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
