"""The ``qa`` command: ``index``, ``ask``, ``eval``, ``compare``, ``feedback``, ``serve``, ``lti``.

One module per command group (``index``, ``ask``, ``evaluation``, ``feedback``, ``serve``, ``lti``), each
with a ``register(subparsers)`` that adds its parser; ``entry`` builds the parser and runs ``main``.
Each subcommand turns library errors into a one-line message on stderr and exit status 1. A
mistyped option gets the subcommand's usage and the closest option; a missing index or missing
documents say where they were looked for and how to point elsewhere (``--root``, ``QA_ROOT``).
"""

from qa.cli.entry import main

__all__ = ["main"]
