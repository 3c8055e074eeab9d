"""Report renderers for the command line: text (Rich), JSON lines, JUnit XML."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import IO, Any

from app.grading.report import Report

_STATUS_STYLE = {"pass": "green", "fail": "red", "error": "magenta", "skip": "yellow"}


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


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
            console.print(
                f"[bold]{_escape(where)}:[/] [{style}]{error.severity}[/]"
                f"[dim]\\[{error.source}][/] {_escape(error.message)}",
                highlight=False,
            )
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
            if check.advice:
                console.print(f"    [cyan]cluster:[/] {_escape(check.advice)}", highlight=False)
        if report.placement is not None:
            for place in report.placement:
                node = place.node or "[red]not scheduled[/]"
                reason = f" [dim]{_escape(place.reason)}[/]" if place.reason else ""
                console.print(
                    f"  pod {_escape(place.pod)} -> {node} ({place.phase}){reason}", highlight=False
                )
        for note in report.notes:
            console.print(f"[yellow]note:[/] {_escape(note)}", highlight=False)
        passed = sum(1 for c in report.checks if c.status == "pass")
        verdict = "[bold green]PASSED[/]" if report.passed else "[bold red]FAILED[/]"
        console.print(
            f"{_escape(report.file)}: {report.scenario} ({report.mode}): "
            f"[bold]{report.score}/{report.max_score}[/] points, {passed}/{len(report.checks)} "
            f"checks pass, {len(report.blocking_errors)} error(s)  {verdict}",
            highlight=False,
        )


def render_json(reports: Sequence[Report], out: IO[str]) -> None:
    """One JSON object per line, one line per file."""
    for report in reports:
        out.write(json.dumps(report.to_json(), ensure_ascii=False) + "\n")


def render_junit(reports: Sequence[Report], out: IO[str]) -> None:
    """JUnit XML: a testsuite per file, a testcase per check plus one for validity."""
    from xml.etree import ElementTree as ET

    suites = ET.Element("testsuites", name="kprep")
    for report in reports:
        failures = sum(1 for c in report.checks if c.status == "fail")
        errors = sum(1 for c in report.checks if c.status == "error")
        skipped = sum(1 for c in report.checks if c.status == "skip")
        validity_failed = bool(report.blocking_errors)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"{report.scenario}:{report.file}",
            tests=str(len(report.checks) + 1),
            failures=str(failures + int(validity_failed)),
            errors=str(errors),
            skipped=str(skipped),
        )
        ET.SubElement(suite, "properties")
        props = suite.find("properties")
        assert props is not None
        for key, value in (
            ("score", report.score),
            ("max_score", report.max_score),
            ("mode", report.mode),
            ("passed", str(report.passed).lower()),
        ):
            ET.SubElement(props, "property", name=key, value=str(value))
        case = ET.SubElement(
            suite, "testcase", classname=report.scenario, name="valid-manifests", file=report.file
        )
        if validity_failed:
            failure = ET.SubElement(
                case, "failure", message=f"{len(report.blocking_errors)} error(s)", type="validity"
            )
            failure.text = "\n".join(
                f"{report.file}:{e.line or 0}: [{e.source}] {e.message}" for e in report.errors
            )
        for check in report.checks:
            case = ET.SubElement(
                suite, "testcase", classname=report.scenario, name=check.id, file=report.file
            )
            if check.line:
                case.set("line", str(check.line))
            if check.status in ("fail", "error"):
                tag = "failure" if check.status == "fail" else "error"
                node = ET.SubElement(case, tag, message=check.title, type=check.concept)
                node.text = check.message
            elif check.status == "skip":
                ET.SubElement(case, "skipped", message=check.message)
    ET.indent(suites)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(suites, encoding="unicode") + "\n")
