"""The errors a user sees: one line, what was wrong and where, and an exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_INCOMPLETE = 3  # the run finished, but some objects kept failing (see the report)


class GitsyncError(Exception):
    """A fatal error with a message fit to print as is (no traceback)."""

    exit_code = EXIT_FATAL


class WorkspaceError(GitsyncError):
    """The workspace cannot be read: unreachable host, bad token, missing source folder."""


class RepoError(GitsyncError):
    """The git repository cannot be written: unwritable, diverged, rejected push."""


class MassDeleteError(GitsyncError):
    """The run would delete more of the branch than allowed (``--max-delete-percent``)."""
