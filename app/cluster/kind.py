"""The kind provider: a profile realised as a kind cluster whose GPUs come from a device plugin.

kind nodes are real kubelets in Docker containers, so GPUs are advertised the
way real GPUs are: kprep's fake device plugin (`app.deviceplugin`) runs as a
DaemonSet on the GPU workers and registers each node's extended resources with
its kubelet. What this module owns:

- `render_kind_config(profile)`: a kind `Cluster` (v1alpha4) with one control
  plane and one worker per profile node, all on the pinned `kindest/node`
  image. Each worker gets the profile node's labels at creation
  (`nodes[].labels`), plus `kprep.dev/node=<profile node name>` and
  `kprep.dev/profile=<profile>`, and its taints through a kubeadm
  `JoinConfiguration` patch (`nodeRegistration.taints`, valid in kubeadm
  v1beta3 and v1beta4 alike).
- `render_manifests(profile)`: the plugin's Namespace, ServiceAccount and one
  DaemonSet per (device resource, count) pair, pinned by node affinity on
  `kprep.dev/node` to exactly the nodes with that pair and tolerating their
  taints. `deploy/rbac.yaml` and `deploy/daemonset.yaml` are these manifests
  for the default profile (a test keeps them in step).
- `KindProvider`: `up` (check docker and kind, create cluster `kprep`, build
  and `kind load` the plugin image, apply the manifests and the profile's CRDs,
  wait until every GPU node advertises its GPUs), `down`, `status`. It keeps its
  own kubeconfig under `app.paths.data_dir()/cluster/kind/` and never touches
  `~/.kube/config`.
- `runnable_on_kind(manifest)`: the image rewrite the live grader applies on
  kind (below).

**Same verdicts as kwok, and what differs.** Labels, taints, zones and GPU
counts are the profile's on both providers, and the real scheduler decides
placement on both. Differences a scenario author should know:

- Node *names* are kind's (`kprep-worker`, `kprep-worker2`, ...). The profile
  name is in the labels `kubernetes.io/hostname` and `kprep.dev/node`, so
  nodeSelectors, affinities and topology spread on hostname behave as on kwok.
- A worker's cpu and memory are the Docker host's, not the profile's: kubelet
  reports the machine it runs on and overwrites any patch. Verdicts that depend
  on cpu/memory fitting are only faithful on kwok.
- The control-plane node exists (tainted `node-role.kubernetes.io/control-plane`),
  so a pod tolerating every taint (`operator: Exists`) can land there.
- Pods really start, so every container image must exist and be pullable.
  kprep's approach: on kind the live grader passes each manifest through
  `runnable_on_kind`, which swaps every container image for the tiny
  `registry.k8s.io/pause` image (already on kind nodes; a few hundred KB
  otherwise), drops command, probes and lifecycle hooks (kwok ignores them
  too), and makes containers that must finish (Job and CronJob pods, init
  containers) run `/pause -v`, which prints its version and exits 0, so Jobs
  complete as they do under kwok's pod-complete stage. Resources, env, ports,
  volumes, security context, scheduling fields are untouched.
- Volumes are really mounted: a pod naming a missing ConfigMap, Secret or PVC
  stays ContainerCreating/Pending on kind, while kwok marks it Running.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from app import __version__
from app.cluster.active import cluster_root
from app.cluster.crds import install_crds, profile_crds
from app.cluster.errors import ClusterError, ClusterNotRunning, ClusterUnreachable
from app.cluster.kube import ApiError, Kube
from app.cluster.nodes import NodeRow, node_ready, node_rows
from app.cluster.profiles import NodeSpec, Profile, Taint
from app.cluster.provider import Echo
from app.cluster.wait import WaitTimeout, poll_until
from app.k8s.resources import int_quantity

CLUSTER_NAME = "kprep"
KIND_NODE_IMAGE = "kindest/node:v1.36.1"
"""The node image, pinned: kind v0.32.0's default, the same Kubernetes as kwok's."""
MIN_KIND_VERSION = (0, 32, 0)
"""kind releases before this generate kubeadm v1beta3 configs, which 1.36 no longer takes."""
MAX_KIND_WORKERS = 16
"""A worker is a container running a kubelet; past this many, use the kwok provider."""
NAMESPACE = "kprep-system"
PLUGIN_NAME = "fake-gpu-plugin"
PLUGIN_IMAGE_REPO = "kprep/fake-gpu-plugin"
DEFAULT_PLUGIN_IMAGE = f"{PLUGIN_IMAGE_REPO}:{__version__}"
NODE_LABEL = "kprep.dev/node"
"""On every worker: the profile node it realises (kind names nodes itself)."""
PROFILE_LABEL = "kprep.dev/profile"
"""On every worker: the profile the cluster was created from."""
DEVICE_SET_LABEL = "kprep.dev/device-set"
"""On each plugin DaemonSet and its pods: `<resource slug>-x<count>`."""
IMAGE_ID_ANNOTATION = "kprep.dev/image-id"
DEVICE_PLUGIN_DIR = "/var/lib/kubelet/device-plugins"
HEALTH_DIR = "/var/lib/kprep/health"
"""On each GPU node (inside the kind container): `<resource slug>` files list unhealthy devices."""
PLACEHOLDER_IMAGE = "registry.k8s.io/pause:3.10.1"
DEFAULT_WAIT_SECONDS = 240.0

_REPO_ROOT = Path(__file__).resolve().parents[2]
_DEPENDENT_FIELDS = ("command", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle")

INSTALL_DOCKER = (
    "Install Docker: Docker Desktop on macOS and Windows "
    "(https://docs.docker.com/get-docker/); on Linux, Docker Engine "
    "(https://docs.docker.com/engine/install/, or `curl -fsSL https://get.docker.com | sh`). "
    "No Docker? Use `kprep cluster up --provider kwok` instead."
)
INSTALL_KIND = (
    "Install kind v0.32.0 or later: `go install sigs.k8s.io/kind@v0.32.0`, or "
    "`brew install kind`, or download the binary from "
    "https://kind.sigs.k8s.io/docs/user/quick-start/#installing-from-release-binaries "
    "(e.g. `curl -Lo kind https://kind.sigs.k8s.io/dl/v0.32.0/kind-linux-amd64 && "
    "chmod +x kind && sudo mv kind /usr/local/bin/`)."
)


# -- rendering ---------------------------------------------------------------


def resource_slug(resource_name: str) -> str:
    """`nvidia.com/mig-1g.5gb` -> `nvidia-com-mig-1g-5gb` (same as the plugin's)."""
    return re.sub(r"[^a-z0-9]+", "-", resource_name.lower()).strip("-")


def worker_labels(profile: Profile, node: NodeSpec) -> dict[str, str]:
    """The labels a worker gets at creation: the profile's, plus kprep's two."""
    return {**node.labels, NODE_LABEL: node.name, PROFILE_LABEL: profile.name}


def _taint_patch(taints: Iterable[Taint]) -> str:
    patch = {
        "kind": "JoinConfiguration",
        "nodeRegistration": {"taints": [t.as_dict() for t in taints]},
    }
    return _dump(patch)


def kind_config(profile: Profile) -> dict[str, Any]:
    """The kind Cluster config for a profile, as data."""
    nodes: list[dict[str, Any]] = [{"role": "control-plane", "image": KIND_NODE_IMAGE}]
    for node in profile.nodes:
        worker: dict[str, Any] = {
            "role": "worker",
            "image": KIND_NODE_IMAGE,
            "labels": worker_labels(profile, node),
        }
        if node.taints:
            worker["kubeadmConfigPatches"] = [_taint_patch(node.taints)]
        nodes.append(worker)
    return {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": CLUSTER_NAME,
        "nodes": nodes,
    }


def render_kind_config(profile: Profile) -> str:
    """The kind Cluster config for a profile, as YAML (`kind create cluster --config`)."""
    header = (
        f"# kind cluster for kprep profile {profile.name!r}: 1 control plane, "
        f"{len(profile.nodes)} workers. Generated by kprep; do not edit.\n"
    )
    return header + _dump(kind_config(profile))


@dataclass(frozen=True)
class DeviceSet:
    """One plugin DaemonSet: a device resource, a count, and the nodes that have that pair."""

    resource: str
    count: int
    nodes: tuple[NodeSpec, ...]

    @property
    def name(self) -> str:
        return f"{PLUGIN_NAME}-{self.label}"

    @property
    def label(self) -> str:
        return f"{resource_slug(self.resource)}-x{self.count}"


def device_sets(profile: Profile) -> list[DeviceSet]:
    """Group the profile's nodes by (device resource, count), in a stable order."""
    grouped: dict[tuple[str, int], list[NodeSpec]] = {}
    for node in profile.nodes:
        for resource, count in node.device_resources.items():
            grouped.setdefault((resource, count), []).append(node)
    return [
        DeviceSet(resource, count, tuple(nodes))
        for (resource, count), nodes in sorted(grouped.items())
    ]


def _tolerations(nodes: Iterable[NodeSpec]) -> list[dict[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for node in nodes:
        for taint in node.taints:
            seen.setdefault((taint.key, taint.effect), None)
    return [{"key": key, "operator": "Exists", "effect": effect} for key, effect in sorted(seen)]


def _daemonset(device_set: DeviceSet, image: str, image_id: str | None) -> dict[str, Any]:
    labels = {
        "app.kubernetes.io/name": PLUGIN_NAME,
        "app.kubernetes.io/part-of": "kprep",
        DEVICE_SET_LABEL: device_set.label,
    }
    selector = {"app.kubernetes.io/name": PLUGIN_NAME, DEVICE_SET_LABEL: device_set.label}
    pod_metadata: dict[str, Any] = {"labels": labels}
    if image_id:
        # A rebuilt image keeps its tag; the annotation makes the DaemonSet roll.
        pod_metadata["annotations"] = {IMAGE_ID_ANNOTATION: image_id}
    slug = resource_slug(device_set.resource)
    container = {
        "name": "plugin",
        "image": image,
        "imagePullPolicy": "IfNotPresent",  # loaded by `kind load`; never pulled
        "args": [
            "--resource",
            device_set.resource,
            "--count",
            str(device_set.count),
            "--plugin-dir",
            DEVICE_PLUGIN_DIR,
            "--health-file",
            f"{HEALTH_DIR}/{slug}",
        ],
        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": {
            # Root only to own a socket in the kubelet's root-owned folder; nothing else.
            "runAsUser": 0,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "device-plugins", "mountPath": DEVICE_PLUGIN_DIR},
            {"name": "health", "mountPath": HEALTH_DIR, "readOnly": True},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": device_set.name, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": pod_metadata,
                "spec": {
                    "serviceAccountName": PLUGIN_NAME,
                    "automountServiceAccountToken": False,
                    "priorityClassName": "system-node-critical",
                    "terminationGracePeriodSeconds": 10,
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {
                                        "matchExpressions": [
                                            {
                                                "key": NODE_LABEL,
                                                "operator": "In",
                                                "values": sorted(n.name for n in device_set.nodes),
                                            }
                                        ]
                                    }
                                ],
                            },
                        }
                    },
                    "tolerations": _tolerations(device_set.nodes),
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "device-plugins",
                            "hostPath": {"path": DEVICE_PLUGIN_DIR, "type": "Directory"},
                        },
                        {
                            "name": "health",
                            "hostPath": {"path": HEALTH_DIR, "type": "DirectoryOrCreate"},
                        },
                    ],
                },
            },
        },
    }


def render_manifests(
    profile: Profile, image: str = DEFAULT_PLUGIN_IMAGE, image_id: str | None = None
) -> list[dict[str, Any]]:
    """The plugin's manifests for a profile: Namespace, ServiceAccount, DaemonSets.

    The plugin talks only to its kubelet, over a unix socket, never to the API
    server; so its ServiceAccount gets no token and no Role or ClusterRole.
    `image_id`, when given, is stamped on the pod template so a rebuilt image
    with an unchanged tag still rolls out.
    """
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {
                "app.kubernetes.io/part-of": "kprep",
                # hostPath mounts need the privileged Pod Security level.
                "pod-security.kubernetes.io/enforce": "privileged",
            },
        },
    }
    service_account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": PLUGIN_NAME,
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/name": PLUGIN_NAME, "app.kubernetes.io/part-of": "kprep"},
        },
        "automountServiceAccountToken": False,
    }
    daemonsets = [_daemonset(s, image, image_id) for s in device_sets(profile)]
    return [namespace, service_account, *daemonsets]


def dump_manifests(manifests: Iterable[dict[str, Any]]) -> str:
    """Manifests as one multi-document YAML stream."""
    return "---\n".join(_dump(m) for m in manifests)


class _Dumper(yaml.SafeDumper):
    """Block style, no anchors; multi-line strings (kubeadm patches) as `|` literals."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)


# -- making scenario manifests runnable on kind -----------------------------


def runnable_on_kind(manifest: dict[str, Any]) -> dict[str, Any]:
    """A copy of `manifest` whose containers run the pause image (see the module docstring).

    Every pod spec found anywhere in the object (Pod, Deployment, StatefulSet,
    Job, CronJob, or a custom resource embedding pod templates) is rewritten.
    """
    result = copy.deepcopy(manifest)
    finishes = manifest.get("kind") in ("Job", "CronJob")
    _rewrite_pod_specs(result, finishes)
    return result


def _rewrite_pod_specs(value: Any, finishes: bool) -> None:
    if isinstance(value, list):
        for item in value:
            _rewrite_pod_specs(item, finishes)
        return
    if not isinstance(value, dict):
        return
    containers = value.get("containers")
    if isinstance(containers, list) and all(isinstance(c, dict) for c in containers):
        for container in containers:
            _placeholder(container, exits=finishes)
        for container in value.get("initContainers") or []:
            if isinstance(container, dict):
                # A restartPolicy: Always init container is a sidecar: it keeps running.
                _placeholder(container, exits=container.get("restartPolicy") != "Always")
        return
    for item in value.values():
        _rewrite_pod_specs(item, finishes)


def _placeholder(container: dict[str, Any], *, exits: bool) -> None:
    container["image"] = PLACEHOLDER_IMAGE
    container["imagePullPolicy"] = "IfNotPresent"
    for name in _DEPENDENT_FIELDS:
        container.pop(name, None)
    if exits:
        container["args"] = ["-v"]  # `/pause -v` prints its version and exits 0
    else:
        container.pop("args", None)


# -- status ------------------------------------------------------------------


def pending_nodes(profile: Profile, nodes: Iterable[dict[str, Any]]) -> list[str]:
    """What is still missing before the cluster matches the profile; empty when it does.

    A profile node is done when its worker is Ready and advertises each of its
    device resources in allocatable with the profile's count.
    """
    by_profile_node = {
        ((n.get("metadata") or {}).get("labels") or {}).get(NODE_LABEL): n for n in nodes
    }
    pending: list[str] = []
    for spec in profile.nodes:
        node = by_profile_node.get(spec.name)
        if node is None:
            pending.append(f"{spec.name}: no node labelled {NODE_LABEL}={spec.name}")
            continue
        where = f"{spec.name} (node {(node.get('metadata') or {}).get('name')})"
        if not node_ready(node):
            pending.append(f"{where}: not Ready")
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        for resource, count in spec.device_resources.items():
            have = allocatable.get(resource)
            if int_quantity(have) != count:
                pending.append(
                    f"{where}: allocatable {resource} is {have or 'absent'}, want {count}"
                )
    return pending


# -- the provider ------------------------------------------------------------


def _parse_kind_version(text: str) -> tuple[int, int, int] | None:
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return (major, minor, patch)


class KindProvider:
    """Creates, inspects and deletes the kind cluster `kprep` for a profile."""

    name = "kind"

    def __init__(self, course_dir: Path, state_dir: Path | None = None) -> None:
        self.course_dir = course_dir
        self.state_dir = state_dir or cluster_root() / "kind"
        self.wait_seconds = DEFAULT_WAIT_SECONDS
        """How long `up` waits for every node to advertise its GPUs."""

    @property
    def kubeconfig_path(self) -> Path:
        """kprep's own kubeconfig for the cluster (never ~/.kube/config)."""
        return self.state_dir / "kubeconfig"

    @property
    def config_path(self) -> Path:
        return self.state_dir / "kind-config.yaml"

    @property
    def state_path(self) -> Path:
        return self.state_dir / "state.json"

    # up ----------------------------------------------------------------------

    def up(self, profile: Profile, *, dry_run: bool = False, echo: Echo = print) -> None:
        """Create (or reuse) the cluster for `profile` and wait until its GPUs are advertised.

        With `dry_run`, print the kind config and every manifest and touch nothing.
        """
        if dry_run:
            echo(self.render_dry_run(profile))
            return
        if len(profile.nodes) > MAX_KIND_WORKERS:
            raise ClusterError(
                f"profile {profile.name!r} has {len(profile.nodes)} nodes; kind runs each as a "
                f"container, and kprep stops at {MAX_KIND_WORKERS}. "
                "Use `kprep cluster up --provider kwok` for large profiles."
            )
        self.check_tools()
        crds = profile_crds(profile, self.course_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)

        if CLUSTER_NAME in self._clusters():
            self._check_reusable(profile)
            echo(f"kind cluster {CLUSTER_NAME!r} exists; reusing it")
        else:
            self.config_path.write_text(render_kind_config(profile), encoding="utf-8")
            echo(
                f"creating kind cluster {CLUSTER_NAME!r}: 1 control plane + "
                f"{len(profile.nodes)} workers ({KIND_NODE_IMAGE}); this takes a few minutes"
            )
            self._run(
                [
                    "kind",
                    "create",
                    "cluster",
                    "--name",
                    CLUSTER_NAME,
                    "--config",
                    str(self.config_path),
                    "--kubeconfig",
                    str(self.kubeconfig_path),
                    "--wait",
                    "180s",
                ],
                timeout=900,
            )
        self._write_state(profile)
        self._export_kubeconfig()

        image = DEFAULT_PLUGIN_IMAGE
        echo(f"building the fake GPU device plugin image {image}")
        image_id = self._build_image(image)
        echo(f"loading {image} into the kind nodes")
        self._run(["kind", "load", "docker-image", image, "--name", CLUSTER_NAME], timeout=600)

        with self._kube() as kube:
            install_crds(kube, crds, echo)
            echo("applying the device plugin manifests")
            self._apply(kube, render_manifests(profile, image, image_id))
            gpu_nodes = len(profile.device_nodes)
            echo(
                f"waiting for {gpu_nodes} GPU nodes to advertise their GPUs "
                f"(up to {int(self.wait_seconds)}s)"
            )
            self._wait_until_advertised(kube, profile)
        echo(
            f"kind cluster {CLUSTER_NAME!r} is up with profile {profile.name!r}; "
            f"kubeconfig: {self.kubeconfig_path}"
        )

    def render_dry_run(self, profile: Profile) -> str:
        """What `up(dry_run=True)` prints: the kind config, then every manifest."""
        parts = [
            f"# kind create cluster --name {CLUSTER_NAME} --config <this first document> "
            f"--kubeconfig {self.kubeconfig_path}\n" + render_kind_config(profile),
            f"# docker build -f deploy/Dockerfile -t {DEFAULT_PLUGIN_IMAGE} . && "
            f"kind load docker-image {DEFAULT_PLUGIN_IMAGE} --name {CLUSTER_NAME}\n"
            "# then applied (server-side apply):\n" + dump_manifests(render_manifests(profile)),
        ]
        for crd_file in profile.crds:
            path = self._crd_path(profile, crd_file)
            if path.is_file():
                parts.append(
                    f"# CRDs from {path}\n" + path.read_text(encoding="utf-8").removeprefix("---\n")
                )
            else:
                parts.append(f"# CRDs from {path} (file missing: `up` would fail)\n")
        return "---\n".join(part if part.endswith("\n") else part + "\n" for part in parts)

    def check_tools(self) -> None:
        """Raise ClusterError unless docker (with a running daemon) and a recent kind exist."""
        missing = [tool for tool in ("docker", "kind") if shutil.which(tool) is None]
        if missing:
            hints = {"docker": INSTALL_DOCKER, "kind": INSTALL_KIND}
            raise ClusterError(
                f"the kind provider needs {' and '.join(missing)}, not found on PATH.\n"
                + "\n".join(f"- {hints[tool]}" for tool in missing)
            )
        try:
            self._run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=30)
        except ClusterError as exc:
            raise ClusterError(
                "docker is installed but its daemon does not answer: start Docker Desktop, "
                "or `sudo systemctl start docker` on Linux (and make sure your user may use "
                f"it).\n{exc}"
            ) from exc
        version_text = self._run(["kind", "version"], timeout=30).stdout
        version = _parse_kind_version(version_text)
        if version is not None and version < MIN_KIND_VERSION:
            wanted = ".".join(str(p) for p in MIN_KIND_VERSION)
            raise ClusterError(
                f"kind {version_text.strip()} is too old for {KIND_NODE_IMAGE}; "
                f"kprep needs v{wanted} or later.\n- {INSTALL_KIND}"
            )

    # down --------------------------------------------------------------------

    def down(self) -> None:
        """Delete the cluster and kprep's kubeconfig for it (a no-op when it is gone)."""
        if shutil.which("kind") is None:
            raise ClusterError(
                f"cannot delete the kind cluster: kind is not on PATH.\n- {INSTALL_KIND}"
            )
        self._run(
            [
                "kind",
                "delete",
                "cluster",
                "--name",
                CLUSTER_NAME,
                "--kubeconfig",
                str(self.kubeconfig_path),
            ],
            timeout=300,
        )
        for path in (self.kubeconfig_path, self.state_path, self.config_path):
            path.unlink(missing_ok=True)

    # status ------------------------------------------------------------------

    def status(self) -> list[NodeRow]:
        """Every node with its labels, taints, device allocatable/used and pods."""
        if not self.kubeconfig_path.is_file():
            raise ClusterNotRunning(
                f"no kind cluster is up (no {self.kubeconfig_path}); run "
                "`kprep cluster up --provider kind`"
            )
        try:
            with self._kube() as kube:
                nodes = kube.get("/api/v1/nodes").get("items") or []
                pods = kube.get("/api/v1/pods").get("items") or []
        except ClusterUnreachable as exc:
            raise ClusterUnreachable(
                f"{exc}. Is Docker running? `docker start kprep-control-plane` (and the "
                "workers), or `kprep cluster down` then `up --provider kind`"
            ) from exc
        return node_rows(nodes, pods, NODE_LABEL)

    def ensure_profile(self, profile: Profile, *, echo: Echo = print) -> None:
        """kind cannot reshape its workers: a cluster of another profile must be recreated."""
        del echo
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {}
        running = state.get("profile") if isinstance(state, dict) else None
        if running != profile.name:
            raise ClusterError(
                f"this check needs cluster profile {profile.name!r}, but the kind cluster runs "
                f"{running!r}: `kprep cluster down && kprep cluster up --provider kind "
                f"--profile {profile.name}`"
            )

    def runnable(self, manifest: dict[str, Any]) -> dict[str, Any] | None:
        """Containers really start on kind: swap their images for the placeholder."""
        return runnable_on_kind(manifest)

    # helpers -----------------------------------------------------------------

    def _run(self, args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        command = " ".join(args)
        try:
            result = subprocess.run(
                args, capture_output=True, text=True, timeout=timeout, check=False
            )
        except FileNotFoundError as exc:
            raise ClusterError(f"`{args[0]}` is not installed or not on PATH") from exc
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(f"`{command}` did not finish within {int(timeout)}s") from exc
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip().splitlines()[-15:]
            raise ClusterError(
                f"`{command}` failed (exit {result.returncode}):\n" + "\n".join(output)
            )
        return result

    def _clusters(self) -> list[str]:
        return self._run(["kind", "get", "clusters"], timeout=60).stdout.split()

    def _check_reusable(self, profile: Profile) -> None:
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = None
        if not isinstance(state, dict):
            raise ClusterError(
                f"a kind cluster named {CLUSTER_NAME!r} exists but kprep has no record of "
                f"creating it (no {self.state_path}). Delete it with "
                f"`kind delete cluster --name {CLUSTER_NAME}` and run `kprep cluster up` again."
            )
        if state.get("profile") != profile.name:
            raise ClusterError(
                f"the kind cluster {CLUSTER_NAME!r} was created for profile "
                f"{state.get('profile')!r}, not {profile.name!r}; run `kprep cluster down` first."
            )

    def _write_state(self, profile: Profile) -> None:
        state = {
            "provider": "kind",
            "cluster": CLUSTER_NAME,
            "profile": profile.name,
            "nodeImage": KIND_NODE_IMAGE,
        }
        self.state_path.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")

    def _export_kubeconfig(self) -> None:
        text = self._run(["kind", "get", "kubeconfig", "--name", CLUSTER_NAME], timeout=60).stdout
        self.kubeconfig_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.kubeconfig_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)

    def _build_image(self, image: str) -> str:
        dockerfile = _REPO_ROOT / "deploy" / "Dockerfile"
        if not dockerfile.is_file():
            raise ClusterError(
                f"cannot build the device plugin image: {dockerfile} is missing. The kind "
                "provider builds it from a kprep checkout (git clone, then `pip install -e .`)."
            )
        self._run(
            ["docker", "build", "-f", str(dockerfile), "-t", image, str(_REPO_ROOT)], timeout=900
        )
        return self._run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", image], timeout=60
        ).stdout.strip()

    def _crd_path(self, profile: Profile, crd_file: str) -> Path:
        return profile.crd_path(crd_file, self.course_dir)

    def _kube(self) -> Kube:
        return Kube(self.kubeconfig_path)

    def _apply(self, kube: Kube, manifests: list[dict[str, Any]]) -> None:
        for manifest in manifests:
            metadata = manifest.get("metadata") or {}
            what = f"{manifest.get('kind')} {metadata.get('name')}"
            try:
                kube.apply(manifest, namespace=metadata.get("namespace"))
            except ApiError as exc:
                raise ClusterError(f"applying {what} failed: {exc}") from exc

    def _wait_until_advertised(self, kube: Kube, profile: Profile) -> None:
        pending: list[str] = []

        def advertised() -> bool:
            try:
                nodes = kube.get("/api/v1/nodes", labelSelector=NODE_LABEL).get("items") or []
                pending[:] = pending_nodes(profile, nodes)
            except (ApiError, ClusterError) as exc:  # the API server may blip as nodes join
                pending[:] = [f"listing nodes failed: {exc}"]
            return not pending

        try:
            poll_until(advertised, timeout=self.wait_seconds, interval=2)
        except WaitTimeout as exc:
            raise ClusterError(
                f"timed out after {int(self.wait_seconds)}s waiting for the GPU nodes:\n"
                + "\n".join(f"- {line}" for line in pending)
                + f"\nInspect with: kubectl --kubeconfig {self.kubeconfig_path} -n "
                f"{NAMESPACE} get pods -o wide   (and `kubectl logs` on a plugin pod)"
            ) from exc
