"""The kind and docker commands the kind provider runs for the cluster `kprep`.

Each function runs one command with a timeout and turns a failure into a
`ClusterError` that says what failed and why: `create` echoes kind's progress
lines, keeps the whole output in a log, and on failure shows kind's and kubeadm's
error lines plus the reason each (retained) node's kubelet exited.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from app.cluster.errors import ClusterError
from app.cluster.kind import images, preflight
from app.cluster.kind.config import CLUSTER_NAME
from app.cluster.provider import Echo

CREATE_TIMEOUT_SECONDS = 900.0
CONTROL_PLANE = f"{CLUSTER_NAME}-control-plane"


def clusters(kind: str) -> list[str]:
    """The names of the kind clusters Docker runs."""
    result = images.run([kind, "get", "clusters"], timeout=60)
    if result.returncode != 0:
        raise ClusterError(f"`kind get clusters` failed: {result.stderr.strip()}")
    return result.stdout.split()


def create(kind: str, config: Path, kubeconfig: Path, log: Path, echo: Echo) -> None:
    """`kind create cluster`, its progress lines echoed, its reason shown when it fails."""
    args = [
        kind,
        "create",
        "cluster",
        "--name",
        CLUSTER_NAME,
        "--config",
        str(config),
        "--kubeconfig",
        str(kubeconfig),
        "--wait",
        "180s",
        # Keep failed nodes long enough to read their kubelets' journals.
        "--retain",
    ]
    lines: list[str] = []
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            shown = line.strip()
            if shown.startswith("✓"):
                echo(f"  kind: {shown.lstrip('✓ ').strip()}")

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        code = process.wait(timeout=CREATE_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as exc:
        process.kill()
        process.wait()
        raise ClusterError(
            f"`kind create cluster` did not finish within {int(CREATE_TIMEOUT_SECONDS)}s"
        ) from exc
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        reader.join(timeout=5)
        log.write_text("".join(lines), encoding="utf-8")
    if code != 0:
        raise ClusterError(
            f"`kind create cluster` failed (exit {code}):\n"
            + preflight.failure_summary("".join(lines))
            + "".join(f"\nkubelet: {reason}" for reason in kubelet_failures(kind))
            + f"\n(full output: {log})"
        )


def kubelet_failures(kind: str) -> list[str]:
    """Why the kubelets of the (retained) failed cluster exited, from their journals."""
    listed = images.run([kind, "get", "nodes", "--name", CLUSTER_NAME], timeout=60)
    reasons: list[str] = []
    for node in listed.stdout.split() if listed.returncode == 0 else []:
        journal = images.run(
            ["docker", "exec", node, "journalctl", "-u", "kubelet", "--no-pager", "-n", "300"],
            timeout=60,
        )
        for reason in preflight.kubelet_failures(journal.stdout):
            if reason not in reasons:
                reasons.append(reason)
    return reasons[:3]


def delete(kind: str, kubeconfig: Path) -> None:
    """`kind delete cluster` (kind removes the cluster's entries from `kubeconfig`)."""
    result = images.run(
        [kind, "delete", "cluster", "--name", CLUSTER_NAME, "--kubeconfig", str(kubeconfig)],
        timeout=300,
    )
    if result.returncode != 0:
        raise ClusterError(
            f"`kind delete cluster --name {CLUSTER_NAME}` failed: "
            + (result.stderr or result.stdout).strip()
        )


def control_plane_id() -> str:
    """The Docker id of the cluster's control-plane container ("" when there is none)."""
    result = images.run(["docker", "inspect", "--format", "{{.Id}}", CONTROL_PLANE], timeout=60)
    return result.stdout.strip() if result.returncode == 0 else ""


def export_kubeconfig(kind: str, path: Path) -> None:
    """Write the cluster's kubeconfig to `path`, readable by its owner only."""
    result = images.run([kind, "get", "kubeconfig", "--name", CLUSTER_NAME], timeout=60)
    if result.returncode != 0:
        raise ClusterError(f"`kind get kubeconfig` failed: {result.stderr.strip()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(result.stdout)
