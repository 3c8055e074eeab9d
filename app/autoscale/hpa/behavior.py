"""How the controller turns a desired count into the count it sets: stabilization
windows over past recommendations, behavior policies per period with
selectPolicy, and the older path without `behavior` (pkg/controller/podautoscaler/
horizontal.go).

The state these functions read and update is the controller's memory for one
HPA (`Recommendation` and `ScaleEvent` lists); `HorizontalController` owns it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.autoscale.hpa.spec import (
    INT32_MAX,
    INT32_MIN,
    LEGACY_SCALE_UP_LIMIT_FACTOR,
    LEGACY_SCALE_UP_LIMIT_MINIMUM,
    Behavior,
    ScalingRules,
)


@dataclass
class Recommendation:
    """One unstabilized recommendation (horizontal.go `timestampedRecommendation`)."""

    recommendation: int
    timestamp: float


@dataclass
class ScaleEvent:
    """One scale-up or scale-down (horizontal.go `timestampedScaleEvent`)."""

    replica_change: int
    timestamp: float
    outdated: bool = False


def record(
    recommendations: list[Recommendation], old_index: int | None, desired: int, now: float
) -> None:
    # The controller reuses one expired slot rather than growing the list.
    if old_index is not None:
        recommendations[old_index] = Recommendation(desired, now)
    else:
        recommendations.append(Recommendation(desired, now))


def stabilize(
    recommendations: list[Recommendation], now: float, desired: int, window: float
) -> int:
    """horizontal.go `stabilizeRecommendation` (no behavior): the highest
    recommendation of the downscale window (`window`, the controller's flag)."""
    maximum = desired
    cutoff = now - window
    old_index = None
    for index, rec in enumerate(recommendations):
        # `rec.timestamp.Before(cutoff)`; a tie is old (see the hpa package docstring).
        if rec.timestamp <= cutoff:
            old_index = index
        elif rec.recommendation > maximum:
            maximum = rec.recommendation
    record(recommendations, old_index, desired, now)
    return maximum


def stabilize_with_behaviors(
    recommendations: list[Recommendation],
    now: float,
    current: int,
    desired: int,
    up_window: int,
    down_window: int,
) -> tuple[int, str]:
    """horizontal.go `stabilizeRecommendationWithBehaviors`; returns the stabilized
    count and the AbleToScale reason when it differs from `desired`."""
    up_cutoff = now - up_window
    down_cutoff = now - down_window
    up_recommendation = desired
    down_recommendation = desired
    old_index = None
    for index, rec in enumerate(recommendations):
        # `rec.timestamp.After(cutoff)`: a sample on the cutoff is outside.
        if rec.timestamp > up_cutoff:
            up_recommendation = min(rec.recommendation, up_recommendation)
        if rec.timestamp > down_cutoff:
            down_recommendation = max(rec.recommendation, down_recommendation)
        # `Before(upCutoff) && Before(downCutoff)`; a tie is old (hpa package docstring).
        if rec.timestamp <= up_cutoff and rec.timestamp <= down_cutoff:
            old_index = index
    # Scale-up takes the lowest recommendation of its window, scale-down the
    # highest of its window, and the current count stays if it lies between.
    recommendation = current
    if recommendation < up_recommendation:
        recommendation = up_recommendation
    if recommendation > down_recommendation:
        recommendation = down_recommendation
    record(recommendations, old_index, desired, now)
    reason = "ScaleUpStabilized" if desired >= current else "ScaleDownStabilized"
    return recommendation, reason


def convert_with_behavior_rate(
    now: float,
    current: int,
    desired: int,
    min_replicas: int,
    max_replicas: int,
    behavior: Behavior,
    up_events: Sequence[ScaleEvent],
    down_events: Sequence[ScaleEvent],
) -> tuple[int, str]:
    """horizontal.go `convertDesiredReplicasWithBehaviorRate`; returns the count and
    the ScalingLimited reason."""
    if desired > current:
        limit = scale_up_limit(now, current, up_events, down_events, behavior.scale_up)
        if limit < current:
            # Not further up until the events of the period expire.
            limit = current
        if max_replicas > limit:
            maximum, reason = limit, "ScaleUpLimit"
        else:
            maximum, reason = max_replicas, "TooManyReplicas"
        if desired > maximum:
            return maximum, reason
    elif desired < current:
        limit = scale_down_limit(now, current, up_events, down_events, behavior.scale_down)
        if limit > current:
            limit = current
        if min_replicas < limit:
            minimum, reason = limit, "ScaleDownLimit"
        else:
            minimum, reason = min_replicas, "TooFewReplicas"
        if desired < minimum:
            return minimum, reason
    return desired, "DesiredWithinRange"


def store_scale_event(
    behavior: Behavior | None,
    up_events: list[ScaleEvent],
    down_events: list[ScaleEvent],
    now: float,
    previous: int,
    new: int,
) -> None:
    """horizontal.go `storeScaleEvent`."""
    if behavior is None:
        return  # the path without behavior never reads these
    if new > previous:
        events, rules, change = up_events, behavior.scale_up, new - previous
    else:
        events, rules, change = down_events, behavior.scale_down, previous - new
    longest = max((p.period_seconds for p in rules.policies), default=0)
    # `markScaleEventsOutdated`: `timestamp.Before(cutoff)`; a tie is old.
    cutoff = now - longest
    old_index = None
    for index, event in enumerate(events):
        if event.timestamp <= cutoff:
            event.outdated = True
        if event.outdated:
            old_index = index
    new_event = ScaleEvent(change, now)
    if old_index is not None:
        events[old_index] = new_event
    else:
        events.append(new_event)


def convert_with_rules(current: int, desired: int, minimum: int, maximum: int) -> tuple[int, str]:
    """horizontal.go `convertDesiredReplicasWithRules` (no behavior): min/max, and at
    most max(2 x current, 4) per sync (`calculateScaleUpLimit`)."""
    scale_up_limit = int(max(LEGACY_SCALE_UP_LIMIT_FACTOR * current, LEGACY_SCALE_UP_LIMIT_MINIMUM))
    if maximum > scale_up_limit:
        allowed_max, reason = scale_up_limit, "ScaleUpLimit"
    else:
        allowed_max, reason = maximum, "TooManyReplicas"
    if desired < minimum:
        return minimum, "TooFewReplicas"
    if desired > allowed_max:
        return allowed_max, reason
    return desired, "DesiredWithinRange"


def changes_in_period(now: float, period_seconds: int, events: Sequence[ScaleEvent]) -> int:
    """horizontal.go `getReplicasChangePerPeriod`: `timestamp.After(now - period)`."""
    cutoff = now - period_seconds
    return sum(e.replica_change for e in events if e.timestamp > cutoff)


def scale_up_limit(
    now: float,
    current: int,
    up_events: Sequence[ScaleEvent],
    down_events: Sequence[ScaleEvent],
    rules: ScalingRules,
) -> int:
    """horizontal.go `calculateScaleUpLimitWithScalingRules`: each policy allows a
    count relative to the replicas at the start of its period; Max picks the most
    permissive, Min the least, Disabled forbids scaling up."""
    if rules.select_policy == "Disabled":
        return current
    if rules.select_policy == "Min":
        result, pick = INT32_MAX, min
    else:
        result, pick = INT32_MIN, max
    for policy in rules.policies:
        added = changes_in_period(now, policy.period_seconds, up_events)
        deleted = changes_in_period(now, policy.period_seconds, down_events)
        period_start = current - added + deleted
        if policy.type == "Pods":
            proposed = period_start + policy.value
        else:
            # Rounded up, so a Percent policy can always add at least one pod.
            proposed = math.ceil(period_start * (1 + policy.value / 100))
        result = pick(result, proposed)
    return result


def scale_down_limit(
    now: float,
    current: int,
    up_events: Sequence[ScaleEvent],
    down_events: Sequence[ScaleEvent],
    rules: ScalingRules,
) -> int:
    """horizontal.go `calculateScaleDownLimitWithBehaviors`: the lowest count each
    policy allows; Max picks the lowest (biggest change), Min the highest."""
    if rules.select_policy == "Disabled":
        return current
    if rules.select_policy == "Min":
        result, pick = INT32_MIN, max
    else:
        result, pick = INT32_MAX, min
    for policy in rules.policies:
        added = changes_in_period(now, policy.period_seconds, up_events)
        deleted = changes_in_period(now, policy.period_seconds, down_events)
        period_start = current - added + deleted
        if policy.type == "Pods":
            proposed = period_start - policy.value
        else:
            # int32(float) truncates toward zero.
            proposed = int(period_start * (1 - policy.value / 100))
        result = pick(result, proposed)
    return result
