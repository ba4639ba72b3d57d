"""`python -m bot` runs the tripcheck command."""

import sys

from tripcheck.cli import main

sys.exit(main())
