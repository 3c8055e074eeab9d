"""One live attempt, from screening to cleanup, and `kprep check --live` over many files.

`grade_live` (one answer text -> one Report) and `run_live_checks` (the CLI)
share one path; the steps are listed in `app.live`'s docstring. A cluster that
is missing or dies mid-check raises `ClusterError` out of `grade_live`;
`run_live_checks` turns that into notes on the offline reports and
`cluster_failed=True` (the CLI exits 3).
"""

from __future__ import annotations

import copy
import dataclasses
import re
import secrets
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.cluster.errors import ClusterError
from app.cluster.kube import ApiError, Kube, UnknownKindError
from app.cluster.namespaces import (
    NAMESPACE_RESOURCE,
    OWNED_LABEL,
    SCENARIO_LABEL,
    delete_attempt_namespace,
)
from app.cluster.provider import Echo
from app.course.loader import Course
from app.course.models import Scenario
from app.grading.engine import Grader
from app.grading.report import CheckResult, Diagnostic, Report
from app.live import safety
from app.live.apierrors import api_diagnostics, is_answer_error, warning_diagnostics
from app.live.connect import LiveCluster, connect
from app.live.observe import SETTLE_SECONDS, Observation, Planned, observe
from app.live.verdict import finish
from app.yamlmap import Document, decode, load_documents


def reference_kinds(scenario: Scenario) -> list[str]:
    try:
        parsed = load_documents(scenario.answer_text())
    except OSError:
        return []
    return sorted({d.kind for d in parsed.documents if d.kind})


def new_namespace_name(scenario_id: str) -> str:
    stem = re.sub(r"[^a-z0-9-]", "-", scenario_id.lower())[:40].strip("-") or "attempt"
    return f"kprep-{stem}-{secrets.token_hex(3)}"


def _skip_live(grader: Grader, reason: str) -> list[CheckResult]:
    return [
        CheckResult(c.check.id, c.check.title, "skip", 0, c.check.points, c.check.concept, reason)
        for c in grader.live_checks
    ]


def _prepare(doc: Document, namespace: str, scenario_id: str) -> dict[str, Any]:
    manifest = copy.deepcopy(doc.data)
    meta = manifest.setdefault("metadata", {})
    if not isinstance(meta, dict):
        meta = manifest["metadata"] = {}
    meta["namespace"] = namespace
    labels = meta.get("labels")
    if not isinstance(labels, dict):
        labels = meta["labels"] = {}
    labels[OWNED_LABEL] = "true"
    labels[SCENARIO_LABEL] = scenario_id[:63]
    return manifest


def grade_live(
    course: Course | None,
    scenario: Scenario,
    grader: Grader,
    text: str,
    file: str = "<answer>",
    *,
    cluster: LiveCluster,
    keep: bool = False,
    offline: Report | None = None,
    echo: Echo | None = None,
    settle_seconds: float = SETTLE_SECONDS,
    cancel: threading.Event | None = None,
) -> Report:
    """Grade one answer on the cluster. Raises ClusterError if the cluster fails mid-way.

    `offline` is the offline report of the same text (graded here when None).
    `cancel`, when set by another thread, ends the wait early (the namespace is
    still deleted).
    """
    del course  # the course is the caller's; kept in the signature for the terminal app
    say = echo or (lambda _message: None)
    report = offline if offline is not None else grader.grade_text(text, file)
    report = dataclasses.replace(
        report, errors=list(report.errors), checks=list(report.checks), notes=list(report.notes)
    )
    report.mode = "live"
    report.placement = []
    parsed = load_documents(text)
    docs = [d for d in parsed.documents if isinstance(d.data, dict)]
    if parsed.problems or not docs:
        report.checks.extend(_skip_live(grader, "fix the YAML first; nothing was applied"))
        return report
    kube = cluster.kube

    # -- screening --
    allowed = safety.allowed_kinds(scenario.allowed_kinds, reference_kinds(scenario))
    refusals: list[Diagnostic] = []
    planned: list[Planned] = []
    namespace = new_namespace_name(scenario.id)
    for doc in docs:
        kind, api_version = doc.kind, doc.api_version
        if not kind or not api_version:
            continue  # the offline report already says what is missing
        if kind == "Namespace":
            report.notes.append(
                f"{doc.describe()} was not applied: every attempt runs in a "
                "fresh namespace of kprep's"
            )
            continue
        refusal = safety.kind_refusal(kind, allowed)
        problems = [refusal] if refusal else []
        problems += safety.host_access(doc.data)
        for problem in problems:
            line, column = doc.locate(problem.path)
            refusals.append(
                Diagnostic(f"{doc.describe()}: {problem.message}", "cluster", line, column)
            )
        if problems:
            continue
        try:
            resource = kube.resource(api_version, kind)
        except UnknownKindError:
            line, column = doc.locate(("kind",))
            hint = (
                " (is its CRD in the course's crds/ and listed by the profile?)"
                if ("." in api_version.split("/")[0])
                else ""
            )
            refusals.append(
                Diagnostic(
                    f"{doc.describe()}: unknown kind {api_version}/{kind}: "
                    f"the cluster serves no such API{hint}",
                    "apiserver",
                    line,
                    column,
                )
            )
            continue
        except ApiError as exc:
            raise ClusterError(f"discovery failed: {exc}") from exc
        if not resource.namespaced:
            line, column = doc.locate(("kind",))
            refusals.append(
                Diagnostic(
                    f"{doc.describe()}: {kind} is cluster-scoped; kprep "
                    "only applies namespaced objects",
                    "cluster",
                    line,
                    column,
                )
            )
            continue
        original_ns = (
            (doc.data.get("metadata") or {}).get("namespace")
            if isinstance(doc.data.get("metadata"), dict)
            else None
        )
        if original_ns:
            report.notes.append(
                f"{doc.describe()}: metadata.namespace {original_ns!r} was "
                f"replaced by the attempt's namespace {namespace}"
            )
        manifest = _prepare(doc, namespace, scenario.id)
        planned.append(Planned(doc, resource, manifest, cluster.runnable(manifest)))
    if len(planned) > safety.MAX_OBJECTS:
        refusals.append(
            Diagnostic(
                f"the answer has {len(planned)} objects; kprep applies at "
                f"most {safety.MAX_OBJECTS}",
                "cluster",
                None,
                None,
            )
        )
    if refusals:
        report.errors.extend(refusals)
        report.checks.extend(_skip_live(grader, "nothing was applied: see the errors above"))
        return report
    if not planned:
        report.checks.extend(_skip_live(grader, "nothing to apply"))
        return report

    # -- the namespace --
    created = False
    try:
        kube.request(
            "POST",
            NAMESPACE_RESOURCE.path(),
            body={
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": namespace,
                    "labels": {OWNED_LABEL: "true", SCENARIO_LABEL: scenario.id[:63]},
                },
            },
        )
        created = True
        _ensure_service_account(kube, namespace)
        observation = _run_attempt(
            kube, grader, report, planned, namespace, settle_seconds, cancel, say
        )
        if observation is None:
            return report
        finish(grader, report, docs, planned, observation)
        if keep:
            report.notes.append(
                f"namespace {namespace} kept (--keep); delete it with `kprep cluster gc`"
            )
        return report
    except ApiError as exc:
        raise ClusterError(f"the API server refused a kprep request: {exc}") from exc
    finally:
        if created and not keep:
            delete_attempt_namespace(kube, namespace)


def _ensure_service_account(kube: Kube, namespace: str) -> None:
    """Pods need the `default` ServiceAccount; create it rather than wait for the controller."""
    try:
        kube.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/serviceaccounts",
            body={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
        )
    except ApiError as exc:
        if exc.status != 409:
            raise


def _run_attempt(
    kube: Kube,
    grader: Grader,
    report: Report,
    planned: list[Planned],
    namespace: str,
    settle_seconds: float,
    cancel: threading.Event | None,
    say: Echo,
) -> Observation | None:
    rejected = False
    for item in planned:
        try:
            response = kube.create(item.manifest, namespace=namespace, dry_run=True)
        except ApiError as exc:
            if not is_answer_error(exc):
                raise
            rejected = True
            report.errors.extend(api_diagnostics(item.doc, exc))
            report.errors.extend(warning_diagnostics(item.doc, exc.warnings))
            continue
        report.errors.extend(warning_diagnostics(item.doc, response.warnings))
    if rejected:
        report.checks.extend(
            _skip_live(
                grader,
                "the API server rejected the answer (see the "
                "apiserver errors); nothing was applied",
            )
        )
        return None
    applied: list[dict[str, Any]] = []
    for item in planned:
        try:
            response = kube.create(item.runnable or item.manifest, namespace=namespace)
        except ApiError as exc:
            if not is_answer_error(exc):
                raise
            report.errors.extend(api_diagnostics(item.doc, exc))
            report.checks.extend(
                _skip_live(grader, "the API server rejected an object when it was applied")
            )
            return None
        applied.append(response.body)
    say(f"applied {len(applied)} object(s) in namespace {namespace}; waiting for the scheduler")
    return observe(kube, namespace, planned, applied, settle_seconds, cancel)


def run_live_checks(
    course: Course,
    scenario: Scenario,
    grader: Grader,
    reports: list[Report],
    files: Sequence[Path],
    *,
    keep: bool,
    context: str | None,
    echo: Echo,
) -> tuple[list[Report], bool]:
    """`kprep check --live`: one live Report per file; True when the cluster failed us."""

    def unavailable(reason: str) -> tuple[list[Report], bool]:
        echo(f"kprep: live checks not run: {reason}")
        for report in reports:
            report.notes.append(f"live checks not run: {reason}")
        return reports, True

    try:
        cluster = connect(course, scenario, context=context, echo=echo)
    except ClusterError as exc:
        return unavailable(str(exc))
    out: list[Report] = []
    failed = False
    try:
        for index, (report, path) in enumerate(zip(reports, files, strict=False)):
            if failed:
                out.append(report)
                continue
            if any(e.source == "yaml" for e in report.errors):
                out.append(report)
                continue
            try:
                raw = Path(path).read_bytes()
            except OSError:
                out.append(report)
                continue
            text, _problem = decode(raw)
            if text is None:
                out.append(report)
                continue
            try:
                out.append(
                    grade_live(
                        course,
                        scenario,
                        grader,
                        text,
                        report.file,
                        cluster=cluster,
                        keep=keep,
                        offline=report,
                        echo=echo,
                    )
                )
            except ClusterError as exc:
                failed = True
                echo(
                    f"kprep: the cluster failed during the live check of {report.file}: "
                    f"{exc}. `kprep cluster up` restarts it; `kprep cluster gc` removes what "
                    "the check left behind"
                )
                report.notes.append(f"live check failed: {exc}")
                out.append(report)
                for rest in reports[index + 1 :]:
                    rest.notes.append("live checks not run: the cluster failed")
    finally:
        cluster.close()
    return out, failed
