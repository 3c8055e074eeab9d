"""The exit codes of every kprep command, documented in the README."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Every check passed (or the command did what it was asked)."""
    FAILED = 1
    """The answer falls short: YAML, schema, validation or check failures; lint found problems."""
    USAGE = 2
    """Bad flags, unknown scenario, unreadable file."""
    CLUSTER = 3
    """The live cluster is missing, unreachable or failed mid-check."""
    INTERRUPTED = 130
    """Ctrl-C."""
