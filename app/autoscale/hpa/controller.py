"""One HPA inside kube-controller-manager: its memory and its reconcile loop
(pkg/controller/podautoscaler/horizontal.go `reconcileAutoscaler`).

`HorizontalController.sync` is one pass over a `ClusterView` at a given time:
the bounds check, the metrics' proposal (`metrics`), stabilization and rate
limits (`behavior`), and the rescale with its event and conditions.
"""

from __future__ import annotations

from dataclasses import replace

from app.autoscale.hpa import behavior as rules
from app.autoscale.hpa.behavior import Recommendation, ScaleEvent
from app.autoscale.hpa.calculator import Tolerances
from app.autoscale.hpa.labtime import ControllerConfig
from app.autoscale.hpa.metrics import compute_replicas_for_metrics
from app.autoscale.hpa.spec import HPASpec
from app.autoscale.hpa.view import ClusterView, ControllerEvent, MetricReading, SyncResult


class HorizontalController:
    """One HPA inside kube-controller-manager: its spec, its memory, its sync.

    The memory is what the real controller keeps per HPA key in
    pkg/controller/podautoscaler/horizontal.go: `recommendations` (unstabilized
    recommendations with timestamps) and `scaleUpEvents` / `scaleDownEvents`.
    """

    def __init__(self, spec: HPASpec, config: ControllerConfig | None = None):
        self.spec = spec
        self.config = config or ControllerConfig()
        self.recommendations: list[Recommendation] = []
        self.scale_up_events: list[ScaleEvent] = []
        self.scale_down_events: list[ScaleEvent] = []
        self._conditions: dict[str, str] = {}
        self._events: list[ControllerEvent] = []
        self.status_desired_replicas = 0
        """status.desiredReplicas: kept as it was when a sync cannot compute metrics."""

    # horizontal.go `tolerancesForHpa`
    def tolerances(self) -> Tolerances:
        tolerance = self.config.tolerance
        result = Tolerances(tolerance, tolerance)
        behavior = self.spec.behavior
        if behavior is None or not self.config.configurable_tolerance:
            return result
        if behavior.scale_down.tolerance is not None:
            result = replace(result, scale_down=behavior.scale_down.tolerance)
        if behavior.scale_up.tolerance is not None:
            result = replace(result, scale_up=behavior.scale_up.tolerance)
        return result

    def _event(self, type_: str, reason: str, message: str) -> None:
        self._events.append(ControllerEvent(type_, reason, message))

    def recommend(self, now: float, view: ClusterView) -> int | None:
        """What the metrics ask for (the maximum over them), before stabilization,
        behavior and bounds, without touching this controller's history, conditions
        or events. None when the controller would not act on them
        (`computeReplicasForMetrics` fails)."""
        outcome = compute_replicas_for_metrics(
            self.spec, self.config, self.tolerances(), now, view, []
        )
        return None if outcome.failure is not None else outcome.replicas

    # horizontal.go `reconcileAutoscaler`
    def sync(self, now: float, view: ClusterView) -> SyncResult:
        """One reconcile of this HPA at time `now` (seconds on the run's clock)."""
        self._events = []
        spec = self.spec
        self._conditions["AbleToScale"] = "SucceededGetScale"
        current = view.spec_replicas
        # `recordInitialRecommendation`: the first sync seeds the history with the
        # current count, so a fresh HPA does not scale down at once.
        if not self.recommendations:
            self.recommendations.append(Recommendation(current, now))

        min_replicas = spec.min_replicas
        desired = 0
        rescale_reason = ""
        readings: tuple[MetricReading, ...] = ()
        needs_metrics = True
        rescale = True
        if current == 0:
            # Scale-to-zero (gate HPAScaleToZero) is alpha and off in 1.36: a target
            # scaled to 0 by hand disables the HPA.
            needs_metrics = False
            rescale = False
            self._conditions["ScalingActive"] = "ScalingDisabled"
        elif current > spec.max_replicas:
            rescale_reason = "Current number of replicas above Spec.MaxReplicas"
            desired = spec.max_replicas
            needs_metrics = False
        elif current < min_replicas:
            rescale_reason = "Current number of replicas below Spec.MinReplicas"
            desired = min_replicas
            needs_metrics = False

        if needs_metrics:
            outcome = compute_replicas_for_metrics(
                spec, self.config, self.tolerances(), now, view, self._events
            )
            self._conditions["ScalingActive"] = outcome.scaling_active
            readings = outcome.readings
            if outcome.failure is not None:
                # All metrics failed, or some failed and the rest would scale down:
                # no decision this sync.
                self._event("Warning", "FailedComputeMetricsReplicas", outcome.failure)
                return self._result(now, current, self.status_desired_replicas, False, readings)
            rescale_metric = ""
            if outcome.replicas > desired:
                desired = outcome.replicas
                rescale_metric = outcome.metric_name
            if desired > current:
                rescale_reason = f"{rescale_metric} above target"
            if desired < current:
                rescale_reason = "All metrics below target"
            if spec.behavior is None:
                desired = self._normalize(now, current, desired, min_replicas)
            else:
                desired = self._normalize_with_behaviors(now, current, desired, min_replicas)
            rescale = desired != current

        if rescale:
            self._conditions["AbleToScale"] = "SucceededRescale"
            self._event(
                "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {rescale_reason}"
            )
            rules.store_scale_event(
                spec.behavior,
                self.scale_up_events,
                self.scale_down_events,
                now,
                current,
                desired,
            )
        else:
            desired = current
        return self._result(now, current, desired, rescale, readings)

    def _result(
        self,
        now: float,
        current: int,
        desired: int,
        rescale: bool,
        readings: tuple[MetricReading, ...],
    ) -> SyncResult:
        self.status_desired_replicas = desired
        return SyncResult(
            time=now,
            current_replicas=current,
            desired_replicas=desired,
            rescale=rescale,
            metrics=readings,
            conditions=dict(self._conditions),
            events=tuple(self._events),
        )

    # horizontal.go `normalizeDesiredReplicas` (no behavior)
    def _normalize(self, now: float, current: int, desired: int, min_replicas: int) -> int:
        stabilized = rules.stabilize(
            self.recommendations, now, desired, self.config.downscale_stabilization
        )
        self._conditions["AbleToScale"] = (
            "ScaleDownStabilized" if stabilized != desired else "ReadyForNewScale"
        )
        result, reason = rules.convert_with_rules(
            current, stabilized, min_replicas, self.spec.max_replicas
        )
        self._conditions["ScalingLimited"] = reason
        return result

    # horizontal.go `normalizeDesiredReplicasWithBehaviors`
    def _normalize_with_behaviors(
        self, now: float, current: int, desired: int, min_replicas: int
    ) -> int:
        behavior = self.spec.behavior
        assert behavior is not None
        # `maybeInitScaleDownStabilizationWindow`: a scale-down window left out takes
        # the controller's --horizontal-pod-autoscaler-downscale-stabilization.
        down_window = behavior.scale_down.stabilization_window_seconds
        if down_window is None:
            down_window = int(self.config.downscale_stabilization)
        up_window = behavior.scale_up.stabilization_window_seconds or 0
        stabilized, reason = rules.stabilize_with_behaviors(
            self.recommendations, now, current, desired, up_window, down_window
        )
        self._conditions["AbleToScale"] = reason if stabilized != desired else "ReadyForNewScale"
        result, limit_reason = rules.convert_with_behavior_rate(
            now,
            current,
            stabilized,
            min_replicas,
            self.spec.max_replicas,
            behavior,
            self.scale_up_events,
            self.scale_down_events,
        )
        self._conditions["ScalingLimited"] = limit_reason
        return result
