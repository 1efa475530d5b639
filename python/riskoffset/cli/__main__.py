"""``python -m riskoffset.cli``: the ``riskoffset`` command."""

from __future__ import annotations

import sys

from .main import main

sys.exit(main())
