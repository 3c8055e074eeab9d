"""The terminal app's "check on cluster" (ctrl+l) against the real control plane."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.conftest import REPO


async def test_ctrl_l_shows_where_the_pods_landed(cluster: Any, tmp_path: Path) -> None:
    from textual.widgets import Static

    from app.tui.app import KprepApp, Start

    workspace = tmp_path / "workspace"
    workspace.mkdir()
    shutil.copy(REPO / "answers/gpu-limits/answer.yaml", workspace / "gpu-limits.yaml")
    app = KprepApp(
        course_dir=REPO,
        workspace_dir=workspace,
        store_path=tmp_path / "p.db",
        start=Start("scenario", "gpu-limits"),
        cursor_blink=False,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(1.0)
        await pilot.press("ctrl+l")
        for _ in range(120):
            await pilot.pause(0.25)
            if type(app.screen).__name__ == "PlacementScreen":
                break
        assert type(app.screen).__name__ == "PlacementScreen"
        text = "\n".join(str(w.render()) for w in app.screen.query(Static))
        assert "score 8/8, all checks pass" in text
        assert "All 2 pod(s) were scheduled." in text
