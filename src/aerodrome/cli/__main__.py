"""`python -m aerodrome.cli`: the same as the `aerodrome` command."""

import logging
import sys

from aerodrome.cli import main

logging.basicConfig(level=logging.WARNING)
sys.exit(main())
