"""Lets `python -m warroom` work the same as the `warroom` script."""

from warroom.cli import main

raise SystemExit(main())
