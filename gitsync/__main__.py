import sys

from gitsync.cli import main

sys.exit(main())
