"""Entry point of the CrossGuard pack: ``pulumi preview|up --policy-pack policy`` runs this.

The CLI runs this file as a script, with ``policy/`` on ``sys.path``; the rules live in
the package ``policy``, which the offline engine imports too, so its parent goes first.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policy.pack import serve

serve()
