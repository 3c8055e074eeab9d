"""The progress database's schema: the migrations and the one transaction that applies them.

The schema version is `PRAGMA user_version`; `MIGRATIONS[n]` upgrades version n to
n+1. Several processes may open the same file at once (the terminal app, a `kprep
check` batch, a second terminal): schema creation and every pending migration run in
ONE `BEGIN IMMEDIATE` transaction that re-reads `user_version` after taking the write
lock, so exactly one process migrates and the others see the finished schema. Adding
a migration: append one SQL script to `MIGRATIONS` (statements separated by `;`, no
`;` inside string literals); never edit a published one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1
    """
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        scenario TEXT NOT NULL,
        at REAL NOT NULL,
        mode TEXT NOT NULL,
        score INTEGER NOT NULL,
        max_score INTEGER NOT NULL,
        passed INTEGER NOT NULL,
        error_count INTEGER NOT NULL,
        hints_used INTEGER NOT NULL
    );
    CREATE INDEX attempts_by_scenario ON attempts (scenario, at);
    CREATE TABLE check_results (
        attempt_id INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
        check_id TEXT NOT NULL,
        concept TEXT NOT NULL,
        status TEXT NOT NULL,
        points INTEGER NOT NULL,
        max_points INTEGER NOT NULL,
        PRIMARY KEY (attempt_id, check_id)
    );
    CREATE TABLE hints (
        scenario TEXT NOT NULL,
        hint_index INTEGER NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (scenario, hint_index)
    );
    CREATE TABLE reveals (
        scenario TEXT PRIMARY KEY,
        at REAL NOT NULL,
        before_pass INTEGER NOT NULL
    );
    CREATE TABLE self_grades (
        id INTEGER PRIMARY KEY,
        scenario TEXT NOT NULL,
        question_index INTEGER NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        grade TEXT NOT NULL CHECK (grade IN ('again', 'hard', 'good', 'easy')),
        at REAL NOT NULL
    );
    CREATE TABLE visits (
        id INTEGER PRIMARY KEY,
        scenario TEXT NOT NULL,
        started REAL NOT NULL,
        last_seen REAL NOT NULL,
        active_seconds REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX visits_by_scenario ON visits (scenario, last_seen);
    """,
    # 1 -> 2: mock interviews, the review schedule (a cache of review.replay over attempts
    # and self-grades, so it can always be rebuilt), coverage of follow-up answers.
    """
    CREATE TABLE interviews (
        id INTEGER PRIMARY KEY,
        started REAL NOT NULL,
        finished REAL,
        minutes INTEGER NOT NULL,
        track TEXT,
        seed INTEGER NOT NULL,
        scenarios TEXT NOT NULL
    );
    CREATE TABLE interview_questions (
        interview_id INTEGER NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        scenario TEXT NOT NULL,
        attempt_id INTEGER REFERENCES attempts (id) ON DELETE SET NULL,
        seconds_allowed REAL NOT NULL,
        seconds_used REAL NOT NULL,
        auto_submitted INTEGER NOT NULL,
        PRIMARY KEY (interview_id, position)
    );
    CREATE TABLE interview_answers (
        interview_id INTEGER NOT NULL REFERENCES interviews (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        follow_up INTEGER NOT NULL,
        answer TEXT NOT NULL,
        seconds_used REAL NOT NULL,
        auto_submitted INTEGER NOT NULL,
        PRIMARY KEY (interview_id, position, follow_up)
    );
    ALTER TABLE self_grades ADD COLUMN concept TEXT;
    ALTER TABLE self_grades ADD COLUMN interview_id INTEGER
        REFERENCES interviews (id) ON DELETE SET NULL;
    CREATE TABLE review_cards (
        concept TEXT PRIMARY KEY,
        card TEXT NOT NULL,
        reviews INTEGER NOT NULL,
        lapses INTEGER NOT NULL,
        last_rating INTEGER NOT NULL,
        last_source TEXT NOT NULL,
        last_scenario TEXT NOT NULL,
        last_follow_up INTEGER
    );
    CREATE TABLE review_marks (
        source TEXT PRIMARY KEY,
        last_id INTEGER NOT NULL
    );
    CREATE TABLE coverage_results (
        self_grade_id INTEGER PRIMARY KEY REFERENCES self_grades (id) ON DELETE CASCADE,
        scorer TEXT NOT NULL,
        threshold REAL NOT NULL,
        scores TEXT NOT NULL,
        suggested TEXT NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
"""The `PRAGMA user_version` this code writes."""

CARD_COLUMNS = (
    "concept, card, reviews, lapses, last_rating, last_source, last_scenario, last_follow_up"
)
SCHEDULE_TABLES = """
    CREATE TABLE IF NOT EXISTS review_cards (
        concept TEXT PRIMARY KEY,
        card TEXT NOT NULL,
        reviews INTEGER NOT NULL,
        lapses INTEGER NOT NULL,
        last_rating INTEGER NOT NULL,
        last_source TEXT NOT NULL,
        last_scenario TEXT NOT NULL,
        last_follow_up INTEGER
    );
    CREATE TABLE IF NOT EXISTS review_marks (source TEXT PRIMARY KEY, last_id INTEGER NOT NULL)
"""


class NewerSchemaError(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(f"schema version {version}")
        self.version = version


def migrate(connection: sqlite3.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION; raises NewerSchemaError for a newer file.

    One transaction for every pending step (DDL included, so a kill mid-migration
    leaves the previous version intact). `user_version` is read again after
    BEGIN IMMEDIATE holds the write lock: a process that lost the race finds the
    schema already there and does nothing. executescript would commit on its own,
    so statements run one by one.
    """
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(version)
    if version == SCHEMA_VERSION:
        return
    if connection.in_transaction:
        connection.commit()
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise NewerSchemaError(version)
        for step in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[step].split(";"):
                if statement.strip():
                    connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
