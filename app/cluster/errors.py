"""Errors raised by the cluster providers (kwok, kind) and the code around them."""

from __future__ import annotations


class ClusterError(Exception):
    """The local cluster cannot be created, reached or used.

    The message is meant for the candidate: it says what went wrong and what to
    do about it (install a tool, start Docker, run `kprep cluster up`).
    """


class ClusterNotRunning(ClusterError):
    """No kprep cluster is up (nothing recorded, or its processes are gone)."""


class ClusterUnreachable(ClusterError):
    """A cluster is recorded but its API server does not answer (or stopped mid-check)."""
