"""What every cluster provider offers: the `Provider` protocol.

A provider realises a profile (`app.cluster.profiles`) as a running cluster:
kwok (`app.cluster.kwok`: a real control plane as host processes, simulated
nodes) or kind (`app.cluster.kind`: real kubelets in Docker). `kprep cluster
...` and the live grader only talk to this protocol; what differs between
providers (reshaping nodes for another profile, rewriting manifests so their
containers can really start) is a method here, never a branch on the
provider's name. `app.cluster.registry` maps names to implementations.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, Protocol

from app.cluster.nodes import NodeRow
from app.cluster.profiles import Profile

Echo = Callable[[str], None]
"""Where a provider reports progress (one line at a time)."""


class Provider(Protocol):
    """A way to run a profile as a cluster (kwok, kind)."""

    name: str
    starts_containers: bool
    """Whether the nodes really start containers (kind) or only mark pods Running (kwok).
    The live grader counts a bound pod as placed only once it started where they do."""

    @property
    def kubeconfig_path(self) -> Path:
        """kprep's own kubeconfig for the cluster (never ~/.kube/config)."""
        ...

    def up(self, profile: Profile, *, dry_run: bool = False, echo: Echo = print) -> None:
        """Create or reuse the cluster for `profile`; return once every node is Ready."""
        ...

    def down(self) -> None:
        """Delete the cluster and its state; a no-op when there is none."""
        ...

    def status(self) -> Sequence[NodeRow]:
        """Every node with labels, taints, device counts and pods. ClusterError if down."""
        ...

    def ensure_profile(self, profile: Profile, *, echo: Echo = print) -> None:
        """Make the running cluster realise `profile`, or raise ClusterError saying how.

        kwok reshapes its nodes in well under a second; kind must be recreated.
        """
        ...

    def runnable(self, manifest: dict[str, Any]) -> dict[str, Any] | None:
        """The object to apply for real when it differs from the answer's, else None.

        kwok never starts containers; kind does, so it swaps images for a
        placeholder that exists on its nodes.
        """
        ...

    def lacks(self, kinds: Collection[str]) -> str | None:
        """Why this cluster cannot show what objects of these kinds would do (no
        controller or driver for them runs here), or None when it can."""
        ...
