"""Scheduler messages (as Kubernetes 1.36 writes them) -> advice for the candidate."""

from __future__ import annotations

from app.live import advice

GPU_NODES = [
    {
        "name": f"gpu-a100-{i}",
        "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
    }
    for i in range(4)
] + [{"name": "cpu-0", "taints": []}]

UNNAMED = (
    "0/8 nodes are available: 2 Insufficient nvidia.com/gpu, 6 node(s) had untolerated "
    "taint(s). no new claims to deallocate, preemption: 0/8 nodes are available: 8 "
    "Preemption is not helpful for scheduling."
)


def test_unnamed_taints_are_named_from_the_nodes() -> None:
    said = advice.explain(UNNAMED, GPU_NODES, tolerations=None)
    assert said[0].startswith(
        "your pods don't tolerate the GPU nodes' taint "
        "nvidia.com/gpu=present:NoSchedule (4 node(s))"
    )
    assert "operator: Exists" in said[0]
    assert any("too few free nvidia.com/gpu" in s for s in said)


def test_equal_without_value_gets_its_own_explanation() -> None:
    tolerations = [{"key": "nvidia.com/gpu", "operator": "Equal", "effect": "NoSchedule"}]
    said = advice.explain(UNNAMED, GPU_NODES, tolerations)
    assert any("operator: Equal and no value" in s for s in said)


def test_tolerated_taints_are_not_blamed() -> None:
    tolerations = [{"key": "nvidia.com/gpu", "operator": "Exists"}]
    said = advice.explain(
        "0/1 nodes are available: 1 node(s) had untolerated taint(s).", GPU_NODES, tolerations
    )
    assert said and "compare the pods' tolerations" in said[0]


def test_named_taint_form_of_older_schedulers() -> None:
    said = advice.explain(
        "0/8 nodes are available: 4 node(s) had untolerated taint {nvidia.com/gpu: present}.",
        GPU_NODES,
    )
    assert "nvidia.com/gpu=present:NoSchedule" in said[0]


def test_affinity_spread_and_selector_clauses() -> None:
    message = (
        "0/8 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, "
        "4 node(s) didn't match pod anti-affinity rules, 2 node(s) didn't match pod "
        "topology spread constraints. preemption: 0/8 nodes are available: ..."
    )
    said = " | ".join(advice.explain(message))
    assert "nodeSelector / required node affinity" in said
    assert "required anti-affinity allows one such pod per topology domain" in said
    assert "topology spread constraint" in said


def test_summary_deduplicates() -> None:
    text = advice.summarize([(UNNAMED, None), (UNNAMED, None)], GPU_NODES)
    assert text.count("add a toleration") == 1


def test_empty_message_gives_nothing() -> None:
    assert advice.explain("") == []
