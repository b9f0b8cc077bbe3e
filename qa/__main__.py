"""``python -m qa ...``: the same as the ``qa`` command (and ``python -m qa.cli``)."""

import sys

from qa.cli.entry import main

sys.exit(main())
