"""The vendored upstream CRDs stay in step with their pins in hack/crd-sources.yaml.

Re-vendoring needs the Go module proxy (`hack/vendor-crds.py --check`); this test
needs nothing: every pinned entry has its file, headed by the module and version it
came from, holding only CustomResourceDefinitions without description strings.
"""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _entries() -> list[dict[str, object]]:
    return yaml.safe_load((REPO / "hack" / "crd-sources.yaml").read_text(encoding="utf-8"))


def test_every_pinned_crd_is_vendored_with_its_pin() -> None:
    for entry in _entries():
        path = REPO / "crds" / str(entry["out"])
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert f"from {entry['module']}@{entry['version']}:" in first, path
        docs = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader))
        assert docs and all(d["kind"] == "CustomResourceDefinition" for d in docs), path
        assert "description: " not in path.read_text(encoding="utf-8"), path


def test_vendored_files_are_only_the_pinned_ones() -> None:
    pinned = {str(e["out"]) for e in _entries()}
    for path in (REPO / "crds").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        if text.startswith("# Vendored by hack/vendor-crds.py"):
            assert path.name in pinned, f"{path.name} is vendored but not pinned"
