"""What the cluster add-ons need, as data: control-plane config, command lines, registrations.

Pure functions (no processes, no cluster): `app.cluster.addons` runs what they
return. docs/cluster-addons.md explains every flag and object; in short:

- the kube-apiserver needs the front-proxy (requestheader) flags to serve
  aggregated APIs, the kube-controller-manager the HPA's durations in lab time,
  and the whole control plane the gang-scheduling feature gates. kwokctl's
  `--extra-args` panics with more than one component (kwok v0.8.0), so they go
  in a second `KwokctlConfiguration` document passed with `--config`;
- every add-on is a host process on 127.0.0.1 with a port chosen at `up`;
- the aggregated APIs are APIServices naming an ExternalName Service whose
  `externalName` is 127.0.0.1 (the aggregator dials `externalName:port` and
  checks the certificate for `<service>.<namespace>.svc`); the webhooks are the
  upstream configurations with `clientConfig.service` replaced by a `url:`.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

NAMESPACE = "kprep-system"
MANIFESTS_DIR = Path(__file__).with_name("addon-manifests")
LAB_TIME_FACTOR = 10
"""The HPA controller's durations are divided by this (issue 13: lab time)."""
HPA_DEFAULT_SECONDS = {
    # kube-controller-manager's defaults (k8s.io/kubernetes pkg/controller/podautoscaler/config)
    "horizontal-pod-autoscaler-cpu-initialization-period": 300,
    "horizontal-pod-autoscaler-initial-readiness-delay": 30,
    "horizontal-pod-autoscaler-downscale-stabilization": 300,
}
FEATURE_GATES = "GenericWorkload=true,GangScheduling=true"
"""Kubernetes 1.36's alpha gang scheduling (Workload API); WorkloadWithJob stays off (docs)."""
RUNTIME_CONFIG = "scheduling.k8s.io/v1alpha2=true"
KWOK_CRDS = "Metric,ClusterResourceUsage,ResourceUsage"
"""kwok serves simulated kubelet resource metrics from these objects."""
RESOURCE_METRICS_PATH_ANNOTATION = "metrics.k8s.io/resource-metrics-path"
METRIC_RESOLUTION_SECONDS = 10
"""metrics-server's minimum; CPU is a rate of two scrapes (~20 s after a pod starts)."""

METRICS_APISERVICES = {"v1beta1.metrics.k8s.io": "metrics-server"}
CUSTOM_APISERVICES = {
    "v1beta1.custom.metrics.k8s.io": "kprep-metrics-adapter",
    "v1beta2.custom.metrics.k8s.io": "kprep-metrics-adapter",
    "v1beta1.external.metrics.k8s.io": "kprep-metrics-adapter",
}
AGGREGATED_SERVICES = ("metrics-server", "kprep-metrics-adapter")
"""Services the aggregator dials; the serving certificate names each `<name>.<ns>.svc`."""
WEBHOOK_FILES = {
    "jobset-controller": "jobset-webhooks.yaml",
    "trainer-controller-manager": "trainer-webhooks.yaml",
    "training-operator": "training-operator-webhooks.yaml",
}


@dataclass(frozen=True)
class AddonPaths:
    """The add-ons' files in a cluster's state folder (`STATE/addons/`)."""

    root: Path
    kubeconfig: Path

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def serving_dir(self) -> Path:
        return self.pki / "serving"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def values_file(self) -> Path:
        """The custom/external metric values kprep-metrics-adapter serves (write atomically)."""
        return self.root / "metrics-values.json"

    @property
    def kwokctl_config(self) -> Path:
        return self.root / "kwokctl-addons.yaml"

    @property
    def jobset_config(self) -> Path:
        return self.root / "jobset-config.yaml"

    @property
    def state(self) -> Path:
        return self.root / "state.json"


@dataclass(frozen=True)
class Ports:
    """Every port the add-ons listen on (127.0.0.1), chosen free at `up`."""

    metrics_server: int
    metrics_adapter: int
    jobset_webhook: int
    jobset_probe: int
    trainer_webhook: int
    trainer_probe: int
    training_operator_webhook: int
    training_operator_probe: int


@dataclass(frozen=True)
class ProcessSpec:
    """One add-on process: how to start it and how to know it serves."""

    name: str
    binary: str
    args: tuple[str, ...]
    ready_url: str
    """HTTPS URLs are checked against the serving CA; a 200 means ready."""
    webhook_port: int | None = None


def lab_time_controller_args(factor: int = LAB_TIME_FACTOR) -> dict[str, str]:
    """kube-controller-manager HPA flags with every duration divided by `factor` (min 1 s)."""
    args = {"horizontal-pod-autoscaler-sync-period": "1s"}
    for flag, seconds in HPA_DEFAULT_SECONDS.items():
        args[flag] = f"{max(1, round(seconds / factor))}s"
    return args


def kwokctl_config(paths: AddonPaths, factor: int = LAB_TIME_FACTOR) -> dict[str, Any]:
    """The second `--config` document for `kwokctl create cluster`."""
    pki = paths.pki
    apiserver = [
        {"key": "requestheader-client-ca-file", "value": str(pki / "front-proxy-ca.crt")},
        {"key": "requestheader-allowed-names", "value": "front-proxy-client"},
        {"key": "requestheader-username-headers", "value": "X-Remote-User"},
        {"key": "requestheader-group-headers", "value": "X-Remote-Group"},
        {"key": "requestheader-extra-headers-prefix", "value": "X-Remote-Extra-"},
        # kwokctl sets these to its admin certificate; `override` replaces its values.
        {
            "key": "proxy-client-cert-file",
            "value": str(pki / "front-proxy-client.crt"),
            "override": True,
        },
        {
            "key": "proxy-client-key-file",
            "value": str(pki / "front-proxy-client.key"),
            "override": True,
        },
    ]
    controller_manager = [
        {"key": key, "value": value} for key, value in lab_time_controller_args(factor).items()
    ]
    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "componentsPatches": [
            {"name": "kube-apiserver", "extraArgs": apiserver},
            {"name": "kube-controller-manager", "extraArgs": controller_manager},
        ],
    }


def kwokctl_create_flags() -> list[str]:
    """Flags `kwokctl create cluster` needs for the add-ons (after the subcommand)."""
    return [
        f"--enable-crds={KWOK_CRDS}",
        f"--kube-feature-gates={FEATURE_GATES}",
        f"--kube-runtime-config={RUNTIME_CONFIG}",
    ]


def pki_args(paths: AddonPaths) -> list[str]:
    """`kprep-pki` arguments: front-proxy pair and one serving certificate for every add-on."""
    hosts = ["127.0.0.1", "localhost"]
    hosts += [f"{service}.{NAMESPACE}.svc" for service in AGGREGATED_SERVICES]
    return ["--dir", str(paths.pki), "--front-proxy", *(a for h in hosts for a in ("--host", h))]


def jobset_config(paths: AddonPaths, ports: Ports) -> dict[str, Any]:
    """JobSet's config file: no leader election, no in-cluster certificate rotator."""
    return {
        "apiVersion": "config.jobset.x-k8s.io/v1alpha1",
        "kind": "Configuration",
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {"enable": False},
        "webhook": {
            "port": ports.jobset_webhook,
            "host": "127.0.0.1",
            "certDir": str(paths.serving_dir),
        },
        "metrics": {"bindAddress": "0"},
        "health": {"healthProbeBindAddress": f"127.0.0.1:{ports.jobset_probe}"},
    }


def process_specs(paths: AddonPaths, ports: Ports) -> list[ProcessSpec]:
    """Every add-on process, metrics first (the autoscaling runs need only those)."""
    kubeconfig = str(paths.kubeconfig)
    tls = [
        f"--tls-cert-file={paths.serving_dir / 'tls.crt'}",
        f"--tls-private-key-file={paths.serving_dir / 'tls.key'}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
    ]
    metrics_server = ProcessSpec(
        "metrics-server",
        "metrics-server",
        (
            f"--secure-port={ports.metrics_server}",
            *tls,
            f"--kubeconfig={kubeconfig}",
            "--kubelet-insecure-tls",
            "--kubelet-use-node-status-port",
            "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
            f"--metric-resolution={METRIC_RESOLUTION_SECONDS}s",
            "--kubelet-request-timeout=5s",
        ),
        # /livez, not /readyz: metrics-server is ready only after its first scrapes
        # (~10 s); the APIService's Available condition is what clients need.
        f"https://127.0.0.1:{ports.metrics_server}/livez",
    )
    adapter = ProcessSpec(
        "kprep-metrics-adapter",
        "kprep-metrics-adapter",
        (
            f"--values-file={paths.values_file}",
            f"--secure-port={ports.metrics_adapter}",
            *tls,
            f"--lister-kubeconfig={kubeconfig}",
        ),
        f"https://127.0.0.1:{ports.metrics_adapter}/readyz",
    )
    jobset = ProcessSpec(
        "jobset-controller",
        "jobset-controller",
        (f"--config={paths.jobset_config}", f"--kubeconfig={kubeconfig}"),
        f"http://127.0.0.1:{ports.jobset_probe}/readyz",
        webhook_port=ports.jobset_webhook,
    )

    def operator(name: str, webhook: int, probe: int) -> ProcessSpec:
        return ProcessSpec(
            name,
            name,
            (
                f"--kubeconfig={kubeconfig}",
                f"--cert-dir={paths.serving_dir}",
                "--webhook-host=127.0.0.1",
                f"--webhook-server-port={webhook}",
                f"--health-probe-bind-address=127.0.0.1:{probe}",
            ),
            f"http://127.0.0.1:{probe}/readyz",
            webhook_port=webhook,
        )

    return [
        metrics_server,
        adapter,
        jobset,
        operator("trainer-controller-manager", ports.trainer_webhook, ports.trainer_probe),
        operator(
            "training-operator", ports.training_operator_webhook, ports.training_operator_probe
        ),
    ]


def ca_bundle(paths: AddonPaths) -> str:
    """base64 of the serving CA, for every APIService and webhook configuration."""
    return base64.b64encode((paths.pki / "serving-ca.crt").read_bytes()).decode("ascii")


def metrics_registrations(ports: Ports, bundle: str) -> list[dict[str, Any]]:
    """Namespace, ExternalName Services and APIServices of the metrics APIs, in apply order."""
    service_port = {
        "metrics-server": ports.metrics_server,
        "kprep-metrics-adapter": ports.metrics_adapter,
    }
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    ]
    for service, port in service_port.items():
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": service, "namespace": NAMESPACE},
                "spec": {
                    "type": "ExternalName",
                    "externalName": "127.0.0.1",
                    "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
                },
            }
        )
    for name, service in {**METRICS_APISERVICES, **CUSTOM_APISERVICES}.items():
        version, group = name.split(".", 1)
        objects.append(
            {
                "apiVersion": "apiregistration.k8s.io/v1",
                "kind": "APIService",
                "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "kprep"}},
                "spec": {
                    "group": group,
                    "version": version,
                    "service": {
                        "name": service,
                        "namespace": NAMESPACE,
                        "port": service_port[service],
                    },
                    "caBundle": bundle,
                    "groupPriorityMinimum": 100,
                    "versionPriority": 200 if version == "v1beta2" else 100,
                },
            }
        )
    return objects


def apiservice_names() -> list[str]:
    return [*METRICS_APISERVICES, *CUSTOM_APISERVICES]


def load_manifests(file_name: str) -> list[dict[str, Any]]:
    text = (MANIFESTS_DIR / file_name).read_text(encoding="utf-8")
    return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]


def webhook_configurations(process: str, port: int, bundle: str) -> list[dict[str, Any]]:
    """The upstream webhook configurations of `process`, each service replaced by a URL."""
    configurations = []
    for document in load_manifests(WEBHOOK_FILES[process]):
        document = copy.deepcopy(document)
        for webhook in document.get("webhooks") or []:
            service = (webhook.get("clientConfig") or {}).get("service") or {}
            webhook["clientConfig"] = {
                "url": f"https://127.0.0.1:{port}{service.get('path') or '/'}",
                "caBundle": bundle,
            }
        document.setdefault("metadata", {}).setdefault("labels", {})[
            "app.kubernetes.io/managed-by"
        ] = "kprep"
        configurations.append(document)
    return configurations
