"""`python -m bot` runs the tripcheck command."""

import sys

from bot.cli import main

sys.exit(main())
