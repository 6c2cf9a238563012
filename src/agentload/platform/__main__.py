"""``python -m agentload.platform``: run the reference platform (same flags as ``agentload platform``)."""

import sys

from agentload.platform.cli import main

if __name__ == "__main__":
    sys.exit(main())
