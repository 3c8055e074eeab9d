"""The placement tree as text: a rich `Tree` of workloads, their Jobs and their pods,
each pod with its node, phase, GPUs and rendezvous settings.

Takes the JSON form (`WorkloadNode.to_json()`), which is what the live report
carries, so `kprep check --live`, `kprep cluster placement` and the JSON report
show one tree.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.tree import Tree

RENDEZVOUS_SHOWN = (
    ("nnodes", "nnodes"),
    ("nprocPerNode", "nproc"),
    ("nodeRank", "rank"),
    ("masterAddr", "master"),
    ("masterPort", "port"),
    ("rdzvBackend", "rdzv"),
    ("rdzvEndpoint", "endpoint"),
)
"""Rendezvous settings a pod line shows, with their short labels."""


def pod_line(pod: dict[str, Any]) -> str:
    """`pod NAME -> NODE (Running) 4 GPU  nnodes=2 nproc=4 rank=0 master=... -> POD`."""
    name = escape(pod["name"])
    gpus = f" {pod['gpus']} GPU" if pod.get("gpus") else ""
    if pod.get("node"):
        line = f"pod [bold]{name}[/] -> {escape(pod['node'])} ({escape(pod['phase'])}){gpus}"
    else:
        why = f": [dim]{escape(pod['reason'])}[/]" if pod.get("reason") else ""
        line = f"pod [bold]{name}[/] {escape(pod['phase'])}, [red]not scheduled[/]{gpus}{why}"
    settings = pod.get("rendezvous") or {}
    shown = [
        f"{label}={escape(settings[key])}" for key, label in RENDEZVOUS_SHOWN if settings.get(key)
    ]
    if settings.get("masterAddr") and settings.get("masterPort"):
        master = f"master={escape(settings['masterAddr'])}"
        shown = [w for w in shown if not w.startswith("port=")]
        shown = [f"{master}:{escape(settings['masterPort'])}" if w == master else w for w in shown]
    if shown:
        line += "\n[cyan]torchrun " + " ".join(shown) + "[/]"
        if settings.get("masterAddr") or settings.get("rdzvEndpoint"):
            masters = settings.get("masterPods") or ""
            line += (
                f" [dim](master resolves to {escape(masters)})[/]"
                if masters
                else " [red](master resolves to no pod)[/]"
            )
    return line


def _add(parent: Tree, node: dict[str, Any]) -> None:
    status = f" [dim]{escape(node['status'])}[/]" if node.get("status") else ""
    branch = parent.add(f"{escape(node['kind'])} [bold]{escape(node['name'])}[/]{status}")
    for child in node.get("children") or []:
        _add(branch, child)
    for pod in node.get("pods") or []:
        branch.add(pod_line(pod))


def workload_tree(roots: list[dict[str, Any]], title: str = "placement") -> Tree:
    """A rich Tree with one branch per root workload."""
    tree = Tree(escape(title), guide_style="dim")
    for root in roots:
        _add(tree, root)
    return tree


def is_training_tree(roots: list[dict[str, Any]]) -> bool:
    """Whether the tree says more than the flat placement lines: a workload that made
    other workloads, or pods that run torchrun."""

    def deep(node: dict[str, Any]) -> bool:
        if node.get("children"):
            return True
        return any(p.get("rendezvous") for p in node.get("pods") or [])

    return any(deep(root) for root in roots)
