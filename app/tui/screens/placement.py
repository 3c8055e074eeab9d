"""Where the answer's pods landed on the local cluster: nodes × pods, GPUs used,
the training jobs' tree (job -> Jobs -> pods with their rendezvous) and the
scheduler's reasons for pods left Pending."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, ClassVar

import yaml
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from app.course.models import Scenario
from app.grading.tree_render import is_training_tree, workload_tree
from app.k8s.pods import pod_spec, template_path
from app.k8s.resources import pod_spec_gpus
from app.tui import keys
from app.tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from app.live.service import NodeGpus


def gpus_per_workload(answer_text: str) -> dict[str, int]:
    """Workload name -> GPUs one of its pods asks for (any vendor, MIG slices counted)."""
    found: dict[str, int] = {}
    try:
        documents = list(yaml.safe_load_all(answer_text))
    except yaml.YAMLError:
        return found
    for doc in documents:
        if not isinstance(doc, dict):
            continue
        meta = doc.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        if isinstance(name, str) and template_path(doc) is not None:
            found[name] = pod_spec_gpus(pod_spec(doc))
    return found


def owner_of(pod: str, workloads: dict[str, int]) -> str | None:
    """The workload a pod name belongs to (longest `name-` prefix)."""
    best = None
    for name in workloads:
        if (pod == name or pod.startswith(name + "-")) and (best is None or len(name) > len(best)):
            best = name
    return best


def tree_pod_gpus(roots: list[dict[str, Any]]) -> dict[str, int]:
    """Pod name -> GPUs, from the live report's placement tree (pods an operator made
    have no name prefix of the answer's objects)."""
    found: dict[str, int] = {}
    stack = list(roots)
    while stack:
        node = stack.pop()
        found.update({p["name"]: int(p.get("gpus") or 0) for p in node.get("pods") or []})
        stack.extend(node.get("children") or [])
    return found


class PlacementScreen(ModalScreen[None]):
    """A table of nodes with the answer's pods and the GPUs they use."""

    BINDINGS: ClassVar[list[BindingType]] = keys.PLACEMENT_BINDINGS

    def __init__(
        self,
        scenario: Scenario,
        report: Any,
        answer_text: str,
        nodes: list[NodeGpus] | None = None,
    ) -> None:
        super().__init__()
        self.scenario = scenario
        self.report = report
        self.answer_text = answer_text
        self.nodes = nodes or []
        """Every node of the cluster with its GPUs, to show free GPUs and empty nodes."""

    def compose(self) -> ComposeResult:
        report = self.report
        verdict = "all checks pass" if report.passed else "some checks fail"
        with Vertical(id="placement-dialog", classes="dialog wide"):
            yield Static(
                f"On the cluster · {self.scenario.title} · score "
                f"{report.score}/{report.max_score}, {verdict}",
                classes="dialog-title",
            )
            yield DataTable(id="placement-nodes", cursor_type="row")
            roots = self.report.workloads or []
            if is_training_tree(roots):
                # Training jobs: which workers the operators made, where they landed and
                # the rendezvous each one got.
                with VerticalScroll(id="placement-workloads"):
                    yield Static(
                        workload_tree(roots, "workers and their rendezvous"),
                        id="placement-tree",
                    )
            with VerticalScroll(id="placement-pending"):
                yield Static(self._pending_text(), id="placement-pending-text")
            yield KeyFooter()

    def _pending_text(self) -> Text:
        placements = self.report.placement or []
        pending = [p for p in placements if not p.node]
        text = Text()
        if not placements:
            text.append("The cluster reported no pods for this answer.", style="dim")
            return text
        if not pending:
            text.append(f"All {len(placements)} pod(s) were scheduled.", style="green")
            return text
        text.append(f"{len(pending)} pod(s) not scheduled\n", style="bold red")
        for placement in pending:
            text.append(f"  {placement.pod} ", style="bold")
            text.append(f"{placement.phase}: {placement.reason or 'no reason given'}\n")
        text.rstrip()
        return text

    def on_mount(self) -> None:
        table = self.query_one("#placement-nodes", DataTable)
        table.add_columns("Node", "GPUs used", "Pods")
        workloads = gpus_per_workload(self.answer_text)
        pod_gpus = tree_pod_gpus(self.report.workloads or [])
        by_node: dict[str, list[Any]] = defaultdict(list)
        for placement in self.report.placement or []:
            if placement.node:
                by_node[placement.node].append(placement)
        capacity = {node.name: node.gpus for node in self.nodes}
        for node in sorted(set(by_node) | set(capacity)):
            pods = by_node.get(node, [])
            used = sum(
                pod_gpus.get(p.pod, workloads.get(owner_of(p.pod, workloads) or "", 0))
                for p in pods
            )
            total = capacity.get(node)
            gauge = (
                f"{used}/{total} " + "■" * used + "□" * max(0, total - used)
                if total is not None
                else str(used)
            )
            names = ", ".join(f"{p.pod} ({p.phase})" for p in pods) or "—"
            table.add_row(node, gauge, names)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
