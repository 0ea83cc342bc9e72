"""``python -m initlab``: the CLI; Ctrl-C while the CLI's modules import exits 130 quietly."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:
    sys.exit(130)

sys.exit(main())
