"""What the kind cluster cannot show, and how a live check says so instead of waiting.

The training operators and the DRA slices run next to the kwok provider only
(docs/cluster-addons.md). On kind a TrainJob would be stored and never become pods;
the live grader says why and where to check instead, and runs nothing.
"""

from __future__ import annotations

from pathlib import Path

from app.cluster.kind import KindProvider
from app.cluster.kind.manifests import NOT_ON_KIND, missing_on_kind
from app.course.loader import Course
from app.grading.engine import Grader
from app.live.attempt import grade_live
from app.live.connect import LiveCluster
from tests.conftest import REPO


def test_kinds_kind_serves_are_not_lacking() -> None:
    assert missing_on_kind(["Deployment", "Job", "Service", "InferenceService"]) is None


def test_each_missing_controller_is_named_with_where_to_go() -> None:
    why = missing_on_kind(["TrainJob", "Service", "ResourceClaimTemplate"])
    assert why is not None
    assert "Kubeflow Trainer" in why and "a DRA driver" in why
    assert "ResourceClaimTemplate, TrainJob" in why
    assert "kprep cluster up" in why
    assert set(NOT_ON_KIND) >= {"TrainJob", "JobSet", "PyTorchJob", "ResourceClaimTemplate"}


def test_the_kind_provider_reports_them(tmp_path: Path) -> None:
    provider = KindProvider(REPO, state_dir=tmp_path)
    assert provider.lacks(["PyTorchJob"]) is not None
    assert provider.lacks(["Deployment"]) is None


class _Refusing:
    """A provider lacking everything; its cluster must never be called."""

    starts_containers = True

    def lacks(self, kinds: object) -> str | None:
        del kinds
        return "no operator here"

    def runnable(self, manifest: object) -> None:
        raise AssertionError("nothing may be applied")


def test_a_live_check_on_a_cluster_lacking_the_controller_skips_and_applies_nothing() -> None:
    course = Course(REPO)
    scenario = course.scenario("pytorchjob-to-trainjob")
    grader = Grader(scenario, crd_dir=course.crd_dir)
    cluster = LiveCluster(
        kube=None,  # type: ignore[arg-type]  # any call on it would fail the test
        provider_name="kind",
        profile="default",
        description="kind",
        provider=_Refusing(),  # type: ignore[arg-type]
    )
    report = grade_live(course, scenario, grader, scenario.answer_text(), cluster=cluster)
    live_ids = {c.check.id for c in grader.live_checks}
    live = [c for c in report.checks if c.id in live_ids]
    assert live and all(c.status == "skip" for c in live)
    assert all("no operator here" in c.message for c in live)
    assert "live checks not run: no operator here" in report.notes
    assert report.placement == []
