"""FSRS over concepts: which events review what, and the schedule across simulated days."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fsrs import Rating

from app.progress import review
from app.progress.review import ReviewEvent

DAY = 86400.0
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()


def event(concept: str, rating: Rating, day: float, ref: int = 1) -> ReviewEvent:
    return ReviewEvent(concept, rating, START + day * DAY, "attempt", ref, "gpu-limits")


def test_an_attempt_reviews_each_concept_once_and_any_failure_is_again() -> None:
    ratings = review.attempt_ratings(
        [
            ("gpu-limits", "pass"),
            ("gpu-limits", "fail"),
            ("gpu-limits", "pass"),
            ("requests-vs-limits", "pass"),
            ("requests-vs-limits", "pass"),
            ("tolerations", "skip"),
            ("broken-check", "error"),
        ]
    )
    assert ratings == {"gpu-limits": Rating.Again, "requests-vs-limits": Rating.Good}


def test_self_grades_map_one_to_one_onto_ratings() -> None:
    assert [review.grade_rating(g) for g in ("again", "hard", "good", "easy")] == [
        Rating.Again,
        Rating.Hard,
        Rating.Good,
        Rating.Easy,
    ]
    with pytest.raises(ValueError, match="grade must be one of"):
        review.grade_rating("perfect")


def test_lead_concept_is_the_one_with_most_points_first_on_ties() -> None:
    assert review.lead_concept([("a", 1), ("b", 2), ("a", 1), ("c", 2)]) == "a"
    assert review.lead_concept([("a", 1), ("b", 3)]) == "b"
    assert review.lead_concept([]) is None


def test_success_pushes_the_next_review_further_out_each_time() -> None:
    day, intervals = 0.0, []
    state = None
    for ref in range(5):
        state = review.advance(state, event("gpu-limits", Rating.Good, day, ref))
        interval = (state.due.timestamp() - (START + day * DAY)) / DAY
        intervals.append(interval)
        day += interval
    assert intervals == sorted(intervals) and intervals[0] >= 1
    assert intervals[-1] > 20, intervals
    assert state is not None and state.reviews == 5 and state.lapses == 0


def test_a_lapse_brings_the_concept_back_within_days_and_counts() -> None:
    state = None
    for ref, day in enumerate((0, 3, 12)):
        state = review.advance(state, event("mig", Rating.Good, day, ref))
    assert state is not None
    long_interval = state.due.timestamp() - (START + 12 * DAY)
    lapsed = review.advance(state, event("mig", Rating.Again, 40, 9))
    short_interval = lapsed.due.timestamp() - (START + 40 * DAY)
    assert short_interval < long_interval / 4
    assert DAY <= short_interval <= 3 * DAY
    assert lapsed.lapses == 1 and lapsed.last_rating == int(Rating.Again)


def test_a_concept_failed_today_is_due_tomorrow_not_in_minutes() -> None:
    state = review.advance(None, event("pdb", Rating.Again, 0))
    now = datetime.fromtimestamp(START, UTC)
    assert not review.due_by([state], now + timedelta(hours=12))
    assert review.due_by([state], now + timedelta(days=1, minutes=1)) == [state]


def test_recall_probability_falls_with_time_since_review() -> None:
    state = review.advance(None, event("hpa-behavior", Rating.Good, 0))
    now = datetime.fromtimestamp(START, UTC)
    soon = state.retrievability(now + timedelta(days=1))
    later = state.retrievability(now + timedelta(days=30))
    assert 1 >= soon > later > 0


def test_replay_is_order_independent_and_equals_the_incremental_schedule() -> None:
    events = [
        event("gpu-limits", Rating.Good, 0, 1),
        event("mig", Rating.Again, 0.5, 2),
        event("gpu-limits", Rating.Again, 3, 3),
        event("mig", Rating.Good, 1.6, 4),
        event("gpu-limits", Rating.Good, 5, 5),
    ]
    incremental: dict[str, review.CardState] = {}
    for e in sorted(events, key=review.event_order):
        incremental[e.concept] = review.advance(incremental.get(e.concept), e)
    rebuilt = review.replay(reversed(events))
    assert {c: s.card.to_dict() for c, s in rebuilt.items()} == {
        c: s.card.to_dict() for c, s in incremental.items()
    }


def test_stored_rows_round_trip_and_corrupt_ones_are_refused() -> None:
    state = review.advance(None, event("gpu-limits", Rating.Good, 0))
    row = state.to_row()
    fields = (
        "concept", "card", "reviews", "lapses", "last_rating", "last_source",
        "last_scenario", "last_follow_up",
    )  # fmt: skip
    again = review.CardState.from_row([row[k] for k in fields])
    assert again.card.to_dict() == state.card.to_dict() and again.reviews == 1

    def broken(**changes: object) -> list[object]:
        values = {**row, **changes}
        return [values[k] for k in fields]

    card = json.loads(row["card"])
    for bad in (
        broken(card="{not json"),
        broken(card=json.dumps({**card, "stability": -1})),
        broken(card=json.dumps({**card, "stability": float("nan")})),
        broken(card=json.dumps({**card, "state": 1, "step": 0})),
        broken(card=json.dumps({**card, "card_id": 7})),
        broken(card=json.dumps({**card, "due": "2020-01-01T00:00:00+00:00"})),
        broken(reviews=0),
        broken(lapses=5),
        broken(last_source="keystroke"),
    ):
        with pytest.raises(ValueError):
            review.CardState.from_row(bad)
