"""The cluster providers kprep knows, by name.

`make_provider("kwok", course_dir)` returns a `Provider`. The provider modules
import only the protocol, the node rows and the active-cluster record, never
this module, so there is no import circle.
"""

from __future__ import annotations

from pathlib import Path

from app.cluster.errors import ClusterError
from app.cluster.provider import Provider

PROVIDERS: tuple[str, ...] = ("kwok", "kind")
DEFAULT_PROVIDER = "kwok"


def make_provider(name: str, course_dir: Path, *, node_image: str | None = None) -> Provider:
    """The provider called `name`, working on the course in `course_dir`.

    `node_image` (`--node-image`) is the kind node image to use; only kind has one.
    """
    if node_image is not None and name != "kind":
        raise ClusterError(f"--node-image is for the kind provider, not {name}")
    if name == "kwok":
        # deferred: start-up cost, `kprep check --live` on kwok never loads kind
        from app.cluster.kwok import KwokProvider

        return KwokProvider(course_dir)
    if name == "kind":
        from app.cluster.kind import KindProvider  # deferred: start-up cost, as kwok's

        return KindProvider(course_dir, node_image=node_image)
    raise ClusterError(f"unknown provider {name!r} (known: {', '.join(PROVIDERS)})")
