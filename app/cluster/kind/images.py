"""The images a kind cluster of kprep's runs: the node image, the device plugin, the placeholder.

**Node image.** Two are pinned, for the same kind release (v0.33.0):

- the public `kindest/node` kind v0.33.0 publishes for Kubernetes 1.36, by digest
  (`PUBLIC_NODE_IMAGE`; kind publishes v1.36.4 for this release, a patch above
  the v1.36.3 kprep's control plane runs);
- kprep's own, built offline by `hack/build-kind-node.sh` (`LOCAL_NODE_IMAGE`,
  Kubernetes v1.36.3).

`resolve_node_image` looks locally first and never waits on a network that is not
there: a `--node-image` the user named, else the public image if Docker has it,
else the local one if built, else a bounded `docker pull` of the public one, else
the local build (from a kprep checkout). The caller prints which one and why.

**Plugin image.** `hack/build-plugin-image.sh` builds it (offline, ~42 MB, cached by
a recipe label); `load_plugin_image` copies it into the GPU workers only (the
plugin runs nowhere else), skipped when the cluster already has that image id.

**Placeholder.** Answers' containers run the pause image the nodes already hold
(`placeholder_from_nodes`: from the kubelets' reported images), so nothing is pulled.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from app.cluster.errors import ClusterError
from app.cluster.kind.manifests import DEFAULT_PLACEHOLDER_IMAGE
from app.cluster.kind.preflight import BUILD_NODE, REPO_ROOT, failure_summary

PUBLIC_NODE_IMAGE = (
    "kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed"
)
"""kind v0.33.0's published image for Kubernetes 1.36 (its release notes list it by digest)."""
LOCAL_NODE_IMAGE = "kprep/kind-node:v1.36.3"
"""What hack/build-kind-node.sh builds (same Kubernetes as the kwok provider's)."""
PULL_TIMEOUT_SECONDS = 300.0
BUILD_PLUGIN = REPO_ROOT / "hack" / "build-plugin-image.sh"
BUILD_TIMEOUT_SECONDS = 3600.0
LOAD_TIMEOUT_SECONDS = 600.0
_PAUSE = re.compile(r"^(?:docker\.io/)?registry\.k8s\.io/pause:(\d+)\.(\d+)(?:\.(\d+))?$")

Runner = Callable[..., subprocess.CompletedProcess[str]]
Echo = Callable[[str], None]


def run(args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output; ClusterError when it cannot start or times out."""
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise ClusterError(f"`{args[0]}` is not installed or not on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(f"`{' '.join(args)}` did not finish within {int(timeout)}s") from exc


def image_present(image: str, runner: Runner = run) -> bool:
    return runner(["docker", "image", "inspect", image], timeout=60).returncode == 0


def image_id(image: str, runner: Runner = run) -> str:
    result = runner(["docker", "image", "inspect", "--format", "{{.Id}}", image], timeout=60)
    if result.returncode != 0:
        raise ClusterError(f"image {image} is not in Docker: {result.stderr.strip()}")
    return result.stdout.strip()


def pull(image: str, runner: Runner = run, timeout: float = PULL_TIMEOUT_SECONDS) -> str | None:
    """Pull with a time limit; None on success, else why it failed (one line)."""
    try:
        result = runner(["docker", "pull", image], timeout=timeout)
    except ClusterError as exc:
        return str(exc)
    if result.returncode == 0:
        return None
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit {result.returncode}"


@dataclass(frozen=True)
class NodeImage:
    """The node image `up` uses, and the sentence that says why."""

    image: str
    why: str


def resolve_node_image(
    requested: str | None, echo: Echo, runner: Runner = run, *, build: bool = True
) -> NodeImage:
    """Pick the node image (see the module docstring); ClusterError when none can be had."""
    if requested:
        if image_present(requested, runner):
            return NodeImage(requested, "--node-image, found in Docker")
        echo(f"--node-image {requested} is not in Docker; pulling it")
        failed = pull(requested, runner)
        if failed is None:
            return NodeImage(requested, "--node-image, pulled")
        raise ClusterError(f"--node-image {requested}: not in Docker and the pull failed: {failed}")
    if image_present(PUBLIC_NODE_IMAGE, runner):
        return NodeImage(PUBLIC_NODE_IMAGE, "the pinned public image, found in Docker")
    if image_present(LOCAL_NODE_IMAGE, runner):
        return NodeImage(
            LOCAL_NODE_IMAGE, "kprep's offline-built image (the public one is not in Docker)"
        )
    echo(f"pulling {PUBLIC_NODE_IMAGE} (up to {int(PULL_TIMEOUT_SECONDS)}s)")
    failed = pull(PUBLIC_NODE_IMAGE, runner)
    if failed is None:
        return NodeImage(PUBLIC_NODE_IMAGE, "the pinned public image, pulled")
    if not build or not BUILD_NODE.is_file():
        raise ClusterError(
            f"no kind node image: {PUBLIC_NODE_IMAGE} cannot be pulled ({failed}) and "
            f"{LOCAL_NODE_IMAGE} was never built. Build it offline from a kprep checkout with "
            "`sudo hack/build-kind-node.sh` (Go 1.26, gcc, debootstrap; ~10 min cold), or "
            "name one with --node-image"
        )
    echo(
        f"the public node image cannot be pulled ({failed}); building {LOCAL_NODE_IMAGE} "
        f"offline with {BUILD_NODE} (cold: about 10 minutes on 2 cores; cached afterwards)"
    )
    result = runner([str(BUILD_NODE)], timeout=BUILD_TIMEOUT_SECONDS)
    if result.returncode != 0:
        raise ClusterError(
            f"{BUILD_NODE} failed (exit {result.returncode}); it resumes where it stopped when "
            "run again:\n" + failure_summary(result.stderr or result.stdout)
        )
    return NodeImage(LOCAL_NODE_IMAGE, "kprep's offline-built image, built just now")


def build_plugin_image(image: str, runner: Runner = run) -> str:
    """Build (or find cached) the device plugin image; returns its image id."""
    if not BUILD_PLUGIN.is_file():
        raise ClusterError(
            f"cannot build the device plugin image: {BUILD_PLUGIN} is missing. The kind "
            "provider builds it from a kprep checkout (git clone, then `pip install -e .`)."
        )
    result = runner([str(BUILD_PLUGIN), image], timeout=BUILD_TIMEOUT_SECONDS)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise ClusterError(
            f"building the device plugin image failed (exit {result.returncode}):\n"
            + "\n".join(lines[-20:])
        )
    return image_id(image, runner)


def load_plugin_image(
    kind: str, cluster: str, image: str, node_names: Iterable[str], runner: Runner = run
) -> None:
    """`kind load docker-image` into the named nodes only."""
    names = sorted(node_names)
    if not names:
        return
    result = runner(
        [kind, "load", "docker-image", image, "--name", cluster, "--nodes", ",".join(names)],
        timeout=LOAD_TIMEOUT_SECONDS,
    )
    if result.returncode != 0:
        raise ClusterError(
            f"`kind load docker-image {image}` failed (exit {result.returncode}):\n"
            + failure_summary(result.stderr or result.stdout)
        )


def placeholder_from_nodes(nodes: Iterable[dict[str, Any]]) -> str:
    """The newest `registry.k8s.io/pause` every node reports holding, else the default.

    The kubelet lists each node's images in `status.images`; the pause image is there
    on every node (it is the pod sandbox), pinned, so answers can run it unpulled.
    """
    common: set[str] | None = None
    for node in nodes:
        names = {
            name
            for image in (node.get("status") or {}).get("images") or []
            for name in image.get("names") or []
            if _PAUSE.match(name)
        }
        common = names if common is None else common & names
    if not common:
        return DEFAULT_PLACEHOLDER_IMAGE

    def version(name: str) -> tuple[int, int, int]:
        match = _PAUSE.match(name)
        assert match is not None
        return (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))

    best = max(common, key=version)
    return best.removeprefix("docker.io/")
