"""gitsync: mirror a Databricks workspace folder into a git branch, incrementally and resumably.

Run it as ``python -m gitsync run --source /Clients --repo <path or URL>``; see README.md.
"""

__version__ = "0.1.0"
