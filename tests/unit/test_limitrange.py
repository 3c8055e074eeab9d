"""LimitRange defaults as the API server fills them in, and pods read back on kind."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from app.cluster.kind.config import Scale
from app.cluster.kind.manifests import runnable_on_kind
from app.cluster.originals import restore
from app.k8s.limitrange import apply_container_defaults, container_defaults


def test_default_request_falls_back_to_default_and_default_to_max() -> None:
    spec = {
        "limits": [
            {"type": "Pod", "max": {"cpu": "64"}},
            {
                "type": "Container",
                "defaultRequest": {"cpu": "1"},
                "default": {"memory": "4Gi"},
                "max": {"nvidia.com/gpu": "4", "memory": "64Gi"},
            },
        ]
    }
    limits, requests = container_defaults(spec)
    assert limits == {"memory": "4Gi", "nvidia.com/gpu": "4"}
    assert requests == {"cpu": "1", "memory": "4Gi", "nvidia.com/gpu": "4"}


def test_only_unset_fields_are_filled() -> None:
    container: dict[str, Any] = {"resources": {"requests": {"cpu": "250m"}}}
    apply_container_defaults(container, ({"memory": "4Gi"}, {"cpu": "1", "memory": "4Gi"}))
    assert container["resources"] == {
        "requests": {"cpu": "250m", "memory": "4Gi"},
        "limits": {"memory": "4Gi"},
    }


def test_a_pod_filled_from_a_scaled_limit_range_reads_back_as_on_kwok() -> None:
    # On kind the LimitRange is scaled to the host-sized nodes, so the API server fills
    # scaled amounts into a pod that set none; live checks must see the answer's.
    limit_range = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "defaults"},
        "spec": {"limits": [{"type": "Container", "defaultRequest": {"cpu": "1"},
                              "default": {"memory": "4Gi"}}]},
    }  # fmt: skip
    job_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "prep"},
        "spec": {"containers": [{"name": "prep", "image": "registry.example.com/prep:1"}]},
    }
    scale = Scale(Fraction(1, 16), Fraction(1, 8), 2000, 8 * 2**30)
    scaled_defaults = runnable_on_kind(limit_range, scale=scale)["spec"]["limits"][0]
    assert scaled_defaults["defaultRequest"]["cpu"] != "1"
    stored = runnable_on_kind(job_pod, scale=scale)
    # What the API server stores: the scaled defaults filled in.
    apply_container_defaults(stored["spec"]["containers"][0], container_defaults(
        {"limits": [scaled_defaults]}))  # fmt: skip
    read_back = restore(stored, container_defaults(limit_range["spec"]))
    resources = read_back["spec"]["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"memory": "4Gi"}}
