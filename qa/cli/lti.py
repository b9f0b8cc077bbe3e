"""``qa lti``: set up the LTI 1.3 tool and print what an LMS administrator pastes in (the
logic is :func:`qa.web.lti.command.run_lti`)."""

from __future__ import annotations

import argparse

from qa.cli.common import root_arg, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lti", help="set up the LTI 1.3 tool; print what an LMS administrator pastes in")
    root_arg(p)  # it reads and writes ROOT/lti (QA_LTI_DIR), never the index
    p.add_argument("--url", help="the server's public address, e.g. https://qa.example.edu (QA_PUBLIC_URL)")
    p.add_argument("--json", action="store_true", help="print the configuration as JSON")
    p.set_defaults(func=cmd_lti, parser=p)


def cmd_lti(args: argparse.Namespace) -> int:
    from qa.web.lti.command import run_lti

    print(run_lti(settings_from(args, public_url=args.url), as_json=args.json))
    return 0
