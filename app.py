"""Start the chat UI and JSON API: ``python app.py [--host H] [--port P]`` (same as ``qa serve``)."""

import sys

from qa.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
