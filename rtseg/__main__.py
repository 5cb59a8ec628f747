"""`python -m rtseg` is the `rtseg` command."""

import sys

from rtseg.cli import main

sys.exit(main())
