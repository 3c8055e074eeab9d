"""`KindProvider`: create, reuse, inspect and delete the kind cluster `kprep` for a profile.

`up`, in order: the kind binary and the Docker daemon (`preflight`), the host's
limits, then either reuse a cluster kprep created for this profile or create one:
pick the node image (`images.resolve_node_image`), render the config
(`config.kind_config`) and run `kind create cluster`. Then the kubeconfig (kprep's
own, under `app.paths.data_dir()/cluster/kind/`, never `~/.kube/config`), the
placeholder image the nodes hold, the device plugin image (built, then loaded into
the GPU workers), the profile's CRDs and the plugin's DaemonSets, and a bounded wait
until every GPU worker advertises its devices.

What kprep knows about the cluster is in `state.json` beside the kubeconfig: the
profile, the node image, the control-plane container's id (so a cluster named
`kprep` that kprep did not create is never reused or deleted), the placeholder,
the cpu/memory factors and the plugin image id.

Failures leave nothing half-made: if `kind create cluster` fails, or `up` is
interrupted (Ctrl-C) or fails while creating the cluster, the cluster is deleted
before the error is raised; a cluster that existed before `up` is left alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import threading
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from app.cluster.active import cluster_root
from app.cluster.crds import install_crds, profile_crds
from app.cluster.errors import ClusterError, ClusterNotRunning, ClusterUnreachable
from app.cluster.kind import images, preflight, runner
from app.cluster.kind.config import (
    CLUSTER_NAME,
    NODE_LABEL,
    ClusterSettings,
    Scale,
    render_kind_config,
    write_conflists,
)
from app.cluster.kind.manifests import (
    DEFAULT_PLACEHOLDER_IMAGE,
    DEFAULT_PLUGIN_IMAGE,
    NAMESPACE,
    dump_manifests,
    missing_on_kind,
    render_manifests,
    runnable_on_kind,
)
from app.cluster.kube import ApiError, Kube
from app.cluster.nodes import NodeRow, node_ready, node_rows
from app.cluster.profiles import Profile, ProfileError, load_profile
from app.cluster.provider import Echo
from app.cluster.wait import WaitTimeout, poll_until
from app.k8s.resources import int_quantity

MAX_KIND_WORKERS = 16
"""A worker is a container running a kubelet; past this many, use the kwok provider."""
DEFAULT_WAIT_SECONDS = 240.0
CONTROL_PLANE = runner.CONTROL_PLANE


def pending_nodes(profile: Profile, nodes: list[dict[str, Any]]) -> list[str]:
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


class KindProvider:
    """Creates, inspects and deletes the kind cluster `kprep` for a profile."""

    name = "kind"
    starts_containers = True

    def __init__(
        self, course_dir: Path, state_dir: Path | None = None, node_image: str | None = None
    ) -> None:
        self.course_dir = course_dir
        self.state_dir = state_dir or cluster_root() / "kind"
        self.node_image = node_image
        """`--node-image`: use this one instead of choosing (see `images`)."""
        self.wait_seconds = DEFAULT_WAIT_SECONDS
        """How long `up` waits for every node to advertise its GPUs."""
        self._state: dict[str, Any] | None = None

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

    @property
    def cni_dir(self) -> Path:
        return self.state_dir / "cni"

    @property
    def log_path(self) -> Path:
        """The full output of the last `kind create cluster`."""
        return self.state_dir / "kind-create.log"

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
        kind, facts = preflight.tools()
        crds = profile_crds(profile, self.course_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        created_here = False
        try:
            if CLUSTER_NAME in runner.clusters(kind):
                self._check_reusable(profile)
                echo(f"kind cluster {CLUSTER_NAME!r} exists (kprep created it); reusing it")
                echo(f"node image: {self._read_state().get('nodeImage')} (when it was created)")
            else:
                problems = preflight.preflight(facts)
                if problems:
                    raise ClusterError(
                        "this machine is not ready for a kind cluster:\n"
                        + "\n".join(f"- {p}" for p in problems)
                    )
                node_image = images.resolve_node_image(self.node_image, echo)
                echo(f"node image: {node_image.image} ({node_image.why})")
                settings = ClusterSettings(
                    node_image=node_image.image,
                    cgroup_v1=facts.cgroup_v1,
                    cni_dir=self.cni_dir,
                    scale=Scale.fit(profile, facts.cpus * 1000, facts.memory_bytes),
                )
                write_conflists(self.cni_dir, len(profile.nodes) + 1)
                self.config_path.write_text(render_kind_config(profile, settings), encoding="utf-8")
                # Recorded before kind starts: an interrupted create is kprep's to delete.
                self._write_state(
                    {
                        "provider": "kind",
                        "cluster": CLUSTER_NAME,
                        "profile": profile.name,
                        "phase": "creating",
                        "nodeImage": node_image.image,
                        "scale": settings.scale.as_dict() if settings.scale else None,
                    }
                )
                created_here = True
                echo(
                    f"creating kind cluster {CLUSTER_NAME!r}: 1 control plane + "
                    f"{len(profile.nodes)} workers"
                    + (" (cgroup v1: failCgroupV1 false)" if facts.cgroup_v1 else "")
                )
                started = time.monotonic()
                runner.create(kind, self.config_path, self.kubeconfig_path, self.log_path, echo)
                echo(f"  kind create cluster took {time.monotonic() - started:.0f}s")
                self._update_state(controlPlaneId=runner.control_plane_id())
            runner.export_kubeconfig(kind, self.kubeconfig_path)
            self._finish(kind, profile, crds, echo)
        except BaseException:
            if created_here:
                self._delete_after_failure(kind, echo)
            raise

    def _finish(self, kind: str, profile: Profile, crds: list[dict[str, Any]], echo: Echo) -> None:
        image = DEFAULT_PLUGIN_IMAGE
        with self._kube() as kube:
            nodes = kube.get("/api/v1/nodes").get("items") or []
            placeholder = images.placeholder_from_nodes(nodes)
            gpu_workers = [
                str(n["metadata"]["name"])
                for n in nodes
                if ((n.get("metadata") or {}).get("labels") or {}).get(NODE_LABEL)
                in {spec.name for spec in profile.device_nodes}
            ]
            self._update_state(placeholder=placeholder)
            echo(f"building the fake GPU device plugin image {image} (cached when unchanged)")
            image_id = images.build_plugin_image(image)
            if self._read_state().get("pluginImageId") != image_id:
                echo(f"loading {image} into the {len(gpu_workers)} GPU workers")
                started = time.monotonic()
                images.load_plugin_image(kind, CLUSTER_NAME, image, gpu_workers)
                echo(f"  kind load took {time.monotonic() - started:.0f}s")
                self._update_state(pluginImageId=image_id)
            install_crds(kube, crds, echo)
            echo("applying the device plugin manifests")
            self._apply(kube, render_manifests(profile, image, image_id))
            echo(
                f"waiting for {len(profile.device_nodes)} GPU nodes to advertise their GPUs "
                f"(up to {int(self.wait_seconds)}s)"
            )
            started = time.monotonic()
            self._wait_until_advertised(kube, profile)
            echo(f"  every GPU advertised after {time.monotonic() - started:.0f}s")
        self._update_state(phase="ready")
        echo(
            f"kind cluster {CLUSTER_NAME!r} is up with profile {profile.name!r}; "
            f"kubeconfig: {self.kubeconfig_path}"
        )

    def render_dry_run(self, profile: Profile) -> str:
        """What `up(dry_run=True)` prints: the kind config, then every manifest.

        Docker is asked for the host's cgroup version, cpu and memory when it answers;
        without it the config is shown without the settings that depend on them.
        """
        try:
            facts: preflight.DockerFacts | None = preflight.docker_facts()
        except ClusterError:
            facts = None
        settings = ClusterSettings(
            node_image=self.node_image or images.PUBLIC_NODE_IMAGE,
            cgroup_v1=facts.cgroup_v1 if facts else False,
            cni_dir=self.cni_dir,
            scale=Scale.fit(profile, facts.cpus * 1000, facts.memory_bytes) if facts else None,
        )
        note = (
            ""
            if facts
            else "# Docker does not answer: failCgroupV1 and the cpu/memory reservations, which "
            "depend on the host, are left out.\n"
        )
        image_note = (
            ""
            if self.node_image
            else f"# node image: {images.PUBLIC_NODE_IMAGE} if Docker has it or can pull it, "
            f"else {images.LOCAL_NODE_IMAGE} (hack/build-kind-node.sh)\n"
        )
        parts = [
            f"# kind create cluster --name {CLUSTER_NAME} --config <this first document> "
            f"--kubeconfig {self.kubeconfig_path}\n"
            + note
            + image_note
            + render_kind_config(profile, settings),
            f"# hack/build-plugin-image.sh {DEFAULT_PLUGIN_IMAGE} && kind load docker-image "
            f"{DEFAULT_PLUGIN_IMAGE} --name {CLUSTER_NAME} --nodes <the GPU workers>\n"
            "# then applied (server-side apply):\n" + dump_manifests(render_manifests(profile)),
        ]
        for crd_file in profile.crds:
            path = profile.crd_path(crd_file, self.course_dir)
            if path.is_file():
                parts.append(
                    f"# CRDs from {path}\n" + path.read_text(encoding="utf-8").removeprefix("---\n")
                )
            else:
                parts.append(f"# CRDs from {path} (file missing: `up` would fail)\n")
        return "---\n".join(part if part.endswith("\n") else part + "\n" for part in parts)

    # down --------------------------------------------------------------------

    def down(self) -> None:
        """Delete the cluster and kprep's files for it (a no-op when it is gone).

        A cluster named `kprep` that kprep did not create is left alone, with the
        command that deletes it.
        """
        state = self._read_state()
        try:
            kind = preflight.find_kind()
        except ClusterError:
            if not state:
                self._forget()
                return
            raise
        if CLUSTER_NAME in runner.clusters(kind):
            mismatch = self._ownership_problem(state)
            if mismatch:
                self._forget()
                raise ClusterError(
                    f"{mismatch}; kprep leaves it alone. Delete it yourself with "
                    f"`kind delete cluster --name {CLUSTER_NAME}` if it is not needed."
                )
            runner.delete(kind, self.kubeconfig_path)
        self._forget()

    def _forget(self, *, keep_log: bool = False) -> None:
        for path in (self.kubeconfig_path, self.state_path, self.config_path, self.log_path):
            if not (keep_log and path == self.log_path):
                path.unlink(missing_ok=True)
        if self.cni_dir.is_dir():
            for conflist in self.cni_dir.glob("*.conflist"):
                conflist.unlink()
            with contextlib.suppress(OSError):
                self.cni_dir.rmdir()
        self._state = None

    # status, profiles, answers -----------------------------------------------

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
                f"{exc}. Is Docker running? `docker start {CONTROL_PLANE}` (and the "
                "workers), or `kprep cluster down` then `up --provider kind`"
            ) from exc
        return self._with_problems(node_rows(nodes, pods, NODE_LABEL), nodes)

    def _with_problems(self, rows: list[NodeRow], nodes: list[dict[str, Any]]) -> list[NodeRow]:
        """Each profile node's shortfall against the profile (`pending_nodes`), on its row:
        a worker whose plugin crashed shows which GPUs it lost."""
        try:
            profile = load_profile(str(self._read_state().get("profile")), self.course_dir)
        except ProfileError:
            return rows
        by_node: dict[str, list[str]] = {}
        for line in pending_nodes(profile, nodes):
            where, _, what = line.partition(": ")
            by_node.setdefault(where.split(" (node ", 1)[0], []).append(what)
        return [
            dataclasses.replace(row, problems=tuple(by_node.get(row.profile_node or "", ())))
            for row in rows
        ]

    def ensure_profile(self, profile: Profile, *, echo: Echo = print) -> None:
        """kind cannot reshape its workers: a cluster of another profile must be recreated."""
        del echo
        running = self._read_state().get("profile")
        if running != profile.name:
            raise ClusterError(
                f"this check needs cluster profile {profile.name!r}, but the kind cluster runs "
                f"{running!r}: `kprep cluster down && kprep cluster up --provider kind "
                f"--profile {profile.name}`"
            )

    def lacks(self, kinds: Collection[str]) -> str | None:
        """kind runs no training operators and no DRA driver (`manifests.missing_on_kind`)."""
        return missing_on_kind(kinds)

    def runnable(self, manifest: dict[str, Any]) -> dict[str, Any] | None:
        """Containers really start on kind: placeholder images, cpu/memory scaled."""
        state = self._read_state()
        return runnable_on_kind(
            manifest,
            str(state.get("placeholder") or DEFAULT_PLACEHOLDER_IMAGE),
            Scale.from_dict(state.get("scale")),
        )

    # helpers -----------------------------------------------------------------

    def _delete_after_failure(self, kind: str, echo: Echo) -> None:
        """Delete a cluster this `up` started creating; a second Ctrl-C cannot stop it."""
        with _sigint_ignored():
            echo(f"deleting the half-created kind cluster {CLUSTER_NAME!r}")
            try:
                runner.delete(kind, self.kubeconfig_path)
            except ClusterError as exc:
                echo(f"could not delete it: {exc}; `kprep cluster down` retries")
                return
            self._forget(keep_log=True)  # the error it raises names the log: keep it to read

    def _ownership_problem(self, state: dict[str, Any]) -> str | None:
        """Why the running cluster `kprep` is not the one kprep created, or None when it is."""
        if not state:
            return (
                f"a kind cluster named {CLUSTER_NAME!r} exists but kprep has no record of "
                f"creating it (no {self.state_path})"
            )
        recorded = state.get("controlPlaneId")
        if state.get("phase") == "creating" and not recorded:
            return None  # kprep's own create, interrupted before it finished
        if recorded != runner.control_plane_id():
            return (
                f"the kind cluster {CLUSTER_NAME!r} running now is not the one kprep created "
                "(its control-plane container differs from kprep's record)"
            )
        return None

    def _check_reusable(self, profile: Profile) -> None:
        state = self._read_state()
        problem = self._ownership_problem(state)
        if problem:
            raise ClusterError(
                f"{problem}. kprep will not use it. Delete it with `kind delete cluster "
                f"--name {CLUSTER_NAME}` and run `kprep cluster up --provider kind` again."
            )
        if state.get("profile") != profile.name:
            raise ClusterError(
                f"the kind cluster {CLUSTER_NAME!r} was created for profile "
                f"{state.get('profile')!r}, not {profile.name!r}; run `kprep cluster down` first."
            )
        if state.get("phase") != "ready" and not state.get("controlPlaneId"):
            raise ClusterError(
                f"the kind cluster {CLUSTER_NAME!r} was never finished (an interrupted `up`); "
                "run `kprep cluster down`, then `up` again"
            )

    def _read_state(self) -> dict[str, Any]:
        if self._state is None:
            try:
                loaded = json.loads(self.state_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = {}
            self._state = loaded if isinstance(loaded, dict) else {}
        return self._state

    def _write_state(self, state: dict[str, Any]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        temporary.replace(self.state_path)
        self._state = dict(state)

    def _update_state(self, **changes: Any) -> None:
        self._write_state({**self._read_state(), **changes})

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
            poll_until(advertised, timeout=self.wait_seconds, interval=1)
        except WaitTimeout as exc:
            raise ClusterError(
                f"timed out after {int(self.wait_seconds)}s waiting for the GPU nodes:\n"
                + "\n".join(f"- {line}" for line in pending)
                + f"\nInspect with: kubectl --kubeconfig {self.kubeconfig_path} -n "
                f"{NAMESPACE} get pods -o wide   (and `kubectl logs` on a plugin pod)"
            ) from exc


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C for the duration (only the main thread may change signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
