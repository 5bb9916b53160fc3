"""The dataops policy pack: governance rules for the real Pulumi CLI and the offline engine.

``policy.rules`` holds the rules (standard library only); ``policy.pack`` turns them into
CrossGuard policies; ``policy/__main__.py`` is what ``--policy-pack policy`` runs.
"""
