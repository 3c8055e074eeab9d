"""The add-ons of a local cluster: prepared before it starts, run beside it, stopped with it.

`kprep cluster up` (kwok provider) runs, as host processes next to the control
plane: metrics-server (resource metrics from kwok's simulated usage),
kprep-metrics-adapter (custom and external metrics from a file kprep writes),
the JobSet controller, Kubeflow Trainer v2's controller manager and the
Kubeflow training operator v1. `ClusterAddons` owns their lifecycle:

1. `prepare` (before the control plane starts): finds the binaries (a clear
   error naming hack/build-addons.sh when one is missing), writes the
   certificates (`kprep-pki`) and the extra kwokctl configuration;
2. `start` (nodes Ready, CRDs installed): starts every process that is not
   already running, waits (bounded) until each answers, registers the
   APIServices and webhooks with their ports, waits until the APIServices are
   Available and installs the ClusterTrainingRuntime `torch-distributed`;
3. `stop` (at `down`): stops them all.

What each flag and object is for: docs/cluster-addons.md; the data itself comes
from `app.cluster.addon_config` (pure) and the processes from
`app.cluster.addon_processes`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from app.cluster import addon_processes as processes
from app.cluster.addon_binaries import AddonBinaries, find_addon_binaries
from app.cluster.addon_config import (
    LAB_TIME_FACTOR,
    AddonPaths,
    Ports,
    ProcessSpec,
    apiservice_names,
    ca_bundle,
    jobset_config,
    kwokctl_config,
    kwokctl_create_flags,
    load_manifests,
    metrics_registrations,
    pki_args,
    process_specs,
    webhook_configurations,
)
from app.cluster.crds import CRD_RESOURCE, crd_documents, install_crds
from app.cluster.errors import ClusterError
from app.cluster.kube import ApiError, Kube
from app.cluster.provider import Echo
from app.cluster.wait import WaitTimeout, poll_until

OPERATOR_CRD_FILES = ("crds/jobset.yaml", "crds/trainjob.yaml", "crds/pytorchjob.yaml")
"""The operators' own CRDs (vendored from their modules); installed when the profile has not."""
PROCESS_READY_TIMEOUT_SECONDS = 30.0
APISERVICE_TIMEOUT_SECONDS = 30.0
APISERVICE_RESOURCE_PATH = "/apis/apiregistration.k8s.io/v1/apiservices"


@dataclass(frozen=True)
class AddonRow:
    """One add-on process as `kprep cluster status` shows it."""

    name: str
    pid: int | None
    url: str
    log: str

    @property
    def running(self) -> bool:
        return self.pid is not None


class ClusterAddons:
    """The add-on processes of the cluster whose state lives in `state_dir`."""

    def __init__(
        self, state_dir: Path, kubeconfig: Path, course_dir: Path, factor: int = LAB_TIME_FACTOR
    ) -> None:
        self.paths = AddonPaths(state_dir / "addons", kubeconfig)
        self.course_dir = course_dir
        self.factor = factor

    # -- before the control plane -----------------------------------------------------------

    def binaries(self) -> AddonBinaries:
        return find_addon_binaries()

    def kwokctl_args(self) -> tuple[list[str], list[str]]:
        """(global args, `create cluster` args) the control plane needs for the add-ons."""
        return ["--config", str(self.paths.kwokctl_config)], kwokctl_create_flags()

    def prepare(self, binaries: AddonBinaries) -> None:
        """Certificates and the kwokctl configuration; idempotent and fast on a second run."""
        self.paths.root.mkdir(parents=True, exist_ok=True)
        try:
            result = subprocess.run(
                [str(binaries["kprep-pki"]), *pki_args(self.paths)],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ClusterError(f"kprep-pki did not run: {exc}") from exc
        if result.returncode != 0:
            raise ClusterError(f"kprep-pki failed: {(result.stderr or result.stdout).strip()}")
        _write_atomic(
            self.paths.kwokctl_config,
            yaml.safe_dump(kwokctl_config(self.paths, self.factor), sort_keys=False),
        )

    def dry_run_text(self) -> str:
        """What `prepare` would write for kwokctl and which processes `start` would run."""
        ports = Ports(*([0] * len(Ports.__dataclass_fields__)))  # 0: chosen free at `up`
        lines = [f"# {self.paths.kwokctl_config}", yaml.safe_dump(kwokctl_config(self.paths))]
        lines += [
            f"# add-on: {s.name} {' '.join(s.args)}" for s in process_specs(self.paths, ports)
        ]
        return "\n".join(lines)

    # -- beside the running control plane ----------------------------------------------------

    def start(self, kube: Kube, binaries: AddonBinaries, echo: Echo) -> None:
        """Run every add-on and register it; returns once the APIs and webhooks answer."""
        begin = time.monotonic()
        self._ensure_crds(kube, echo)
        # kwok's Metric (serves each node's /metrics/resource) and ClusterResourceUsage
        # (each pod's usage from its kwok.x-k8s.io/usage-* annotations).
        for manifest in load_manifests("kwok-metrics.yaml"):
            _apply(kube, manifest)
        ports = self._ports()
        specs = process_specs(self.paths, ports)
        if not all(processes.running_pid(self.paths, s.name) for s in specs):
            # Fresh ports for everyone: a port of the last run may be taken by now.
            processes.stop(self.paths, [s.name for s in specs])
            ports = Ports(*processes.free_ports(len(Ports.__dataclass_fields__)))
            specs = process_specs(self.paths, ports)
            self._write_files(ports)
            for spec in specs:
                processes.start(self.paths, spec, binaries[spec.binary])
            echo(f"add-ons started: {', '.join(s.name for s in specs)}; logs {self.paths.logs}")
        self._wait_processes(specs)
        bundle = ca_bundle(self.paths)
        for manifest in metrics_registrations(ports, bundle):
            _apply(kube, manifest)
        for spec in specs:
            if spec.webhook_port is not None:
                for configuration in webhook_configurations(spec.name, spec.webhook_port, bundle):
                    _apply(kube, configuration)
        self._wait_apiservices(kube)
        for runtime in load_manifests("trainer-runtimes.yaml"):
            _apply(kube, runtime)
        echo(
            f"add-ons ready after {time.monotonic() - begin:.1f}s: metrics.k8s.io, "
            "custom.metrics.k8s.io, external.metrics.k8s.io, JobSet, Trainer "
            f"(ClusterTrainingRuntime torch-distributed), PyTorchJob; HPA lab time ÷{self.factor}"
        )

    def _ensure_crds(self, kube: Kube, echo: Echo) -> None:
        missing = []
        for document in crd_documents([self.course_dir / f for f in OPERATOR_CRD_FILES]):
            try:
                kube.get(CRD_RESOURCE.path(name=document["metadata"]["name"]))
            except ApiError as exc:
                if exc.status != 404:
                    raise
                missing.append(document)
        install_crds(kube, missing, echo)

    def _ports(self) -> Ports:
        try:
            saved = json.loads(self.paths.state.read_text(encoding="utf-8"))["ports"]
            return Ports(**saved)
        except (OSError, ValueError, KeyError, TypeError):
            return Ports(*([0] * len(Ports.__dataclass_fields__)))

    def _write_files(self, ports: Ports) -> None:
        _write_atomic(
            self.paths.jobset_config,
            yaml.safe_dump(jobset_config(self.paths, ports), sort_keys=False),
        )
        if not self.paths.values_file.exists():
            _write_atomic(self.paths.values_file, "{}\n")
        state = {"ports": asdict(ports), "labTimeFactor": self.factor}
        _write_atomic(self.paths.state, json.dumps(state, indent=2) + "\n")

    def _wait_processes(self, specs: list[ProcessSpec]) -> None:
        ca_file = self.paths.pki / "serving-ca.crt"
        pending = list(specs)

        def all_ready() -> bool:
            for spec in list(pending):
                if processes.exited(self.paths, spec.name):
                    raise ClusterError(
                        f"add-on {spec.name} exited at start; last log lines "
                        f"({processes.log_file(self.paths, spec.name)}):\n"
                        f"{processes.log_tail(self.paths, spec.name)}"
                    )
                if processes.answers(spec.ready_url, ca_file):
                    pending.remove(spec)
            return not pending

        try:
            poll_until(all_ready, timeout=PROCESS_READY_TIMEOUT_SECONDS, interval=0.2)
        except WaitTimeout as exc:
            details = "\n".join(
                f"- {s.name} ({s.ready_url}); log {processes.log_file(self.paths, s.name)}:\n"
                f"{processes.log_tail(self.paths, s.name, 4)}"
                for s in pending
            )
            raise ClusterError(
                f"add-ons not answering after {int(PROCESS_READY_TIMEOUT_SECONDS)}s:\n{details}"
            ) from exc

    def _wait_apiservices(self, kube: Kube) -> None:
        pending = apiservice_names()
        messages: dict[str, str] = {}

        def all_available() -> bool:
            for name in list(pending):
                body = kube.get(f"{APISERVICE_RESOURCE_PATH}/{name}")
                for condition in (body.get("status") or {}).get("conditions") or []:
                    if condition.get("type") == "Available":
                        if condition.get("status") == "True":
                            pending.remove(name)
                        else:
                            messages[name] = str(condition.get("message") or "")
            return not pending

        try:
            poll_until(all_available, timeout=APISERVICE_TIMEOUT_SECONDS, interval=0.2)
        except WaitTimeout as exc:
            raise ClusterError(
                f"APIServices not Available after {int(APISERVICE_TIMEOUT_SECONDS)}s: "
                + "; ".join(f"{n}: {messages.get(n, 'no condition yet')}" for n in pending)
                + f"; logs in {self.paths.logs}"
            ) from exc

    # -- down and status -------------------------------------------------------------------

    def stop(self) -> list[str]:
        """Stop every add-on process of this cluster; the names that were running."""
        return processes.stop(
            self.paths, [s.name for s in process_specs(self.paths, self._ports())]
        )

    def status(self) -> list[AddonRow]:
        rows = []
        for spec in process_specs(self.paths, self._ports()):
            rows.append(
                AddonRow(
                    spec.name,
                    processes.running_pid(self.paths, spec.name),
                    spec.ready_url,
                    str(processes.log_file(self.paths, spec.name)),
                )
            )
        return rows

    # -- for the autoscaling runs ----------------------------------------------------------

    def running_lab_time_factor(self) -> int | None:
        """The factor the running control plane's HPA durations were divided by, if known.

        Fixed when the cluster was created (kube-controller-manager flags); a run that
        wants another factor needs a new cluster.
        """
        try:
            factor = json.loads(self.paths.state.read_text(encoding="utf-8"))["labTimeFactor"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return factor if isinstance(factor, int) else None

    def write_metric_values(self, values: dict[str, Any]) -> None:
        """Replace what kprep-metrics-adapter serves (format: docs/cluster-addons.md).

        Atomic (temporary file, then rename): the adapter re-reads the file when
        it changes and must never see half of it.
        """
        _write_atomic(self.paths.values_file, json.dumps(values, indent=1) + "\n")


def _apply(kube: Kube, manifest: dict[str, Any]) -> None:
    namespace = (manifest.get("metadata") or {}).get("namespace")
    try:
        kube.apply(manifest, namespace=namespace)
    except ApiError as exc:
        name = (manifest.get("metadata") or {}).get("name")
        raise ClusterError(f"registering add-on {manifest.get('kind')} {name}: {exc}") from exc


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
