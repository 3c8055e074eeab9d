"""Where the cluster add-ons' binaries are: the folders `hack/build-addons.sh` fills.

The build script puts each group (one wrapper Go module under
`hack/modules/<group>/`) in `<cache>/kprep/bin/addons/<group>-<hash>/`, the hash
taken over the module's sources, and writes `.stamp-<group>` (the same hash)
once every binary of the group built and ran. `group_hash` computes the hash
exactly as the script's `group_hash` does (a unit test runs both), so kprep
finds the binaries built from *this* checkout's sources, never another's.
`KPREP_ADDONS_BIN_DIR` names one folder holding every group instead.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from app.cluster.errors import ClusterError
from app.paths import cache_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULES_DIR = REPO_ROOT / "hack" / "modules"
ADDONS_BIN_DIR_ENV = "KPREP_ADDONS_BIN_DIR"
ADDONS_ENV = "KPREP_ADDONS"
"""`KPREP_ADDONS=0`: `cluster up` starts no add-ons (no metrics APIs, no operators)."""
BUILD_HINT = (
    "build them with `bash hack/build-addons.sh` from a kprep checkout (Go 1.26; "
    "cold: tens of minutes on 2 cores, then cached)"
)

GROUP_BINARIES: dict[str, tuple[str, ...]] = {
    "metrics": ("metrics-server", "kprep-metrics-adapter", "kprep-pki"),
    "operators": ("jobset-controller", "trainer-controller-manager"),
    "training-operator": ("training-operator",),
}
"""Keep in step with `binaries_of` in hack/build-addons.sh (a unit test compares them)."""

_HASHED_SUFFIXES = (".go",)
_HASHED_NAMES = ("go.mod", "go.sum")


def group_hash(group: str, repo_root: Path = REPO_ROOT) -> str:
    """The build script's folder key: sha256 over `sha256sum`'s lines of the module's files.

    `sha256sum` prints "<hex>  <path>\\n" per file; the script sorts the paths
    (relative to the repo root, byte order), hashes the concatenated lines and
    keeps 12 hex digits.
    """
    module = repo_root / "hack" / "modules" / group
    if not module.is_dir():
        raise ClusterError(
            f"no add-on module {module} (add-on groups: {', '.join(GROUP_BINARIES)})"
        )
    files = sorted(
        path.relative_to(repo_root).as_posix()
        for path in module.rglob("*")
        if path.is_file() and (path.suffix in _HASHED_SUFFIXES or path.name in _HASHED_NAMES)
    )
    lines = "".join(
        f"{hashlib.sha256((repo_root / name).read_bytes()).hexdigest()}  {name}\n" for name in files
    )
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()[:12]


def addons_root() -> Path:
    """The parent of every group folder (the build script prints it)."""
    return cache_dir() / "bin" / "addons"


def group_dir(group: str) -> Path:
    """Where this checkout's build of `group` lives (KPREP_ADDONS_BIN_DIR overrides)."""
    from_env = os.environ.get(ADDONS_BIN_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    if MODULES_DIR.is_dir():
        return addons_root() / f"{group}-{group_hash(group)}"
    # An installed kprep has no hack/: take the newest complete build of the group.
    complete = sorted(
        (d for d in addons_root().glob(f"{group}-*") if (d / f".stamp-{group}").is_file()),
        key=lambda d: d.stat().st_mtime,
    )
    return complete[-1] if complete else addons_root() / f"{group}-missing"


@dataclass(frozen=True)
class AddonBinaries:
    """Path of every add-on binary, by name."""

    paths: dict[str, Path]

    def __getitem__(self, name: str) -> Path:
        return self.paths[name]


def find_addon_binaries(groups: tuple[str, ...] = tuple(GROUP_BINARIES)) -> AddonBinaries:
    """Every binary of `groups`; ClusterError naming each missing one and the build script."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for group in groups:
        folder = group_dir(group)
        for name in GROUP_BINARIES[group]:
            path = folder / name
            if path.is_file() and os.access(path, os.X_OK):
                found[name] = path
            else:
                missing.append(f"{name} ({group}, in {folder})")
    if missing:
        raise ClusterError(
            "`kprep cluster up` runs the cluster add-ons (metrics APIs, JobSet, Kubeflow "
            f"Trainer, training operator) from local binaries; missing: {'; '.join(missing)}.\n"
            f"{BUILD_HINT[0].upper()}{BUILD_HINT[1:]}, or point {ADDONS_BIN_DIR_ENV} at a "
            f"folder that has them ({ADDONS_ENV}=0 starts the cluster without add-ons)."
        )
    return AddonBinaries(found)
