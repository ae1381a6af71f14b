"""Frozen-build entry point: the same main() as `python -m nango_desktop`."""

import sys

from nango_desktop.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
