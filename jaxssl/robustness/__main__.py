"""python -m jaxssl.robustness: see jaxssl/robustness/command.py."""

import sys

from jaxssl.robustness import command

sys.exit(command.run(sys.argv))
