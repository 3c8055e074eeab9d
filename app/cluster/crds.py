"""Installing a profile's CRDs, the same way on every provider.

A profile lists CRD files (`crds:` in profiles/*.yaml, relative to the course
folder). `install_crds` server-side-applies them and waits (bounded) until the
API server reports each one Established, so the next request for one of their
kinds cannot race discovery.

Each applied CRD carries a label with a hash of the document kprep applied. A CRD
the cluster already holds with the same hash and Established is not applied again:
re-applying the profile's 19 upstream CRDs (3.4 MB of schemas the API server
recompiles) took 18 s on every reused `cluster up`, the add-ons' own part 2.7 s.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from app.cluster.errors import ClusterError
from app.cluster.kube import ApiError, Kube, Resource
from app.cluster.profiles import Profile
from app.cluster.provider import Echo
from app.cluster.wait import WaitTimeout, poll_until

CRD_RESOURCE = Resource(
    "apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", False
)
# Bounded, but sized for a loaded 2-core machine: the API server compiles each CRD's
# OpenAPI schema (Trainer's and KServe's run to thousands of lines) before it answers
# and before the CRD is Established; under load one apply has taken over 9 s.
ESTABLISH_TIMEOUT_SECONDS = 120.0
APPLY_TIMEOUT_SECONDS = 60.0
HASH_LABEL = "kprep.dev/crd-hash"


def crd_hash(crd: dict[str, Any]) -> str:
    """A stable digest of the CRD document as kprep would apply it (without this label)."""
    metadata = dict(crd.get("metadata") or {})
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if k != HASH_LABEL}
    metadata["labels"] = labels
    body = json.dumps({**crd, "metadata": metadata}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def labelled(crd: dict[str, Any]) -> dict[str, Any]:
    """`crd` with its hash label set (the document itself is not changed)."""
    metadata = dict(crd.get("metadata") or {})
    metadata["labels"] = {**(metadata.get("labels") or {}), HASH_LABEL: crd_hash(crd)}
    return {**crd, "metadata": metadata}


def _current(kube: Kube, name: str) -> dict[str, Any] | None:
    try:
        body = kube.request("GET", CRD_RESOURCE.path(name=name), timeout=APPLY_TIMEOUT_SECONDS).body
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise ClusterError(f"reading CRD {name} failed: {exc.message}") from exc
    return body if isinstance(body, dict) else None


def up_to_date(current: dict[str, Any] | None, crd: dict[str, Any]) -> bool:
    """True when the cluster's copy is the one kprep would apply, and Established."""
    if current is None or not _established(current):
        return False
    if (current.get("metadata") or {}).get("deletionTimestamp"):
        return False
    labels = (current.get("metadata") or {}).get("labels") or {}
    return bool(labels.get(HASH_LABEL) == crd_hash(crd))


def resolve_crd_paths(profile: Profile, course_dir: Path) -> list[Path]:
    """A profile's `crds:` entries: relative to the course folder (else to the profile file)."""
    paths = []
    for entry in profile.crds:
        path = profile.crd_path(entry, course_dir)
        if not path.is_file():
            raise ClusterError(
                f"profile {profile.name!r}: CRD file {entry!r} not found "
                f"(relative to {course_dir} or to the profile file)"
            )
        paths.append(path)
    return paths


def crd_documents(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in the files (other documents are ignored)."""
    documents: list[dict[str, Any]] = []
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in paths:
        try:
            loaded = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader))
        except (OSError, yaml.YAMLError) as exc:
            raise ClusterError(f"cannot read CRDs {path}: {exc}") from exc
        documents.extend(
            d for d in loaded if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"
        )
    return documents


def profile_crds(profile: Profile, course_dir: Path) -> list[dict[str, Any]]:
    return crd_documents(resolve_crd_paths(profile, course_dir))


def _established(body: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Established" and c.get("status") == "True"
        for c in (body.get("status") or {}).get("conditions") or []
    )


def install_crds(
    kube: Kube,
    crds: Sequence[dict[str, Any]],
    echo: Echo,
    timeout: float = ESTABLISH_TIMEOUT_SECONDS,
) -> None:
    """Apply `crds` (server-side, field manager kprep) and wait until each is Established."""
    if not crds:
        return
    stale: list[dict[str, Any]] = []
    leaving: list[str] = []
    for crd in crds:
        current = _current(kube, crd["metadata"]["name"])
        if not up_to_date(current, crd):
            stale.append(crd)
            if current is not None and (current.get("metadata") or {}).get("deletionTimestamp"):
                leaving.append(crd["metadata"]["name"])
    if not stale:
        echo(f"CRDs up to date: {len(crds)}")
        return
    if leaving:
        # An apply to a CRD being deleted would be deleted with it: let it go first.
        try:
            poll_until(lambda: all(_current(kube, n) is None for n in leaving), timeout=timeout)
        except WaitTimeout as exc:
            raise ClusterError(
                f"CRDs still being deleted after {int(timeout)}s: {', '.join(leaving)}"
            ) from exc
    for crd in stale:
        name = crd["metadata"]["name"]
        try:
            kube.request(
                "PATCH",
                CRD_RESOURCE.path(name=name),
                body=labelled(crd),
                query={"fieldManager": "kprep", "force": "true"},
                content_type="application/apply-patch+yaml",
                timeout=APPLY_TIMEOUT_SECONDS,
            )
        except ApiError as exc:
            raise ClusterError(f"installing CRD {name} failed: {exc.message}") from exc
    pending = [str(c["metadata"]["name"]) for c in stale]

    def all_established() -> bool:
        pending[:] = [
            n
            for n in pending
            if not _established(
                kube.request("GET", CRD_RESOURCE.path(name=n), timeout=APPLY_TIMEOUT_SECONDS).body
            )
        ]
        return not pending

    try:
        poll_until(all_established, timeout=timeout)
    except WaitTimeout as exc:
        raise ClusterError(
            f"CRDs not established after {int(timeout)}s: {', '.join(pending)}"
        ) from exc
    kube.forget_discovery()
    names = ", ".join(sorted(c["metadata"]["name"] for c in stale))
    kept = len(crds) - len(stale)
    echo(f"CRDs installed: {names}" + (f" ({kept} already up to date)" if kept else ""))
