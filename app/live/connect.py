"""Finding the cluster live checks run on: kprep's active cluster, or a kubeconfig context.

`connect` raises `ClusterError` with what to do (start the cluster, recreate it
for another profile); the provider decides whether it can switch profiles.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from app.cluster.active import read_active
from app.cluster.errors import ClusterError, ClusterNotRunning, ClusterUnreachable
from app.cluster.kube import Kube
from app.cluster.profiles import ProfileError, load_profile
from app.cluster.provider import Echo, Provider
from app.cluster.registry import make_provider
from app.course.loader import Course
from app.course.models import Scenario


@dataclass
class LiveCluster:
    """The cluster live checks run on, and how it was found."""

    kube: Kube
    provider_name: str
    """`kwok`, `kind`, or `context` (a foreign cluster via --context)."""
    profile: str | None
    description: str
    provider: Provider | None = None
    """kprep's provider for the cluster; None for a foreign context."""

    @property
    def starts_containers(self) -> bool:
        """Whether pods really start (kind, a foreign cluster) or are only marked Running."""
        return self.provider.starts_containers if self.provider is not None else True

    def runnable(self, manifest: dict[str, Any]) -> dict[str, Any] | None:
        """What to apply for real when it differs from the answer (see `Provider.runnable`)."""
        return self.provider.runnable(manifest) if self.provider is not None else None

    def lacks(self, kinds: Collection[str]) -> str | None:
        """Why live checks cannot show these kinds at work here (`Provider.lacks`); a
        foreign cluster is taken to run what it serves."""
        return self.provider.lacks(kinds) if self.provider is not None else None

    def close(self) -> None:
        self.kube.close()


def connect(
    course: Course,
    scenario: Scenario | None = None,
    *,
    context: str | None = None,
    profile: str | None = None,
    echo: Echo | None = None,
) -> LiveCluster:
    """The running kprep cluster (or a kubeconfig context); raises ClusterError with advice.

    The cluster must run `profile` (default: the scenario's, if given); the
    provider reshapes itself or says how to recreate it (`Provider.ensure_profile`).
    """
    say = echo or (lambda _message: None)
    if context:
        kube = Kube(None, context=context)
        if not kube.readyz(timeout=5):
            kube.close()
            raise ClusterUnreachable(f"the cluster of context {context!r} does not answer")
        return LiveCluster(kube, "context", None, f"context {context}")
    active = read_active()
    if active is None:
        raise ClusterNotRunning(
            "no local cluster is up. Start it with `kprep cluster up` "
            "(kwok: a few seconds once the binaries are built)"
        )
    provider = make_provider(active.provider, course.root)
    kubeconfig = provider.kubeconfig_path
    if not kubeconfig.is_file():
        raise ClusterNotRunning(
            f"the {active.provider} cluster is gone (no {kubeconfig}); "
            "start it with `kprep cluster up`"
        )
    kube = Kube(kubeconfig)
    if not kube.readyz(timeout=5):
        kube.close()
        raise ClusterUnreachable(
            f"the {active.provider} cluster does not answer; `kprep cluster up` restarts it"
        )
    running = active.profile
    wanted = profile or (scenario.profile if scenario is not None else None)
    if wanted and wanted != running:
        try:
            provider.ensure_profile(load_profile(wanted, course.root), echo=say)
        except (ProfileError, ClusterError) as exc:
            kube.close()
            if isinstance(exc, ClusterError):
                raise
            raise ClusterError(str(exc)) from exc
        kube.forget_discovery()
        running = wanted
    return LiveCluster(kube, active.provider, running, f"{active.provider} ({running})", provider)
