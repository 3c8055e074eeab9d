"""Key bindings: ids everywhere, config.toml parsing, docs/keybindings.md in sync."""

from __future__ import annotations

import pytest

from app.settings import load_settings
from app.tui.keys import binding_sections, keymap_markdown
from tests.conftest import REPO

pytestmark = pytest.mark.tui


def test_every_binding_has_a_unique_id_and_a_description():
    seen: set[str] = set()
    for _title, bindings in binding_sections():
        for binding in bindings:
            assert binding.id, binding
            assert binding.id not in seen, binding.id
            assert binding.description and (binding.tooltip or binding.description)
            seen.add(binding.id)


def test_docs_keybindings_is_generated_from_the_bindings():
    docs = (REPO / "docs" / "keybindings.md").read_text(encoding="utf-8")
    assert docs == keymap_markdown(), "run: python -m app.tui.keys > docs/keybindings.md"


def test_settings_read_keymap_theme_and_editor(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        '[keymap]\nscenario.grade = "f7"\nquit = ["ctrl+q", "f10"]\n'
        '"home.next" = "N"\n[ui]\ntheme = "nord"\neditor = "nano -w"\n'
    )
    settings = load_settings(path)
    assert settings.problems == []
    assert settings.keymap == {"scenario.grade": "f7", "quit": "ctrl+q,f10", "home.next": "N"}
    assert settings.theme == "nord" and settings.editor_command() == ["nano", "-w"]


def test_settings_problems_are_collected_not_raised(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[keymap\nbroken")
    assert "using the default settings" in load_settings(path).problems[0]
    path.write_text("[keymap]\nhelp = 3\n[colors]\nx = 1\n")
    problems = load_settings(path).problems
    assert any("keymap.help" in p for p in problems)
    assert any("colors" in p for p in problems)
    assert load_settings(tmp_path / "missing.toml").problems == []


def test_editor_defaults_to_visual_then_editor(monkeypatch):
    from app.settings import Settings

    monkeypatch.setenv("VISUAL", "code --wait")
    assert Settings().editor_command() == ["code", "--wait"]
    monkeypatch.delenv("VISUAL")
    monkeypatch.setenv("EDITOR", "vim")
    assert Settings().editor_command() == ["vim"]
