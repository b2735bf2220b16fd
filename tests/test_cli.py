"""The CLI against the embedded database, in a throwaway data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(*args: str, data_dir: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("DEPIN_DATABASE_URL", "DEPIN_CONFIG")}
    full_env.update({"DEPIN_DATA_DIR": str(data_dir), **(env or {})})
    data_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "indexer.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
        cwd=data_dir,
    )


@pytest.mark.slow
def test_migrate_twice_on_embedded_then_psql(tmp_path: Path) -> None:
    data = tmp_path / "d"
    first = _cli("migrate", data_dir=data)
    assert first.returncode == 0, first.stderr
    assert "applied" in first.stdout and "0001_core" in first.stdout
    second = _cli("migrate", data_dir=data)
    assert second.returncode == 0, second.stderr
    assert "database is up to date" in second.stdout
    psql = _cli("db", "psql", "-At", "-c", "select count(*) from core.schema_migrations", data_dir=data)
    assert psql.returncode == 0, psql.stderr
    assert int(psql.stdout.strip()) >= 1
    status = _cli("db", "status", data_dir=data)
    assert "stopped" in status.stdout, "commands stop the server they started"


def test_db_refuses_when_a_url_is_configured(tmp_path: Path) -> None:
    out = _cli("db", "url", data_dir=tmp_path, env={"DEPIN_DATABASE_URL": "postgresql://u@127.0.0.1:1/x"})
    assert out.returncode == 2
    assert "manages only the embedded server" in out.stderr


def test_unreachable_database_is_a_clear_error_without_password(tmp_path: Path) -> None:
    out = _cli("migrate", data_dir=tmp_path, env={"DEPIN_DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:1/x"})
    assert out.returncode == 1
    assert "cannot connect to postgresql://127.0.0.1:1/…" in out.stderr
    assert "hunter2" not in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(("args", "message"), [(["--workers", "-1"], "--workers"), (["--workers", "0"], "--workers")])
def test_api_refuses_bad_flags_with_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    done = _cli("api", *args, data_dir=tmp_path / "d")
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_api_on_a_database_never_migrated_says_so(tmp_path: Path, empty_db_url: str) -> None:
    done = _cli("api", "--port", "1", data_dir=tmp_path / "d", env={"DEPIN_DATABASE_URL": empty_db_url})
    assert done.returncode == 1, done.stderr
    assert "depin-indexer migrate" in done.stderr and "Traceback" not in done.stderr, done.stderr
