"""``python -m qbc_theory.cli``: the ``qbc`` command."""

import sys

from . import main

sys.exit(main())
