"""kprep's kubeconfig reader: certificates (files or data) and tokens without the kubernetes
package; anything else (exec plugins, auth providers) falls back to it."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from app.cluster.errors import ClusterError
from app.cluster.kube import Resource, _simple_kubeconfig


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write(tmp_path: Path, users: list, current: str = "certs") -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "contexts": [
            {"name": u["name"], "context": {"cluster": "c", "user": u["name"]}} for u in users
        ],
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": "https://127.0.0.1:6443",
                    "certificate-authority-data": b64(b"-----BEGIN CERTIFICATE-----\n"),
                },
            }
        ],
        "users": users,
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def test_embedded_certificates_become_private_files(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            {
                "name": "certs",
                "user": {"client-certificate-data": b64(b"CERT"), "client-key-data": b64(b"KEY")},
            }
        ],
    )
    settings = _simple_kubeconfig(path, None)
    assert settings is not None and settings.host == "https://127.0.0.1:6443"
    assert settings.ca_data and settings.ca_data.startswith("-----BEGIN")
    assert Path(settings.cert_file or "").read_bytes() == b"CERT"
    assert Path(settings.key_file or "").read_bytes() == b"KEY"
    assert Path(settings.key_file or "").stat().st_mode & 0o077 == 0


def test_file_paths_are_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            {
                "name": "certs",
                "user": {"client-certificate": "pki/admin.crt", "client-key": "/abs/admin.key"},
            }
        ],
    )
    settings = _simple_kubeconfig(path, None)
    assert settings is not None
    assert settings.cert_file == str(tmp_path / "pki" / "admin.crt")
    assert settings.key_file == "/abs/admin.key"


def test_tokens_and_exec_fallback(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            {"name": "certs", "user": {"token": "abc"}},
            {"name": "cloud", "user": {"exec": {"command": "gcloud"}}},
        ],
    )
    settings = _simple_kubeconfig(path, None)
    assert settings is not None and settings.token == "abc"
    assert _simple_kubeconfig(path, "cloud") is None


def test_unknown_context_is_a_cluster_error(tmp_path: Path) -> None:
    path = write(tmp_path, [{"name": "certs", "user": {"token": "abc"}}])
    with pytest.raises(ClusterError, match="no context named 'nope'"):
        _simple_kubeconfig(path, "nope")


def test_resource_paths() -> None:
    deployments = Resource("apps/v1", "Deployment", "deployments", True)
    assert deployments.path("ns", "web") == "/apis/apps/v1/namespaces/ns/deployments/web"
    nodes = Resource("v1", "Node", "nodes", False)
    assert nodes.path(name="n1", subresource="status") == "/api/v1/nodes/n1/status"
