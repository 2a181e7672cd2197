"""`python -m engine`: the command line, which lives in the top-level `cli` package.

The engine itself never imports the CLI or the presentation layer; this entry point
is the one place that hands over to them. Installed, the same command is `gradscope`.
"""

import sys

from cli.main import main

sys.exit(main(prog="python -m engine"))
