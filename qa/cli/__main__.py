"""``python -m qa.cli ...``: the same as the ``qa`` command."""

import sys

from qa.cli.entry import main

sys.exit(main())
