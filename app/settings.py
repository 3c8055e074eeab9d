"""The candidate's settings: `config_dir()/config.toml`.

```toml
[keymap]            # binding id -> keys (comma-separated alternatives)
scenario.grade = "ctrl+r,f5"    # a dotted key: the id is "scenario.grade"
scenario.hint = "f2"

[ui]
theme = "nord"      # any Textual theme name
editor = "nvim"     # for ctrl+e; default $VISUAL, then $EDITOR, then vi
```

Binding ids are listed in docs/keybindings.md and on the app's help screen.
A missing file means defaults; a broken one is reported, never fatal. Headless:
the terminal app validates binding ids against its own bindings.
"""

from __future__ import annotations

import os
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from app.paths import config_dir


@dataclass
class Settings:
    """Everything config.toml can set."""

    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id -> key string such as "ctrl+r,f5", overriding the defaults."""
    theme: str | None = None
    """A Textual theme name; None keeps Textual's default."""
    editor: str | None = None
    """Command for ctrl+e (split like a shell would); None means $VISUAL, $EDITOR, vi."""
    path: Path | None = None
    """The file these settings came from, if any."""
    problems: list[str] = field(default_factory=list)
    """What was wrong with the file, for the app to show."""

    def editor_command(self) -> list[str]:
        command = self.editor or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        try:
            return shlex.split(command) or ["vi"]
        except ValueError:
            return [command]


def config_path() -> Path:
    return config_dir() / "config.toml"


def load_settings(path: Path | None = None) -> Settings:
    """Read config.toml; a missing file gives defaults, problems are collected, not raised."""
    path = path or config_path()
    settings = Settings(path=path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return settings
    except OSError as exc:
        settings.problems.append(f"{path}: cannot read: {exc.strerror or exc}")
        return settings
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        settings.problems.append(f"{path}: {exc}; using the default settings")
        return settings
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict):
        settings.problems.append(f'{path}: [keymap] must be a table of binding id = "keys"')
        keymap = {}
    for binding_id, keys in _flatten(keymap).items():
        if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            keys = ",".join(keys)
        if not isinstance(keys, str) or not keys.strip():
            settings.problems.append(
                f"{path}: keymap.{binding_id}: expected a key string "
                'such as "ctrl+r" or "f5,ctrl+r"'
            )
            continue
        settings.keymap[str(binding_id)] = ",".join(k.strip() for k in keys.split(","))
    ui = data.get("ui", {})
    if isinstance(ui, dict):
        theme, editor = ui.get("theme"), ui.get("editor")
        settings.theme = theme if isinstance(theme, str) and theme else None
        settings.editor = editor if isinstance(editor, str) and editor else None
    else:
        settings.problems.append(f"{path}: [ui] must be a table")
    unknown = sorted(set(data) - {"keymap", "ui"})
    if unknown:
        settings.problems.append(f"{path}: unknown section(s) {', '.join(unknown)} ignored")
    return settings


def _flatten(table: dict[str, object], prefix: str = "") -> dict[str, object]:
    """`scenario.grade = ...` is a nested table in TOML; binding ids are dotted strings."""
    flat: dict[str, object] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
