"""``python -m dataops``: see dataops/cli.py."""

from dataops.cli import main

raise SystemExit(main())
