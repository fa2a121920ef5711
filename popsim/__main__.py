"""``python -m popsim`` is the ``popsim`` command."""

import sys

from popsim.cli import main

sys.exit(main())
