from __future__ import annotations

import sys

from calcheck.cli import main

sys.exit(main())
