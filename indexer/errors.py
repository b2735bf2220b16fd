"""Named errors: each carries the context a user needs, and the CLI maps them to exit codes."""

from __future__ import annotations


class DepinError(Exception):
    """Base of every error this program raises on purpose. Exit code 1 unless stated."""

    exit_code = 1


class ConfigError(DepinError):
    """The config file or environment is wrong; the message names each key and problem."""

    exit_code = 2

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{source}: {len(problems)} {noun}:\n{lines}")


class UsageError(DepinError):
    """A command was called in a way that cannot work (exit code 2)."""

    exit_code = 2


class DatabaseError(DepinError):
    """Postgres could not be reached or refused an operation."""


class MigrationError(DatabaseError):
    """Migrations on disk and in the database disagree (an applied file was edited...)."""


class CursorConflict(DatabaseError):
    """A write would move a cursor backwards: another writer got there first."""


class Interrupted(DepinError):
    """A signal asked the command to stop; every committed batch is kept (exit code 130)."""

    exit_code = 130
