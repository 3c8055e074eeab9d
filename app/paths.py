"""Where kprep finds its course and keeps the candidate's files.

The course (lessons, scenarios, answers, profiles) is found, in order: the
`--course` option, the `KPREP_COURSE` environment variable, the checkout this
package runs from, and the copy bundled into the wheel. User state lives in the
platform's data folder (`KPREP_HOME` overrides it, which the tests use).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

COURSE_ENV = "KPREP_COURSE"
HOME_ENV = "KPREP_HOME"
_PACKAGE_DIR = Path(__file__).resolve().parent


def default_course_dir() -> Path:
    """The course folder used when none is given."""
    from_env = os.environ.get(COURSE_ENV)
    if from_env:
        return Path(from_env).expanduser()
    checkout = _PACKAGE_DIR.parent
    if (checkout / "scenarios").is_dir() and (checkout / "pyproject.toml").is_file():
        return checkout
    return _PACKAGE_DIR / "_course"


def data_dir() -> Path:
    """The user data folder: progress database, workspace, cluster state."""
    from_env = os.environ.get(HOME_ENV)
    if from_env:
        return Path(from_env).expanduser() / "data"
    from platformdirs import user_data_path  # deferred: start-up cost

    return user_data_path("kprep", appauthor=False)


def config_dir() -> Path:
    """The user config folder (key bindings)."""
    from_env = os.environ.get(HOME_ENV)
    if from_env:
        return Path(from_env).expanduser() / "config"
    from platformdirs import user_config_path  # deferred: start-up cost

    return user_config_path("kprep", appauthor=False)


def cache_dir() -> Path:
    """The user cache folder (schemas cut down for speed, locally built Kubernetes binaries)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "kprep"
    if sys.platform.startswith("linux"):
        # What platformdirs answers on Linux, without its import on `kprep check`'s path.
        return Path.home() / ".cache" / "kprep"
    from platformdirs import user_cache_path  # deferred: start-up cost

    return user_cache_path("kprep", appauthor=False)
