"""CRDs on a reused cluster: applied when new, changed or missing; left alone when the
cluster already holds the document kprep would apply (Established, same hash)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.cluster.crds import CRD_RESOURCE, HASH_LABEL, crd_hash, install_crds
from app.cluster.kube import ApiError

pytestmark = pytest.mark.live

NAME = "gadgets.reuse.kprep.dev"


def _crd(columns: int = 0) -> dict[str, Any]:
    version: dict[str, Any] = {
        "name": "v1",
        "served": True,
        "storage": True,
        "schema": {
            "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        },
    }
    if columns:
        version["additionalPrinterColumns"] = [
            {"name": f"c{i}", "type": "string", "jsonPath": f".spec.c{i}"} for i in range(columns)
        ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": NAME},
        "spec": {
            "group": "reuse.kprep.dev",
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [version],
        },
    }


def _delete(kube: Any) -> None:
    try:
        kube.request("DELETE", CRD_RESOURCE.path(name=NAME))
    except ApiError as exc:
        assert exc.status == 404


def test_a_crd_is_applied_only_when_the_cluster_lacks_this_document(kube: Any) -> None:
    lines: list[str] = []
    _delete(kube)
    try:
        install_crds(kube, [_crd()], lines.append)
        assert lines[-1].startswith("CRDs installed:") and NAME in lines[-1]
        stored = kube.get(CRD_RESOURCE.path(name=NAME))
        assert stored["metadata"]["labels"][HASH_LABEL] == crd_hash(_crd())

        install_crds(kube, [_crd()], lines.append)
        assert lines[-1] == "CRDs up to date: 1"

        changed = _crd(columns=1)
        install_crds(kube, [changed], lines.append)
        assert NAME in lines[-1] and "up to date" not in lines[-1]
        stored = kube.get(CRD_RESOURCE.path(name=NAME))
        assert stored["spec"]["versions"][0]["additionalPrinterColumns"][0]["name"] == "c0"

        # Someone deleted it by hand: the next install brings it back.
        _delete(kube)
        install_crds(kube, [copy.deepcopy(changed)], lines.append)
        assert NAME in lines[-1] and "up to date" not in lines[-1]
    finally:
        _delete(kube)
