"""What the kind provider checks before it creates anything, and how it reads kind's failures.

- `find_kind()`: the kind binary: the pinned one `hack/build-kind-node.sh` built, else
  a recent enough `kind` on PATH.
- `docker_facts()`: one `docker info` call: whether the daemon answers, and the cgroup
  version, cpu count, memory and data folder the cluster config depends on.
- `preflight(...)`: host limits a kind cluster of this size needs (inotify instances,
  free disk), each failure with the command that fixes it.
- `failure_summary(output)`: the lines of a failed `kind create cluster` that say why
  (kind's `ERROR:` line and kubeadm's `error execution phase` lines), not the stack
  trace that follows them.

Every message names the exact command to run: a user without Docker is told to run
`hack/docker-up.sh` (or how to install Docker elsewhere), never just "install Docker".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.cluster.errors import ClusterError

KIND_VERSION = "0.33.0"
K8S_VERSION = "1.36.3"
CONTAINERD_VERSION = "2.3.7"
"""Keep in step with hack/build-kind-node.sh (a unit test compares them)."""
MIN_KIND_VERSION = (0, 32, 0)
"""kind releases before this write kubeadm v1beta3 configs, which Kubernetes 1.36 refuses."""
MIN_INOTIFY_INSTANCES = 512
"""kind's known-issues page asks for 512: with the default 128, nine node containers
exhaust them and a kubelet loops on `inotify_init: too many open files`."""
MIN_FREE_BYTES = 4 * 1024**3
"""A node image (0.8-1.4 GB), one writable layer per node and the plugin image."""

REPO_ROOT = Path(__file__).resolve().parents[3]
DOCKER_UP = REPO_ROOT / "hack" / "docker-up.sh"
BUILD_NODE = REPO_ROOT / "hack" / "build-kind-node.sh"


def kind_cache_bin() -> Path:
    """Where hack/build-kind-node.sh puts the pinned kind (and containerd) binaries."""
    cache_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (
        cache_root
        / "kprep"
        / "kind"
        / f"k8s-v{K8S_VERSION}-containerd-v{CONTAINERD_VERSION}-kind-v{KIND_VERSION}"
        / "bin"
    )


def install_docker_hint() -> str:
    if DOCKER_UP.is_file():
        return (
            f"run `sudo {DOCKER_UP}`: it installs Debian's docker.io when dockerd is missing "
            "and starts it (on macOS or Windows, start Docker Desktop instead: "
            "https://docs.docker.com/get-docker/)"
        )
    return (
        "install Docker (https://docs.docker.com/engine/install/) and start it; or use "
        "`kprep cluster up --provider kwok`, which needs no Docker"
    )


def install_kind_hint() -> str:
    build = f"`{BUILD_NODE}` builds it (with the node image), or " if BUILD_NODE.is_file() else ""
    return (
        f"{build}`go install sigs.k8s.io/kind@v{KIND_VERSION}` puts kind v{KIND_VERSION} in "
        "$(go env GOPATH)/bin (add it to PATH)"
    )


def parse_kind_version(text: str) -> tuple[int, int, int] | None:
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return (major, minor, patch)


def find_kind() -> str:
    """The kind binary to run; ClusterError saying how to get one when there is none."""
    pinned = kind_cache_bin() / "kind"
    if pinned.is_file() and os.access(pinned, os.X_OK):
        return str(pinned)
    on_path = shutil.which("kind")
    if on_path is None:
        raise ClusterError(f"the kind provider needs kind, not found.\n- {install_kind_hint()}")
    try:
        text = subprocess.run(
            [on_path, "version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"`{on_path} version` failed: {exc}") from exc
    version = parse_kind_version(text)
    if version is not None and version < MIN_KIND_VERSION:
        wanted = ".".join(str(p) for p in MIN_KIND_VERSION)
        raise ClusterError(
            f"{on_path} is {text.strip()}; kprep needs kind v{wanted} or later "
            f"(Kubernetes 1.36 takes only kubeadm v1beta4 configs).\n- {install_kind_hint()}"
        )
    return on_path


@dataclass(frozen=True)
class DockerFacts:
    """What `docker info` says that the cluster config depends on."""

    server_version: str
    cgroup_version: str
    cpus: int
    memory_bytes: int
    root_dir: str

    @property
    def cgroup_v1(self) -> bool:
        return self.cgroup_version == "1"


def docker_facts() -> DockerFacts:
    """Ask the Docker daemon about itself; ClusterError saying what to run when it cannot."""
    if shutil.which("docker") is None:
        raise ClusterError(
            f"the kind provider needs Docker: no `docker` command.\n- {install_docker_hint()}"
        )
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{json .}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(
            f"`docker info` did not answer within 30s.\n- {install_docker_hint()}"
        ) from exc
    info: dict[str, object] = {}
    if result.returncode == 0:
        try:
            loaded = json.loads(result.stdout)
            info = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            info = {}
    if not info.get("ServerVersion"):
        said = (result.stderr or result.stdout).strip().splitlines()
        raise ClusterError(
            "the Docker daemon does not answer"
            + (f" ({said[-1]})" if said else "")
            + f".\n- {install_docker_hint()}"
        )
    return DockerFacts(
        server_version=str(info.get("ServerVersion")),
        cgroup_version=str(info.get("CgroupVersion") or "1"),
        cpus=int(str(info.get("NCPU") or 0)),
        memory_bytes=int(str(info.get("MemTotal") or 0)),
        root_dir=str(info.get("DockerRootDir") or ""),
    )


def tools() -> tuple[str, DockerFacts]:
    """The kind binary and the Docker daemon's facts; one ClusterError naming everything
    missing, each with what to run."""
    problems: list[str] = []
    kind = ""
    facts: DockerFacts | None = None
    try:
        kind = find_kind()
    except ClusterError as exc:
        problems.append(str(exc))
    try:
        facts = docker_facts()
    except ClusterError as exc:
        problems.append(str(exc))
    if problems or facts is None:
        raise ClusterError("\n".join(problems))
    return kind, facts


def read_int(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def preflight(
    facts: DockerFacts, *, proc: Path = Path("/proc"), need_free_bytes: int = MIN_FREE_BYTES
) -> list[str]:
    """Host limits that would break a kind cluster, each with its fix; empty when all is well.

    Checked only where they can be read: Docker Desktop's VM keeps its own limits.
    """
    problems: list[str] = []
    instances = read_int(proc / "sys" / "fs" / "inotify" / "max_user_instances")
    if instances is not None and instances < MIN_INOTIFY_INSTANCES:
        problems.append(
            f"fs.inotify.max_user_instances is {instances}; kind's node containers need "
            f"{MIN_INOTIFY_INSTANCES} (else a kubelet loops on `inotify_init: too many open "
            f"files` and the cluster never comes up). Fix: `sudo sysctl -w "
            f"fs.inotify.max_user_instances={MIN_INOTIFY_INSTANCES}` (to keep it, add "
            f"`fs.inotify.max_user_instances = {MIN_INOTIFY_INSTANCES}` to "
            "/etc/sysctl.d/99-kind.conf)"
        )
    root = Path(facts.root_dir) if facts.root_dir else None
    if root is not None and root.is_dir():
        free = shutil.disk_usage(root).free
        if free < need_free_bytes:
            problems.append(
                f"only {free / 1024**3:.1f} GiB free under Docker's data folder {root}; a kind "
                f"cluster needs about {need_free_bytes / 1024**3:.0f} GiB. Fix: `docker system "
                "prune` (removes stopped containers and unused images), or free space on that disk"
            )
    return problems


_KIND_ERROR = re.compile(r"^ERROR: ")
_KUBEADM_PHASE = re.compile(r"error execution phase")
_KUBELET_HINTS = (
    re.compile(r"\[kubelet-check\].*(not healthy|failed)", re.I),
    re.compile(r"kubelet is configured to not run on a host using cgroup v1"),
)


def failure_summary(output: str, *, limit: int = 12) -> str:
    """The lines of a failed `kind create cluster` that say why, in their order.

    kind prints `ERROR: failed to create cluster: ...` and then the whole kubeadm log
    with Go stack traces; the reason is that ERROR line plus kubeadm's `error execution
    phase ...` line and the kubelet-check lines. Falls back to the last lines.
    """
    lines = [line.rstrip() for line in output.splitlines()]
    picked: list[str] = []
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if (
            _KIND_ERROR.match(text)
            or _KUBEADM_PHASE.search(text)
            or any(p.search(text) for p in _KUBELET_HINTS)
        ) and text not in picked:
            picked.append(text)
    if not picked:
        picked = [line for line in lines if line.strip()][-limit:]
    return "\n".join(picked[:limit])


_KUBELET_FAILED = re.compile(r'"command failed" err="((?:[^"\\]|\\.)*)"')


def kubelet_failures(journal: str, *, limit: int = 3) -> list[str]:
    """The distinct reasons a kubelet gave for exiting, from its journal (`journalctl -u
    kubelet`): what `kind create cluster` never shows when kubeadm times out waiting."""
    found: list[str] = []
    for match in _KUBELET_FAILED.finditer(journal):
        reason = match.group(1).replace('\\"', '"')
        if reason not in found:
            found.append(reason)
    return found[:limit]
