"""The progress file's connection: opening it (WAL, the integrity check, what counts as
corruption) and the transactions every part of the store reads and writes through.

Only real corruption (SQLite's SQLITE_CORRUPT / SQLITE_NOTADB, or a failed
`quick_check`) is reported by `is_corruption`; the store moves such a file aside
(`move_aside`) and starts a fresh one. Locked past the timeout, read-only or an I/O
error is not corruption: the file may be healthy.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.progress.records import OpenResult, ProgressError
from app.progress.schema import migrate


class CorruptError(sqlite3.DatabaseError):
    """`PRAGMA quick_check` found damage."""


_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_LOCK_TIMEOUT_SECONDS = 15.0
"""How long an open waits for another process's write (a migration, an attempt)."""


def is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """True only for damage: a file that is not a database or whose pages are broken."""
    if isinstance(exc, CorruptError):
        return True
    # The primary result code is the low byte of an extended one (SQLITE_CORRUPT_INDEX...).
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


def _connect(target: str | Path) -> sqlite3.Connection:
    # The timeout is SQLite's busy handler: a second opener waits for a migration or a
    # write in flight instead of failing with "database is locked".
    connection = sqlite3.connect(str(target), timeout=_LOCK_TIMEOUT_SECONDS)
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def open_checked(path: Path) -> sqlite3.Connection:
    connection = _connect(path)
    try:
        _set_wal(connection)
        connection.execute("PRAGMA synchronous = NORMAL")
        verdict = connection.execute("PRAGMA quick_check").fetchone()
        if not verdict or verdict[0] != "ok":
            found = verdict[0] if verdict else "no answer"
            raise CorruptError(f"integrity check failed: {found}")
        migrate(connection)
        return connection
    except BaseException:
        connection.close()
        raise


def _set_wal(connection: sqlite3.Connection) -> None:
    """Switch to WAL, waiting out a concurrent opener that holds the lock to do the same.

    Changing the journal mode needs an exclusive lock and SQLite reports a busy
    database at once for it, without calling the busy handler, so retry (bounded).
    """
    deadline = time.monotonic() + _LOCK_TIMEOUT_SECONDS
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", 0) & 0xFF in (5, 6)  # BUSY, LOCKED
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def memory() -> sqlite3.Connection:
    """A fresh in-memory database with the current schema (the fallback store)."""
    connection = _connect(":memory:")
    migrate(connection)
    return connection


def move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        # Another process may have moved it already (both found the same damage).
        with contextlib.suppress(FileNotFoundError):
            os.replace(source, target.with_name(target.name + suffix))
    return target


class StoreBase:
    """The open connection and its transactions, shared by every part of `ProgressStore`.

    Every write is one transaction in WAL mode, so killing kprep at any moment loses at
    most the write in flight; a failed read or write raises ProgressError saying why.
    """

    def __init__(
        self, connection: sqlite3.Connection, path: Path | None, opened: OpenResult | None = None
    ) -> None:
        self._db = connection
        self.path = path
        """The database file; None for an in-memory store."""
        self.opened = opened or OpenResult()
        """What happened at open time (corruption moved aside, read-only fallback...)."""

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._db:
                yield self._db
        except sqlite3.Error as exc:
            raise ProgressError(f"could not save progress: {exc}") from exc

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        try:
            return list(self._db.execute(sql, params))
        except sqlite3.Error as exc:
            raise ProgressError(f"could not read progress: {exc}") from exc

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        """A read-modify-write transaction that takes the write lock first, so two processes
        syncing the schedule at once take turns instead of applying the same events twice."""
        db = self._db
        if db.in_transaction:
            db.commit()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.rollback()
            raise
        db.commit()
