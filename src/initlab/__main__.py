"""``python -m initlab``."""

import sys

from .cli import main

sys.exit(main())
