"""Spaced repetition over concepts, with FSRS (the `fsrs` package, MIT).

Owns the rules that turn what the candidate did into reviews and the reviews
into a schedule; the progress store owns where they are kept.

- A recorded attempt reviews each concept its checks test, once: Good when every
  check of that concept passed, Again when any failed. Checks that were skipped
  (the YAML did not parse) or errored (the check itself could not run) say nothing
  about the candidate and review nothing. Attempts are only recorded on an
  explicit grade, so typing never reviews anything.
- A follow-up self-grade reviews the follow-up's concept with the same grade
  (again/hard/good/easy are FSRS's four ratings, one to one).

The schedule is a pure function of those events in time order, so it can always
be rebuilt from the recorded attempts and self-grades: fuzzing is off (a rebuild
gives the same dates as the incremental updates did) and there are no intra-day
learning steps (a drill is a whole scenario, not a flash card: a lapse comes
back the next day, not in ten minutes). Headless.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fsrs import Card, Rating, Scheduler, State

EventSource = Literal["attempt", "follow-up"]

GRADE_RATINGS: dict[str, Rating] = {
    "again": Rating.Again,
    "hard": Rating.Hard,
    "good": Rating.Good,
    "easy": Rating.Easy,
}
"""Follow-up self-grades are FSRS ratings, one to one."""

RATING_NAMES: dict[int, str] = {int(r): name for name, r in GRADE_RATINGS.items()}

DESIRED_RETENTION = 0.9
"""FSRS's default: schedule each concept for when recall has dropped to 90 %."""


def scheduler() -> Scheduler:
    """The one scheduler kprep uses; see the module docstring for why these settings."""
    return Scheduler(
        desired_retention=DESIRED_RETENTION,
        learning_steps=(),
        relearning_steps=(),
        enable_fuzzing=False,
    )


@dataclass(frozen=True)
class ReviewEvent:
    """One review of one concept."""

    concept: str
    rating: Rating
    at: float
    """Unix time."""
    source: EventSource
    ref: int
    """The attempt id or self-grade id the review comes from."""
    scenario: str
    follow_up: int | None = None
    """The follow-up's index, for follow-up reviews."""


def attempt_ratings(checks: Iterable[tuple[str, str]]) -> dict[str, Rating]:
    """Per concept tested by an attempt's (concept, status) pairs: Good if every check of it
    passed, Again if any failed; concepts whose checks were all skipped or errored are left out."""
    ratings: dict[str, Rating] = {}
    for concept, status in checks:
        if status == "fail":
            ratings[concept] = Rating.Again
        elif status == "pass":
            ratings.setdefault(concept, Rating.Good)
    return ratings


def grade_rating(grade: str) -> Rating:
    try:
        return GRADE_RATINGS[grade]
    except KeyError:
        raise ValueError(
            f"grade must be one of {', '.join(GRADE_RATINGS)}, not {grade!r}"
        ) from None


def lead_concept(checks: Iterable[tuple[str, int]]) -> str | None:
    """The concept a follow-up drills when it names none: the one with the most points among
    the scenario's (concept, points) checks; ties go to the one met first."""
    totals: dict[str, int] = {}
    for concept, points in checks:
        totals[concept] = totals.get(concept, 0) + max(0, points)
    if not totals:
        return None
    best = max(totals.values())
    return next(c for c, total in totals.items() if total == best)


def card_id(concept: str) -> int:
    """A stable card id per concept (fsrs wants an int; the store keys cards by concept)."""
    return zlib.crc32(concept.encode("utf-8"))


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def new_card(concept: str, at: float) -> Card:
    return Card(card_id=card_id(concept), due=_utc(at))


def apply(card: Card, event: ReviewEvent, using: Scheduler | None = None) -> Card:
    """The card after one review."""
    at = _utc(event.at)
    if card.last_review is not None and at < card.last_review:
        # Events are replayed in time order; an out-of-order one (a clock step back) counts
        # as happening at the last review rather than moving time backwards.
        at = card.last_review
    reviewed, _log = (using or scheduler()).review_card(card, event.rating, at)
    return reviewed


def replay(events: Iterable[ReviewEvent]) -> dict[str, CardState]:
    """The schedule from scratch: every concept's card after its events, in time order."""
    using = scheduler()
    states: dict[str, CardState] = {}
    for event in sorted(events, key=event_order):
        states[event.concept] = advance(states.get(event.concept), event, using)
    return states


def event_order(event: ReviewEvent) -> tuple[float, int, int]:
    return (event.at, 0 if event.source == "attempt" else 1, event.ref)


@dataclass(frozen=True)
class CardState:
    """A concept's card plus what the schedule shows about its history."""

    concept: str
    card: Card
    reviews: int
    lapses: int
    """Reviews rated Again."""
    last_rating: int
    last_source: EventSource
    last_scenario: str
    last_follow_up: int | None

    @property
    def due(self) -> datetime:
        return self.card.due

    def retrievability(self, now: datetime) -> float:
        """FSRS's estimate of the probability of recall at `now` (0-1)."""
        return float(scheduler().get_card_retrievability(self.card, now))

    def to_row(self) -> dict[str, Any]:
        return {
            "concept": self.concept,
            "card": self.card.to_json(),
            "reviews": self.reviews,
            "lapses": self.lapses,
            "last_rating": self.last_rating,
            "last_source": self.last_source,
            "last_scenario": self.last_scenario,
            "last_follow_up": self.last_follow_up,
        }

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> CardState:
        """From (concept, card json, reviews, lapses, last_rating, last_source, last_scenario,
        last_follow_up); raises ValueError for anything that is not a sound card."""
        concept, card_json, reviews, lapses, rating, source, scenario, follow_up = row
        try:
            card = Card.from_json(str(card_json))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"card of {concept!r} is unreadable: {exc}") from exc
        _validate(concept, card)
        if source not in ("attempt", "follow-up") or int(rating) not in RATING_NAMES:
            raise ValueError(f"card of {concept!r} has an unknown last review")
        if int(reviews) < 1 or not 0 <= int(lapses) <= int(reviews):
            raise ValueError(f"card of {concept!r} has impossible counts")
        return cls(
            str(concept),
            card,
            int(reviews),
            int(lapses),
            int(rating),
            source,
            str(scenario),
            None if follow_up is None else int(follow_up),
        )


def _validate(concept: str, card: Card) -> None:
    def finite_positive(value: float | None) -> bool:
        return value is not None and math.isfinite(value) and value > 0

    if card.card_id != card_id(concept):
        raise ValueError(f"card of {concept!r} carries another concept's id")
    if card.state != State.Review or card.step is not None:
        # With no learning steps every reviewed card is in the Review state.
        raise ValueError(f"card of {concept!r} is in state {card.state!r}")
    if not finite_positive(card.stability) or not finite_positive(card.difficulty):
        raise ValueError(f"card of {concept!r} has no sound stability or difficulty")
    if card.due.tzinfo is None or card.last_review is None or card.last_review.tzinfo is None:
        raise ValueError(f"card of {concept!r} has dates without a time zone")
    if card.due < card.last_review:
        raise ValueError(f"card of {concept!r} is due before its last review")


def advance(
    state: CardState | None, event: ReviewEvent, using: Scheduler | None = None
) -> CardState:
    """`state` (None for a concept never reviewed) after `event`."""
    card = state.card if state is not None else new_card(event.concept, event.at)
    return CardState(
        event.concept,
        apply(card, event, using),
        (state.reviews if state else 0) + 1,
        (state.lapses if state else 0) + (1 if event.rating == Rating.Again else 0),
        int(event.rating),
        event.source,
        event.scenario,
        event.follow_up,
    )


def end_of_day(now: datetime) -> datetime:
    """The end of `now`'s local calendar day, in UTC: what "due today" means."""
    local = now.astimezone()
    tomorrow = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return tomorrow.astimezone(UTC)


def due_by(states: Iterable[CardState], until: datetime) -> list[CardState]:
    """Cards due at or before `until`, most overdue first."""
    return sorted((s for s in states if s.due <= until), key=lambda s: (s.due, s.concept))
