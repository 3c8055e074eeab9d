"""VisitClock: active time counts, idle time does not, failures go through `record`."""

from __future__ import annotations

from app.progress.store import ProgressStore
from app.progress.visits import VisitClock


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_active_time_is_added_and_idle_time_is_not():
    store = ProgressStore.in_memory()
    clock = FakeClock()
    last_key = [clock.now]

    def record(what, write):
        write(store)
        return True

    visit = VisitClock(record, "gpu-limits", lambda: last_key[0], clock=clock, idle_after=120)
    visit.start()
    clock.now += 15
    last_key[0] = clock.now - 5
    visit.tick()
    assert round(store.scenario_progress("gpu-limits").seconds) == 15
    clock.now += 200  # no key for 200 s: idle
    visit.tick()
    assert round(store.scenario_progress("gpu-limits").seconds) == 15
    visit.resume()
    clock.now += 10
    last_key[0] = clock.now
    visit.tick()
    assert round(store.scenario_progress("gpu-limits").seconds) == 25


def test_a_failed_start_means_no_time_is_written():
    calls: list[str] = []

    def failing(what, write):
        calls.append(what)
        return False

    visit = VisitClock(failing, "gpu-limits", lambda: 0.0, clock=FakeClock())
    visit.start()
    visit.tick()
    assert visit.visit_id is None and calls == ["time"]
