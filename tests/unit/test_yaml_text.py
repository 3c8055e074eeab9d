"""The editor's YAML rules: new-line indentation, dedent, comments, the outline."""

from __future__ import annotations

import pytest

from app.tui.widgets.yaml_text import (
    backspace_width,
    code_part,
    dedent_width,
    is_comment,
    newline_indent,
    outline,
)


@pytest.mark.parametrize(
    ("before_cursor", "indent"),
    [
        ("spec:", 2),
        ("  template:", 4),
        ("  replicas: 3", 2),
        ("apiVersion: apps/v1", 0),
        ("spec:   # the pod template follows", 2),  # the comment is not the line's end
        ("  command: |", 4),  # block scalar header
        ("  args: >-", 4),
        ("  ports: [", 4),
        ("  - name: model", 4),  # the item's mapping continues under `name`
        ("- key: nvidia.com/gpu", 2),
        ("  - resources:", 6),  # a key with no value inside an item: one level under it
        ("  -", 4),  # a bare dash: its content comes on the next line
        ("  - ", 4),
        ("  - --port=8000", 2),  # a scalar item: the next item starts at the dash
        ("  - >-", 4),  # a block scalar item: its text at the item's content column
        ('  - "a: b"', 2),  # quoted, not a key
        ("    # TODO: set the GPU limit", 4),
        ("      ", 6),
        ("", 0),
        ("  image: repo/model:1.2", 2),  # a colon inside the value does not open a block
        ("  url: 'http://x:8080/#top'", 2),
    ],
)
def test_newline_indent(before_cursor, indent):
    assert newline_indent(before_cursor) == indent


def test_code_part_keeps_hashes_that_are_not_comments():
    assert code_part("key: value # note") == "key: value "
    assert code_part("# only a comment") == ""
    assert code_part("url: 'a#b' # c") == "url: 'a#b' "
    assert code_part('msg: "x # y"') == 'msg: "x # y"'
    assert code_part("tag: v1#2") == "tag: v1#2"


def test_is_comment():
    assert is_comment("   # TODO")
    assert not is_comment("key: 1 # x")


@pytest.mark.parametrize(
    ("line", "width"), [("    key: 1", 2), ("   key: 1", 1), (" x", 1), ("x", 0), ("", 0)]
)
def test_dedent_goes_back_to_the_previous_stop(line, width):
    assert dedent_width(line) == width


@pytest.mark.parametrize(
    ("before", "width"), [("    ", 2), ("     ", 1), ("  x", 1), ("", 1), ("   ", 1)]
)
def test_backspace_in_indentation_removes_a_level(before, width):
    assert backspace_width(before) == width


def test_outline_paths_lines_and_documents():
    text = (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        "  name: web\n"
        "spec:\n"
        "  template:\n"
        "    spec:\n"
        "      containers:\n"
        "      - name: app   # first\n"
        "        resources:\n"
        "          limits:\n"
        "            nvidia.com/gpu: 1\n"
        "      - name: sidecar\n"
        "      tolerations:\n"
        "        - key: nvidia.com/gpu\n"
        "---\n"
        "kind: PodDisruptionBudget\n"
        "spec:\n"
        "  minAvailable: 1\n"
    )
    entries = {e.label: e for e in outline(text)}
    limits = entries["spec.template.spec.containers[0].resources.limits"]
    assert limits.line == 11 and limits.document == "Deployment/web"
    assert entries["spec.template.spec.containers[1].name"].line == 13
    assert entries["spec.template.spec.tolerations[0].key"].line == 15
    assert entries["spec.template.spec.containers[0].resources.limits.nvidia.com/gpu"].line == 12
    pdb = [e for e in outline(text) if e.document == "PodDisruptionBudget"]
    assert [e.label for e in pdb] == ["kind", "spec", "spec.minAvailable"]


def test_outline_works_while_the_yaml_does_not_parse():
    entries = outline("spec:\n  replicas: [\n  selector:\n    matchLabels: {}\n")
    assert [e.label for e in entries] == [
        "spec",
        "spec.replicas",
        "spec.selector",
        "spec.selector.matchLabels",
    ]
