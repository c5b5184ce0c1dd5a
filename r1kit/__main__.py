"""``python -m r1kit``: see :mod:`r1kit.cli`."""

import sys

from r1kit.cli import main

if __name__ == "__main__":
    sys.exit(main())
