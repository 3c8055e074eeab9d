"""The kwok provider's binaries: the pinned versions hack/build-binaries.sh builds, where
they are found (the cache folder, or `KPREP_BIN_DIR`), and the ports kwokctl gave them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import yaml

from app.cluster.errors import ClusterError
from app.cluster.host_processes import port_free
from app.paths import cache_dir

K8S_VERSION = "1.36.3"
ETCD_VERSION = "3.6.16"
KWOK_VERSION = "0.8.0"
"""Keep in step with hack/build-binaries.sh (a unit test compares them)."""
BIN_DIR_ENV = "KPREP_BIN_DIR"
BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kwokctl",
    "kubectl",
)
BUILD_HINT = "run `hack/build-binaries.sh` from a kprep checkout (needs Go 1.26; ~20 min cold)"


def default_bin_dir() -> Path:
    """Where hack/build-binaries.sh puts the binaries (KPREP_BIN_DIR overrides)."""
    from_env = os.environ.get(BIN_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return cache_dir() / "bin" / f"k8s-v{K8S_VERSION}-etcd-v{ETCD_VERSION}-kwok-v{KWOK_VERSION}"


def find_binaries(bin_dir: Path | None = None) -> dict[str, Path]:
    """Name -> path of every binary the provider runs; ClusterError naming what is missing."""
    folder = bin_dir or default_bin_dir()
    found = {name: folder / name for name in BINARIES}
    missing = [
        name for name, path in found.items() if not (path.is_file() and os.access(path, os.X_OK))
    ]
    if missing:
        raise ClusterError(
            f"the kwok provider needs local control-plane binaries; missing in {folder}: "
            f"{', '.join(missing)}.\nBuild them: {BUILD_HINT}, or point {BIN_DIR_ENV} at a "
            "folder that has them."
        )
    return found


_PORT_KEYS = {
    "etcd": ("etcdPort", "etcdPeerPort"),
    "kube-apiserver": ("kubeApiserverPort",),
    "kube-controller-manager": ("kubeControllerManagerPort",),
    "kube-scheduler": ("kubeSchedulerPort",),
    "kwok-controller": ("kwokControllerPort",),
}
"""Component -> its port options in kwokctl's KwokctlConfiguration."""


def ports_in_use(config_path: Path, components: Sequence[str]) -> dict[str, int]:
    """Component -> the port kwokctl's config (`config_path`) gave it, for each of
    `components` whose port something listens on now; {} when the config is unreadable."""
    try:
        documents = list(yaml.safe_load_all(config_path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError):
        return {}
    config = next(
        (d for d in documents if isinstance(d, dict) and d.get("kind") == "KwokctlConfiguration"),
        {},
    )
    options = config.get("options") or {}
    taken: dict[str, int] = {}
    for component in components:
        for key in _PORT_KEYS.get(component, ()):
            port = options.get(key)
            if isinstance(port, int) and port and not port_free(port):
                taken[component] = port
    return taken
