"""Which cluster is kprep's current one: the record `kprep cluster up` writes.

`up` records the provider and profile it started in `data_dir()/cluster/active.json`;
the live grader reads it to find the cluster, and `down` clears it. Every
provider keeps its own state in a subfolder of `cluster_root()`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from app.paths import data_dir


def cluster_root() -> Path:
    """`data_dir()/cluster`: every provider keeps its state in a subfolder here."""
    return data_dir() / "cluster"


@dataclass(frozen=True)
class ActiveCluster:
    """The provider and profile of the cluster `kprep cluster up` last started."""

    provider: str
    profile: str


def _active_path() -> Path:
    return cluster_root() / "active.json"


def record_active(provider: str, profile: str) -> None:
    path = _active_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"provider": provider, "profile": profile}) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_active() -> ActiveCluster | None:
    try:
        data = json.loads(_active_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("provider"), str):
        return None
    return ActiveCluster(str(data["provider"]), str(data.get("profile") or "default"))


def clear_active(provider: str | None = None) -> None:
    """Forget the active cluster (only if it is `provider`'s, when given)."""
    active = read_active()
    if active is None or provider is None or active.provider == provider:
        _active_path().unlink(missing_ok=True)
