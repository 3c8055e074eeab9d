"""What the YAML editor needs to know about a line of YAML: where a new line's
indentation goes, whether it is a comment, and an outline of the fields to jump to.

Plain functions over strings (no Textual), so every rule is unit-tested directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INDENT = 2
"""Spaces per indentation level (Kubernetes YAML is written with two)."""

_ITEM = re.compile(r"(\s*)((?:-(?:\s+|$))+)")
"""Leading indentation, then one or more `- ` list markers (`- - x` nests lists)."""
_OPENS_BLOCK = re.compile(r"(?::|:\s+[|>][-+0-9]*|:\s+[\[{]|^\s*-\s+[\[{]|^[\[{])$")
"""The code part ends a key with no value, a block scalar header (`key: |`), or opens a
flow collection: the next line is one level deeper."""
_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*")
"""A block scalar's header (`|`, `>-`, `|2`): its text follows on the next lines."""
_KEY = re.compile(r"""^(\s*)(?:-\s+)*("[^"]*"|'[^']*'|[^\s#'"][^:#]*?)\s*:(?:\s|$)""")


def code_part(line: str) -> str:
    """`line` without its comment: a `#` at the start or after a space, outside quotes."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"" and (index == 0 or line[index - 1] in " \t:[{,-"):
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index]
    return line


def is_comment(line: str) -> bool:
    """The line holds only a comment."""
    return line.lstrip().startswith("#")


def leading_spaces(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def newline_indent(before_cursor: str) -> int:
    """How many spaces start the line Enter opens, given the text before the cursor.

    Keeps the line's indentation; one level deeper after `key:`, `key: |` or an open
    `[`/`{`; under a list item's content after `- key: value` or a bare `-`, so the
    item's mapping continues; a comment line keeps the comment's indentation.
    """
    code = code_part(before_cursor).rstrip()
    base = leading_spaces(before_cursor)
    if not code.strip():
        return base
    item = _ITEM.match(code)
    content_column = item.end() if item else base
    if item and item.end() == len(code):
        # A bare `-` (or `- -`): the item's content comes on the next line.
        return len(item.group(1)) + INDENT * item.group(2).count("-")
    if _OPENS_BLOCK.search(code):
        return content_column + INDENT
    if item:
        rest = code[item.end() :]
        # `- key: value` continues the item's mapping, and `- |` has its text at the item's
        # content column; `- value` is followed by the next item.
        continues = _KEY.match(rest) or _BLOCK_HEADER.fullmatch(rest)
        return content_column if continues else len(item.group(1))
    return base


def dedent_width(line: str) -> int:
    """Spaces shift+tab removes from `line`: back to the previous indentation stop."""
    spaces = leading_spaces(line)
    if not spaces:
        return 0
    return spaces % INDENT or INDENT


def backspace_width(before_cursor: str) -> int:
    """Spaces backspace removes when the cursor is inside the indentation (to the previous
    stop); 1 elsewhere."""
    if not before_cursor or before_cursor.strip(" "):
        return 1
    return len(before_cursor) % INDENT or INDENT


@dataclass(frozen=True)
class OutlineEntry:
    """A key of the answer, where it is, and how deep."""

    label: str
    """The key's path, `spec.template.spec.containers[0].resources` style."""
    line: int
    """1-based."""
    depth: int
    document: str = ""
    """The YAML document it belongs to, `Kind/name` when the document says."""


def outline(text: str) -> list[OutlineEntry]:
    """Every mapping key of `text`, with its path, in file order.

    Read from indentation alone, so it works while the YAML does not parse (which is
    when a candidate most needs to find their way)."""
    entries: list[OutlineEntry] = []
    stack: list[tuple[int, str]] = []
    """(column, path segment) of the keys and list items the current line sits in."""
    item_counts: dict[tuple[int, str], int] = {}
    titles: dict[int, dict[str, str]] = {}
    document = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("---"):
            stack.clear()
            document += 1
            continue
        code = code_part(line)
        if not code.strip():
            continue
        column = leading_spaces(code)
        item = _ITEM.match(code)
        if item and item.group(2):
            # A list item may sit at its key's column (`containers:` then `- name:` below
            # it), so only deeper entries and the previous item at this column end here.
            while stack and (
                stack[-1][0] > column or (stack[-1][0] == column and stack[-1][1][0] == "[")
            ):
                stack.pop()
            parent = _join([segment for _, segment in stack])
            index = item_counts.get((document, parent), -1) + 1
            item_counts[(document, parent)] = index
            stack.append((column, f"[{index}]"))
            column = item.end()
        else:
            while stack and stack[-1][0] >= column:
                stack.pop()
        match = _KEY.match(code[column:])
        if match is None:
            continue
        name = match.group(2).strip("'\"")
        path = _join([s for _, s in stack] + [name])
        value = code[column + match.end() :].strip().strip("'\"")
        if path in ("kind", "metadata.name") and value:
            titles.setdefault(document, {})[path] = value
        entries.append(OutlineEntry(path, number, len(stack), str(document)))
        stack.append((column, name))
    return [
        OutlineEntry(entry.label, entry.line, entry.depth, _title(titles.get(int(entry.document))))
        for entry in entries
    ]


def _title(fields: dict[str, str] | None) -> str:
    if not fields or "kind" not in fields:
        return ""
    return (
        f"{fields['kind']}/{fields['metadata.name']}"
        if "metadata.name" in fields
        else fields["kind"]
    )


def _join(segments: list[str]) -> str:
    """`["spec", "containers", "[0]", "image"]` -> `spec.containers[0].image`."""
    joined = ""
    for segment in segments:
        joined += segment if segment.startswith("[") or not joined else "." + segment
    return joined
