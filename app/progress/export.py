"""`kprep progress --format json|html`: the whole record in one document.

The JSON is the summary's (tracks, scenarios) plus per-concept check results,
interviews, the review schedule, what is due today and per-concept mastery
(FSRS's recall probability now). The HTML is one self-contained page built from
that JSON, with inline SVG charts (scores over time, mastery by track), no
scripts and no outside resources, so a candidate can keep or share the file.
Headless.
"""

from __future__ import annotations

import html
import statistics
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from app.progress.queue import review_queue
from app.progress.review import RATING_NAMES, end_of_day
from app.progress.store import ProgressStore
from app.progress.summary import Summary, format_seconds


def progress_report(
    summary: Summary,
    store: ProgressStore,
    follow_ups: Mapping[str, tuple[str, ...]],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything `kprep progress --format json` prints. `follow_ups` maps each scenario of
    the course to its follow-up questions (to name the drills of due concepts)."""
    now = now or datetime.now(UTC)
    data = summary.to_json()
    data["generated"] = now.isoformat()
    data["concepts"] = {
        name: {"passed": passed, "graded": graded}
        for name, (passed, graded) in store.concept_results().items()
    }
    schedule = store.schedule()
    tracks_of = _concept_tracks(summary, store.concept_scenarios())
    data["review_schedule"] = [
        {
            "concept": s.concept,
            "due": s.due.isoformat(),
            "last_review": s.card.last_review.isoformat() if s.card.last_review else None,
            "stability_days": round(s.card.stability or 0.0, 2),
            "difficulty": round(s.card.difficulty or 0.0, 2),
            "reviews": s.reviews,
            "lapses": s.lapses,
            "last_grade": RATING_NAMES.get(s.last_rating),
            "last_source": s.last_source,
        }
        for s in sorted(schedule.values(), key=lambda s: (s.due, s.concept))
    ]
    due = sorted(
        (s for s in schedule.values() if s.due <= end_of_day(now)),
        key=lambda s: (s.due, s.concept),
    )
    data["due_today"] = [
        item.to_json()
        for item in review_queue(due, now, set(follow_ups), store.concept_scenarios(), follow_ups)
    ]
    checks = data["concepts"]
    data["mastery"] = {
        concept: {
            "recall": round(s.retrievability(now), 3),
            "reviews": s.reviews,
            "lapses": s.lapses,
            "checks_passed": checks.get(concept, {}).get("passed"),
            "checks_graded": checks.get(concept, {}).get("graded"),
            "tracks": sorted(tracks_of.get(concept, ())),
        }
        for concept, s in sorted(schedule.items())
    }
    by_track: dict[str, list[float]] = {}
    for concept, item in data["mastery"].items():
        for track in tracks_of.get(concept, ()):
            by_track.setdefault(track, []).append(item["recall"])
    data["mastery_by_track"] = {
        t.track: {
            "title": t.title,
            "concepts_reviewed": len(by_track.get(t.track, [])),
            "mean_recall": round(statistics.fmean(by_track[t.track]), 3)
            if by_track.get(t.track)
            else None,
        }
        for t in summary.tracks
    }
    data["interviews"] = store.interviews()
    data["history"] = [
        {"at": at, "scenario": scenario, "score": score, "max_score": top, "mode": mode}
        for at, scenario, score, top, mode in store.attempt_history()
    ]
    return data


def _concept_tracks(
    summary: Summary, concept_scenarios: Mapping[str, set[str]]
) -> dict[str, set[str]]:
    track_of = {row.scenario.id: row.scenario.track for row in summary.rows}
    return {
        concept: {track_of[s] for s in scenarios if s in track_of}
        for concept, scenarios in concept_scenarios.items()
    }


# -- HTML ---------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;
color:#1f2328;padding:0 1rem}h1{margin-bottom:.2rem}.sub{color:#59636e;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%}th,td{text-align:left;
padding:.25rem .6rem;border-bottom:1px solid #d1d9e0}th{background:#f6f8fa}
td.num,th.num{text-align:right}svg{display:block;margin:.5rem 0 1.5rem;max-width:100%}
.axis{stroke:#8c959f;stroke-width:1}.grid{stroke:#eaeef2}.lbl{font-size:11px;fill:#59636e}
.tick{font-size:10px;fill:#59636e}.bar{fill:#1f6feb}.ghost{fill:#eaeef2}
.pt{fill:#1f6feb;fill-opacity:.55}.iv{fill:#bf3989}.line{fill:none;stroke:#1f6feb;stroke-width:2}
.empty{color:#59636e;font-style:italic}
"""


def render_html(data: Mapping[str, Any]) -> str:
    """One self-contained page from `progress_report`'s data."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>kprep progress</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>kprep progress</h1>",
        f'<p class="sub">Generated {e(_day(data.get("generated")))}</p>',
    ]
    tracks = data.get("tracks", [])
    solved = sum(t["solved"] for t in tracks)
    total = sum(t["scenarios"] for t in tracks)
    parts.append(
        f"<p>{solved} of {total} scenarios solved · {len(data.get('history', []))} attempts · "
        f"{len(data.get('interviews', []))} mock interviews · "
        f"{len(data.get('due_today', []))} concepts due today</p>"
    )
    parts.append("<h2>Scores over time</h2>")
    parts.append(_scores_chart(data.get("history", []), data.get("interviews", [])))
    parts.append("<h2>Mastery by track</h2>")
    parts.append(_mastery_chart(data.get("mastery_by_track", {})))
    parts.append("<h2>Tracks</h2>")
    parts.append(
        _table(
            ["track", "solved", "tried", "points"],
            [
                [
                    t["title"],
                    f"{t['solved']}/{t['scenarios']}",
                    t["attempted"],
                    f"{t['best_points']}/{t['max_points']}",
                ]
                for t in tracks
            ],  # fmt: skip
            numeric={1, 2, 3},
        )
    )
    parts.append("<h2>Mock interviews</h2>")
    parts.append(
        _table(
            ["started", "track", "minutes", "questions", "score", "status"],
            [
                [
                    _day(i["started"]),
                    i["track"] or "all",
                    i["minutes"],
                    len(i["questions"]),
                    f"{i['score']}/{i['max_score']}",
                    "finished" if i["finished"] is not None else "not finished",
                ]
                for i in data.get("interviews", [])
            ],  # fmt: skip
            numeric={2, 3, 4},
            empty="No mock interview yet: kprep interview",
        )
    )
    parts.append("<h2>Due today</h2>")
    parts.append(
        _table(
            ["concept", "recall", "drill"],
            [
                [
                    d["concept"],
                    f"{round(100 * d['recall'])}%",
                    f"follow-up {d['follow_up'] + 1} of {d['scenario']}"
                    if d["drill"] == "follow-up"
                    else f"scenario {d['scenario']}",
                ]
                for d in data.get("due_today", [])
            ],  # fmt: skip
            numeric={1},
            empty="Nothing due today.",
        )
    )
    parts.append("<h2>Concepts</h2>")
    parts.append(
        _table(
            ["concept", "recall now", "reviews", "lapses", "checks passed", "next review"],
            [
                [
                    concept,
                    f"{round(100 * m['recall'])}%",
                    m["reviews"],
                    m["lapses"],
                    f"{m['checks_passed']}/{m['checks_graded']}"
                    if m["checks_graded"] is not None
                    else "",
                    _day(_due_of(data, concept)),
                ]
                for concept, m in data.get("mastery", {}).items()
            ],  # fmt: skip
            numeric={1, 2, 3, 4},
            empty="No concept reviewed yet.",
        )
    )
    seconds = sum(s.get("seconds", 0) for s in data.get("scenarios", []))
    parts.append(f'<p class="sub">Time practised: {e(format_seconds(seconds))}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _due_of(data: Mapping[str, Any], concept: str) -> str | None:
    return next(
        (s["due"] for s in data.get("review_schedule", []) if s["concept"] == concept), None
    )


def _day(value: Any) -> str:
    if value is None:
        return ""
    moment = (
        datetime.fromtimestamp(value, UTC)
        if isinstance(value, int | float)
        else datetime.fromisoformat(str(value))
    )
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    numeric: set[int] | None = None,
    empty: str = "Nothing yet.",
) -> str:
    if not rows:
        return f'<p class="empty">{html.escape(empty)}</p>'
    numeric = numeric or set()

    def cell(tag: str, index: int, value: Any) -> str:
        css = ' class="num"' if index in numeric else ""
        return f"<{tag}{css}>{html.escape(str(value))}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _scores_chart(history: Sequence[Mapping[str, Any]], interviews: Sequence[Any]) -> str:
    """Each attempt as a dot (score as % of its maximum), the daily mean as a line, each
    finished interview as a diamond."""
    width, height, left, right, top, bottom = 720, 240, 44, 16, 12, 30
    points = [
        (float(h["at"]), 100 * h["score"] / h["max_score"]) for h in history if h["max_score"]
    ]
    marks = [
        (float(i["started"]), 100 * i["score"] / i["max_score"])
        for i in interviews
        if i["max_score"] and i["questions"]
    ]
    if not points and not marks:
        return '<p class="empty">No attempts yet.</p>'
    times = [t for t, _ in points + marks]
    start, end = min(times), max(times)
    span = max(end - start, 86400.0)

    def x(at: float) -> float:
        return left + (at - start) / span * (width - left - right)

    def y(percent: float) -> float:
        return top + (100 - percent) / 100 * (height - top - bottom)

    out = [
        f'<svg id="scores-chart" role="img" aria-label="Scores over time" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for percent in (0, 25, 50, 75, 100):
        out.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(percent):.1f}" '
            f'y2="{y(percent):.1f}"/><text class="tick" x="{left - 6}" y="{y(percent) + 3:.1f}" '
            f'text-anchor="end">{percent}%</text>'
        )
    out.append(
        f'<line class="axis" x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}"/>'
    )
    for at, label in ((start, _day(start)[:10]), (start + span, _day(start + span)[:10])):
        anchor = "start" if at == start else "end"
        out.append(
            f'<text class="tick" x="{x(at):.1f}" y="{height - 10}" '
            f'text-anchor="{anchor}">{html.escape(label)}</text>'
        )
    days: dict[str, list[float]] = {}
    for at, percent in points:
        days.setdefault(_day(at)[:10], []).append(percent)
    daily = sorted(
        (min(at for at, _ in points if _day(at)[:10] == day), statistics.fmean(v))
        for day, v in days.items()
    )
    if len(daily) > 1:
        path = " ".join(f"{x(at):.1f},{y(p):.1f}" for at, p in daily)
        out.append(f'<polyline class="line" points="{path}"/>')
    for at, percent in points:
        out.append(f'<circle class="pt" cx="{x(at):.1f}" cy="{y(percent):.1f}" r="3.5"/>')
    for at, percent in marks:
        cx, cy = x(at), y(percent)
        out.append(
            f'<polygon class="iv" points="{cx:.1f},{cy - 6:.1f} {cx + 6:.1f},{cy:.1f} '
            f'{cx:.1f},{cy + 6:.1f} {cx - 6:.1f},{cy:.1f}"><title>interview '
            f"{percent:.0f}%</title></polygon>"
        )
    out.append(
        f'<text class="lbl" x="{(left + width - right) / 2:.0f}" y="{height - 10}" '
        'text-anchor="middle">● attempt   ◆ mock interview   — daily mean</text></svg>'
    )
    return "".join(out)


def _mastery_chart(by_track: Mapping[str, Mapping[str, Any]]) -> str:
    """Per track, the mean recall probability of the concepts reviewed in it."""
    rows = list(by_track.items())
    if not rows:
        return '<p class="empty">No tracks.</p>'
    width, row_height, label_width, right = 720, 28, 220, 140
    height = row_height * len(rows) + 8
    bar_width = width - label_width - right
    out = [
        f'<svg id="mastery-chart" role="img" aria-label="Mastery by track" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for index, (track, item) in enumerate(rows):
        top = 4 + index * row_height
        recall = item.get("mean_recall")
        out.append(
            f'<text class="lbl" x="{label_width - 8}" y="{top + 17}" text-anchor="end">'
            f"{html.escape(str(item.get('title') or track))}</text>"
            f'<rect class="ghost" x="{label_width}" y="{top + 4}" width="{bar_width}" height="18"/>'
        )
        if recall is not None:
            out.append(
                f'<rect class="bar" data-track="{html.escape(track)}" x="{label_width}" '
                f'y="{top + 4}" width="{bar_width * recall:.1f}" height="18"/>'
            )
        note = (
            f"{round(100 * recall)}% · {item['concepts_reviewed']} concepts"
            if recall is not None
            else "not reviewed yet"
        )
        out.append(
            f'<text class="tick" x="{label_width + bar_width + 6}" y="{top + 17}">'
            f"{html.escape(note)}</text>"
        )
    out.append("</svg>")
    return "".join(out)
