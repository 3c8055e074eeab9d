"""Report renderers for the command line: text (Rich), JSON lines, JUnit XML, and the
report files written beside the text report (`--json FILE`, `--junit FILE`).

Text output says a thing once: pods that share a node, phase and reason are one line
("13 pods Pending, not scheduled: <why>"), and the cluster's advice is printed once
however many checks it explains.

Messages quote the candidate's own text (names, values, file names), so every
renderer neutralises what its format cannot carry: terminal control characters
in text output, and in JUnit the characters XML 1.0 forbids (they become
`\\xNN`). JSON escapes control characters itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from app.grading.report import Placement, Report

PODS_NAMED = 3
"""A group of pods names this many of them, then says how many more."""

_STATUS_STYLE = {"pass": "green", "fail": "red", "error": "magenta", "skip": "yellow"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` without terminal control characters (shown as `\\xNN`); newlines and tabs kept."""
    return _CONTROL.sub(_visible, text)


def xml_safe(text: str) -> str:
    """`text` with every character XML 1.0 forbids shown as `\\xNN` (or `\\uNNNN`)."""
    return _NOT_XML.sub(_visible, text)


def _escape(text: str) -> str:
    from rich.markup import escape  # deferred: start-up cost, JSON/JUnit never load Rich

    return escape(printable(text))


def render_text(reports: Sequence[Report], console: Any) -> None:
    """Compiler-style lines, then a summary per file."""
    for report in reports:
        for error in report.errors:
            where = (
                report.file
                + (f":{error.line}" if error.line else "")
                + (f":{error.column}" if error.line and error.column else "")
            )
            style = "yellow" if error.severity == "warning" else "red"
            label = "internal error" if error.source == "internal" else error.severity
            console.print(
                f"[bold]{_escape(where)}:[/] [{style}]{label}[/]"
                f"[dim]\\[{error.source}][/] {_escape(error.message)}",
                highlight=False,
            )
        advised: set[str] = set()
        for check in report.checks:
            if check.status == "pass":
                continue
            where = report.file + (f":{check.line}" if check.line else "")
            style = _STATUS_STYLE[check.status]
            console.print(
                f"[bold]{_escape(where)}:[/] [{style}]{check.status}[/] "
                f"[bold]{_escape(check.id)}[/] ({check.points}/{check.max_points}) "
                f"{_escape(check.title)}: {_escape(check.message)}",
                highlight=False,
            )
            if check.advice and check.advice not in advised:
                advised.add(check.advice)
                console.print(f"    [cyan]cluster:[/] {_escape(check.advice)}", highlight=False)
        if report.workloads and _training_tree(report.workloads):
            from app.grading.tree_render import workload_tree  # deferred: start-up cost (Rich)

            # Wrapped, not cropped: a pod's rendezvous settings are the end of its line.
            console.print(workload_tree(report.workloads, "where the pods landed"), soft_wrap=False)
        else:
            for group in group_placement(report.placement or []):
                console.print(f"  {_placement_line(group)}", highlight=False)
        for note in report.notes:
            console.print(f"[yellow]note:[/] {_escape(note)}", highlight=False)
        passed = sum(1 for c in report.checks if c.status == "pass")
        verdict = "[bold green]PASSED[/]" if report.passed else "[bold red]FAILED[/]"
        console.print(
            f"{_escape(report.file)}: {_escape(report.scenario)} ({report.mode}): "
            f"[bold]{report.score}/{report.max_score}[/] points, {passed}/{len(report.checks)} "
            f"checks pass, {len(report.blocking_errors)} error(s)  {verdict}",
            highlight=False,
        )


def _training_tree(roots: list[dict[str, Any]]) -> bool:
    from app.grading.tree_render import is_training_tree  # deferred: start-up cost (Rich)

    return is_training_tree(roots)


@dataclass
class PlacementGroup:
    """Pods that landed the same way: same node (or none), phase and reason."""

    node: str | None
    phase: str
    reason: str
    pods: list[str] = field(default_factory=list)


def group_placement(placement: Sequence[Placement]) -> list[PlacementGroup]:
    """`placement` grouped by (node, phase, reason), groups in order of first appearance."""
    groups: dict[tuple[str | None, str, str], PlacementGroup] = {}
    for place in placement:
        key = (place.node, place.phase, place.reason)
        groups.setdefault(key, PlacementGroup(*key)).pods.append(place.pod)
    return list(groups.values())


def _placement_line(group: PlacementGroup) -> str:
    """`pod a -> node (Running)`, `3 pods -> node (Running): a, b, c` or
    `13 pods Pending, not scheduled: <why> (a, b, c and 10 more)`."""
    count = len(group.pods)
    named = ", ".join(_escape(pod) for pod in group.pods[:PODS_NAMED])
    if count > PODS_NAMED:
        named += f" and {count - PODS_NAMED} more"
    reason = _escape(group.reason)
    if group.node is None:
        where = f"{group.phase}, [red]not scheduled[/]"
        if count == 1:
            return f"pod {named} {where}" + (f": [dim]{reason}[/]" if reason else "")
        return f"{count} pods {where}" + (f": [dim]{reason}[/]" if reason else "") + f" ({named})"
    landed = f"-> {_escape(group.node)} ({group.phase})"
    suffix = f" [dim]{reason}[/]" if reason else ""
    if count == 1:
        return f"pod {named} {landed}{suffix}"
    return f"{count} pods {landed}: {named}{suffix}"


def write_report_files(
    reports: Sequence[Report], *, json_path: Path | None, junit_path: Path | None
) -> list[str]:
    """Write the JSON-lines and JUnit reports beside the text report (`--json FILE`,
    `--junit FILE`); returns a problem per file that could not be written."""
    problems = []
    for path, render in ((json_path, render_json), (junit_path, render_junit)):
        if path is None:
            continue
        try:
            with path.open("w", encoding="utf-8") as handle:
                render(reports, handle)
        except OSError as exc:
            problems.append(f"{path}: cannot write: {exc.strerror or exc}")
    return problems


def render_json(reports: Sequence[Report], out: IO[str]) -> None:
    """One JSON object per line, one line per file."""
    for report in reports:
        out.write(json.dumps(report.to_json(), ensure_ascii=False) + "\n")


def render_junit(reports: Sequence[Report], out: IO[str]) -> None:
    """JUnit XML: a testsuite per file, a testcase per check plus one for validity.

    A failing check is a `<failure>`; a check that could not run, or an answer the
    grader itself failed on (`internal`), is an `<error>`.
    """
    from xml.etree import ElementTree as ET  # deferred: start-up cost, only JUnit uses XML

    def element(parent: Any, tag: str, **attributes: str) -> Any:
        return ET.SubElement(parent, tag, {k: xml_safe(v) for k, v in attributes.items()})

    suites = ET.Element("testsuites", name="kprep")
    for report in reports:
        failures = sum(1 for c in report.checks if c.status == "fail")
        errors = sum(1 for c in report.checks if c.status == "error")
        skipped = sum(1 for c in report.checks if c.status == "skip")
        internal = bool(report.internal_errors)
        validity_failed = bool(report.blocking_errors) and not internal
        suite = element(
            suites,
            "testsuite",
            name=f"{report.scenario}:{report.file}",
            tests=str(len(report.checks) + 1),
            failures=str(failures + int(validity_failed)),
            errors=str(errors + int(internal)),
            skipped=str(skipped),
        )
        props = element(suite, "properties")
        for key, value in (
            ("score", report.score),
            ("max_score", report.max_score),
            ("mode", report.mode),
            ("passed", str(report.passed).lower()),
        ):
            element(props, "property", name=key, value=str(value))
        case = element(
            suite, "testcase", classname=report.scenario, name="valid-manifests", file=report.file
        )
        if internal or validity_failed:
            node = element(
                case,
                "error" if internal else "failure",
                message=report.internal_errors[0].message
                if internal
                else f"{len(report.blocking_errors)} error(s)",
                type="internal" if internal else "validity",
            )
            node.text = xml_safe(
                "\n".join(
                    f"{report.file}:{e.line or 0}: [{e.source}] {e.message}" for e in report.errors
                )
            )
        for check in report.checks:
            case = element(
                suite, "testcase", classname=report.scenario, name=check.id, file=report.file
            )
            if check.line:
                case.set("line", str(check.line))
            if check.status in ("fail", "error"):
                tag = "failure" if check.status == "fail" else "error"
                node = element(case, tag, message=check.title, type=check.concept)
                node.text = xml_safe(check.message)
            elif check.status == "skip":
                element(case, "skipped", message=check.message)
    ET.indent(suites)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(suites, encoding="unicode") + "\n")
