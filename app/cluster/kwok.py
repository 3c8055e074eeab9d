"""The kwok provider: a real control plane as host processes, the profile's nodes simulated.

`kwokctl --runtime binary` starts etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and the kwok controller as plain processes (no Docker), from
binaries `hack/build-binaries.sh` built into the cache folder (or
`KPREP_BIN_DIR`). Every binary path is passed explicitly and kwokctl runs with
`KWOK_WORKDIR` under kprep's data folder, `--kubeconfig=` (so it never edits
~/.kube/config) and a PATH that starts with the binary folder (kwokctl shells
out to `kubectl get --raw /version`; ours is found first, so nothing is ever
downloaded).

Nodes are plain Node objects created from the profile: labels, taints, and
status with the GPUs in both capacity and allocatable (kwok's node-initialize
stage keeps both maps but nobody copies capacity into allocatable for fake
nodes). kwok manages them (annotation `kwok.x-k8s.io/node: fake`), marks them
Ready and plays each pod's lifecycle: scheduled pods become Running; Job pods
Succeed only after 10 minutes (`kwok-stages.yaml`: with kwok's instant
completion a finished worker would free its GPUs for the next one and distort
placement). The real scheduler and controllers act on everything else.

Layout under `data_dir()/cluster/kwok/`: `kubeconfig` (kprep's own), `state.json`
(profile, binary folder), `work/` (KWOK_WORKDIR: kwokctl's config, PKI, pid
files and component logs in `work/clusters/kprep/`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import yaml

from app.cluster import dra
from app.cluster.active import cluster_root, record_active
from app.cluster.addon_binaries import ADDONS_ENV
from app.cluster.addons import ClusterAddons
from app.cluster.crds import install_crds, profile_crds
from app.cluster.errors import ClusterError, ClusterNotRunning, ClusterUnreachable
from app.cluster.host_processes import pid_files, runs_under, terminate
from app.cluster.kube import Kube
from app.cluster.kwok_binaries import (
    K8S_VERSION,
    default_bin_dir,
    find_binaries,
    ports_in_use,
)
from app.cluster.kwok_nodes import (
    LEASES_PATH,
    NODE_RESOURCE,
    lease_path,
    leases_not_current,
    node_manifest,
    node_update,
    status_update,
    wait_gone,
)
from app.cluster.nodes import NodeRow, node_ready, node_rows
from app.cluster.profiles import Profile
from app.cluster.provider import Echo
from app.cluster.wait import WaitTimeout, poll_until

CLUSTER_NAME = "kprep"
CONFIG_VERSION = 5
"""Bumped when the way kprep creates the cluster changes; `up` recreates older clusters."""
STAGES_PATH = Path(__file__).with_name("kwok-stages.yaml")
"""kwok's default Stages, except that Job pods stay Running for 10 minutes (see the file)."""
CREATE_TIMEOUT_SECONDS = 120
READY_TIMEOUT_SECONDS = 60.0


class KwokProvider:
    """Creates, inspects and deletes kprep's kwok cluster."""

    name = "kwok"
    starts_containers = False

    def __init__(
        self, course_dir: Path, state_dir: Path | None = None, bin_dir: Path | None = None
    ) -> None:
        self.course_dir = course_dir
        self.state_dir = state_dir or cluster_root() / "kwok"
        self.bin_dir = bin_dir
        self.ready_timeout = READY_TIMEOUT_SECONDS
        self.addons_enabled = os.environ.get(ADDONS_ENV, "1") != "0"
        self.addons = ClusterAddons(self.state_dir, self.kubeconfig_path, course_dir)

    # -- paths ------------------------------------------------------------------------------

    @property
    def kubeconfig_path(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def workdir(self) -> Path:
        """KWOK_WORKDIR: kwokctl's own state."""
        return self.state_dir / "work"

    @property
    def cluster_dir(self) -> Path:
        return self.workdir / "clusters" / CLUSTER_NAME

    @property
    def state_path(self) -> Path:
        return self.state_dir / "state.json"

    def pid_file(self, component: str) -> Path:
        return self.cluster_dir / "pids" / f"{component}.pid"

    def log_file(self, component: str) -> Path:
        return self.cluster_dir / "logs" / f"{component}.log"

    def exists(self) -> bool:
        return self.kubeconfig_path.is_file() and self.cluster_dir.is_dir()

    def state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def kube(self, timeout: float = 10.0) -> Kube:
        if not self.kubeconfig_path.is_file():
            raise ClusterNotRunning("no kwok cluster is up; start one with `kprep cluster up`")
        return Kube(self.kubeconfig_path, timeout=timeout)

    # -- kwokctl ---------------------------------------------------------------------------

    def _env(self, binaries: dict[str, Path]) -> dict[str, str]:
        env = dict(os.environ)
        env["KWOK_WORKDIR"] = str(self.workdir)
        # kwokctl looks kubectl up on PATH before it would download one: ours comes first.
        env["PATH"] = f"{binaries['kubectl'].parent}{os.pathsep}{env.get('PATH', '')}"
        env["KWOK_KUBECTL_BINARY"] = str(binaries["kubectl"])
        env.pop("KUBECONFIG", None)
        return env

    def _kwokctl(
        self, binaries: dict[str, Path], args: list[str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        command = [str(binaries["kwokctl"]), *args]
        try:
            result = subprocess.run(
                command,
                env=self._env(binaries),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(
                f"`kwokctl {' '.join(args[:3])}` did not finish within "
                f"{int(timeout)}s; logs: {self.cluster_dir / 'logs'}"
            ) from exc
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-12:])
            raise ClusterError(
                f"`kwokctl {' '.join(args[:3])}` failed (exit "
                f"{result.returncode}):\n{tail}\nlogs: "
                f"{self.cluster_dir / 'logs'}"
            )
        return result

    def create_args(self, binaries: dict[str, Path]) -> list[str]:
        addon_config, addon_flags = self.addons.kwokctl_args() if self.addons_enabled else ([], [])
        # The HPA controller first looks at a new HPA one sync period after it is
        # created (15 s by default); 1 s lets a live check see its conditions. With
        # the add-ons, their configuration sets it (and the rest of lab time).
        hpa_sync = (
            []
            if self.addons_enabled
            else [
                "--extra-args",
                "kube-controller-manager=horizontal-pod-autoscaler-sync-period=1s",
            ]
        )
        return [
            "--config",
            str(STAGES_PATH),
            *addon_config,
            "create",
            "cluster",
            "--name",
            CLUSTER_NAME,
            "--runtime",
            "binary",
            "--kubeconfig=",
            "--etcd-binary",
            str(binaries["etcd"]),
            "--kube-apiserver-binary",
            str(binaries["kube-apiserver"]),
            "--kube-controller-manager-binary",
            str(binaries["kube-controller-manager"]),
            "--kube-scheduler-binary",
            str(binaries["kube-scheduler"]),
            "--kwok-controller-binary",
            str(binaries["kwok"]),
            "--disable-qps-limits",
            *addon_flags,
            *hpa_sync,
            "--timeout",
            f"{CREATE_TIMEOUT_SECONDS}s",
        ]

    # -- up ---------------------------------------------------------------------------------

    def up(self, profile: Profile, *, dry_run: bool = False, echo: Echo = print) -> None:
        """Start (or restart, or reuse) the control plane, then make the nodes match `profile`."""
        binaries = find_binaries(self.bin_dir)
        addon_binaries = self.addons.binaries() if self.addons_enabled else None
        crds = profile_crds(profile, self.course_dir)
        if dry_run:
            echo("kwokctl " + " ".join(self.create_args(binaries)))
            if self.addons_enabled:
                echo(self.addons.dry_run_text())
            echo(
                yaml.safe_dump_all(
                    [node_manifest(n, profile) for n in profile.nodes], sort_keys=False
                )
            )
            return
        start = time.monotonic()
        if self.cluster_dir.is_dir() and (
            self.state().get("configVersion") != CONFIG_VERSION
            or self.state().get("addons", False) != self.addons_enabled
        ):
            echo("the cluster was created by an older kprep or with other add-ons; recreating it")
            self.down()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if addon_binaries is not None:
            self.addons.prepare(addon_binaries)
        reused = False
        dead = self.dead_components()
        if self.exists() and not dead:
            with self.kube(timeout=3) as kube:
                reused = kube.readyz()
        if not reused and self.cluster_dir.is_dir():
            reused = self._restart(binaries, dead, echo)
        if not reused:
            echo(
                f"starting the control plane (etcd, kube-apiserver, kube-controller-manager, "
                f"kube-scheduler, kwok) v{K8S_VERSION}"
            )
            if addon_binaries is not None and not self.addons.paths.kwokctl_config.is_file():
                self.addons.prepare(addon_binaries)  # a failed restart deleted the state
            self._kwokctl(binaries, self.create_args(binaries), CREATE_TIMEOUT_SECONDS + 15)
            self._copy_kubeconfig()
        elif not dead:
            echo("the control plane is already running; reusing it")
        with self.kube() as kube:
            self._wait_api(kube)
            api_seconds = time.monotonic() - start
            if addon_binaries is not None:
                # The add-on processes start while the nodes and CRDs are applied.
                installed = self.addons.launch(kube, addon_binaries, echo)
                crds = [c for c in crds if c["metadata"]["name"] not in installed]
            self.apply_profile(kube, profile, echo=echo)
            install_crds(kube, crds, echo)
            self._wait_nodes_ready(kube, profile)
            dra.publish(kube, profile)
            if addon_binaries is not None:
                self.addons.finish(kube, echo)
        self._write_state(profile)
        echo(
            f"API answered after {api_seconds:.1f}s; {len(profile.nodes)} nodes Ready after "
            f"{time.monotonic() - start:.1f}s ({sum(n.gpu_count for n in profile.nodes)} GPUs); "
            f"kubeconfig {self.kubeconfig_path}"
        )

    def _copy_kubeconfig(self) -> None:
        source = self.cluster_dir / "kubeconfig.yaml"
        if not source.is_file():
            raise ClusterError(f"kwokctl did not write {source}; logs: {self.cluster_dir / 'logs'}")
        self._write_kubeconfig(source.read_text(encoding="utf-8"))

    def _restart(self, binaries: dict[str, Path], dead: list[str], echo: Echo) -> bool:
        """Restart stopped components of an existing cluster; False when it must be recreated.

        kwokctl keeps each component's port from creation; once a component has
        stopped, another program (another kwok cluster, after a reboot) may hold
        its port, and the restart can never succeed. Then the cluster is deleted
        and created afresh (nodes and CRDs are kprep's to re-apply anyway).
        """
        taken = self.taken_ports(dead)
        if taken:
            echo(
                f"the stopped components' ports are in use by other programs ({taken}); "
                "recreating the cluster"
            )
        else:
            echo(f"restarting stopped components ({', '.join(dead) or 'all'})")
            try:
                self._kwokctl(binaries, self.create_args(binaries), 45)
                self._copy_kubeconfig()
                with self.kube() as kube:
                    self._wait_api(kube, timeout=20)
                return True
            except ClusterError as exc:
                echo(f"restart failed ({str(exc).splitlines()[0]}); recreating the cluster")
        self.down()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return False

    def taken_ports(self, components: Sequence[str]) -> dict[str, int]:
        """Ports of `components` (from kwokctl's config) that something else listens on now."""
        return ports_in_use(self.cluster_dir / "kwok.yaml", components)

    def _write_kubeconfig(self, text: str) -> None:
        self.kubeconfig_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.kubeconfig_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, self.kubeconfig_path)

    def _write_state(self, profile: Profile) -> None:
        state = {
            "provider": "kwok",
            "cluster": CLUSTER_NAME,
            "profile": profile.name,
            "configVersion": CONFIG_VERSION,
            "kubernetes": K8S_VERSION,
            "binDir": str(self.bin_dir or default_bin_dir()),
            "addons": self.addons_enabled,
        }
        self.state_path.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")

    def _wait_api(self, kube: Kube, timeout: float = 60.0) -> None:
        try:
            poll_until(kube.readyz, timeout=timeout, interval=0.2)
        except WaitTimeout as exc:
            raise ClusterUnreachable(
                f"the API server did not become ready within {int(timeout)}s; see "
                f"{self.log_file('kube-apiserver')}"
            ) from exc

    def apply_profile(self, kube: Kube, profile: Profile, *, echo: Echo = print) -> None:
        """Make the cluster's nodes exactly the profile's (create, update, delete).

        A node the profile keeps under the same name is updated in place, never recreated:
        kwok plays a node's pods only while it holds the node's Lease, and a recreated
        node would inherit the old node's Lease, which the garbage collector then deletes;
        kwok makes a new one only a renew interval (50 s) later, and meanwhile the node's
        pods stay Pending. For the same reason a deleted node's Lease goes with it.
        """
        wanted = {n.name: node_manifest(n, profile) for n in profile.nodes}
        existing = {
            str(n["metadata"]["name"]): n for n in kube.get(NODE_RESOURCE.path()).get("items") or []
        }
        removed = [name for name in existing if name not in wanted]
        for name in removed:
            kube.delete(NODE_RESOURCE.path(name=name), grace_seconds=0)
            wait_gone(kube, NODE_RESOURCE.path(name=name))
            kube.delete(lease_path(name))
        created = updated = 0
        for name, manifest in wanted.items():
            current = existing.get(name)
            patch = None if current is None else node_update(current, manifest)
            if current is None:
                kube.delete(lease_path(name))  # a Lease left by an earlier node of that name
                kube.request("POST", NODE_RESOURCE.path(), body=manifest)
                created += 1
            elif patch is None:
                continue
            else:
                kube.request(
                    "PATCH",
                    NODE_RESOURCE.path(name=name),
                    body=patch,
                    content_type="application/merge-patch+json",
                )
                updated += 1
            # Status on create is kept for Nodes today; patching the subresource makes sure.
            kube.request(
                "PATCH",
                NODE_RESOURCE.path(name=name, subresource="status"),
                body=status_update(current, manifest),
                content_type="application/merge-patch+json",
            )
        if created or updated or removed:
            echo(
                f"nodes: {created} created, {updated} updated, {len(removed)} removed "
                f"(profile {profile.name!r}: {len(wanted)} nodes)"
            )

    def _wait_nodes_ready(self, kube: Kube, profile: Profile) -> None:
        wanted = {n.name for n in profile.nodes}
        missing: list[str] = []

        def all_ready() -> bool:
            nodes = kube.get(NODE_RESOURCE.path()).get("items") or []
            ready = {n["metadata"]["name"] for n in nodes if node_ready(n)}
            missing[:] = sorted(wanted - ready)
            return not missing

        def all_leased() -> bool:
            nodes = [
                n
                for n in kube.get(NODE_RESOURCE.path()).get("items") or []
                if n["metadata"]["name"] in wanted
            ]
            missing[:] = leases_not_current(nodes, kube.get(LEASES_PATH).get("items") or [])
            return not missing

        try:
            poll_until(all_ready, timeout=self.ready_timeout, interval=0.2)
            # Ready is not enough: kwok plays a node's pods only while it holds the node's
            # Lease (see leases_not_current).
            poll_until(all_leased, timeout=self.ready_timeout, interval=0.2)
        except WaitTimeout as exc:
            raise ClusterError(
                f"nodes not Ready (or their Leases not held) after {int(self.ready_timeout)}s: "
                f"{', '.join(missing)}; is the kwok controller running? "
                f"log: {self.log_file('kwok-controller')}"
            ) from exc

    def ensure_profile(self, profile: Profile, *, echo: Echo = print) -> None:
        """Reshape the running cluster's nodes for `profile` (well under a second on kwok)."""
        if self.state().get("profile") == profile.name:
            return
        crds = profile_crds(profile, self.course_dir)
        with self.kube() as kube:
            echo(f"switching the kwok cluster's nodes to profile {profile.name!r}")
            self.apply_profile(kube, profile, echo=echo)
            install_crds(kube, crds, echo)
            self._wait_nodes_ready(kube, profile)
            dra.publish(kube, profile)
        self._write_state(profile)
        record_active(self.name, profile.name)

    def runnable(self, manifest: dict[str, Any]) -> dict[str, Any] | None:
        """kwok starts no containers: the answer is applied as written."""
        del manifest
        return None

    def lacks(self, kinds: Collection[str]) -> str | None:
        """`up` runs every add-on the course's kinds need (operators, DRA slices)."""
        del kinds
        return None

    # -- down -------------------------------------------------------------------------------

    def down(self) -> None:
        """Stop every component and delete the cluster folder (works on half-dead clusters).

        The components are stopped directly from kwokctl's pid files (SIGTERM,
        then SIGKILL after a few seconds): the cluster's data is deleted anyway,
        and `kwokctl delete cluster` would wait for each graceful shutdown in turn.
        """
        self.addons.stop()
        self._kill_components()
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def _kill_components(self, grace_seconds: float = 2.0) -> None:
        terminate([pid for pid in self.component_pids().values() if self._owns(pid)], grace_seconds)

    # -- status -----------------------------------------------------------------------------

    def status(self) -> list[NodeRow]:
        if not self.exists():
            raise ClusterNotRunning("no kwok cluster is up; start one with `kprep cluster up`")
        with self.kube() as kube:
            try:
                nodes = kube.get(NODE_RESOURCE.path()).get("items") or []
                pods = kube.get("/api/v1/pods").get("items") or []
            except ClusterUnreachable as exc:
                raise ClusterUnreachable(f"{exc}; `kprep cluster up` restarts it") from exc
        return node_rows(nodes, pods)

    def dead_components(self) -> list[str]:
        """Components whose pid file names a process that is gone (or is no longer ours)."""
        return [name for name, pid in self.component_pids().items() if not self._owns(pid)]

    def _owns(self, pid: int) -> bool:
        """Whether `pid` is alive and runs one of this cluster's binaries (pids get reused)."""
        return runs_under(pid, self.cluster_dir)

    def component_pids(self) -> dict[str, int]:
        """Component name -> pid, from kwokctl's pid files (tests stop and restart some)."""
        return pid_files(self.cluster_dir / "pids")
