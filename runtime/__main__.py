"""``python -m onnumba ...``: the ``onnumba`` command."""

import sys

from onnumba.cli import main

if __name__ == "__main__":
    sys.exit(main())
