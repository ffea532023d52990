"""Throwaway PostgreSQL databases for tests: created, migrated, and dropped afterwards."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg

from herald.config import Settings
from herald.migrate import upgrade

ADMIN_DSN = os.environ.get("HERALD_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def asyncpg_url(dsn: str, database: str) -> str:
    """The SQLAlchemy URL of ``database`` on the server of ``dsn``."""
    base = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def throwaway_database(prefix: str = "herald_test") -> AsyncIterator[str]:
    """A fresh database migrated to head; yields its SQLAlchemy URL and drops it at the end."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = asyncpg_url(ADMIN_DSN, name)
    try:
        await upgrade(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
        yield url
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivatePostgres:
    """A PostgreSQL server of one test's own (initdb + pg_ctl as the ``postgres`` user, on a
    free port), which the test may stop, restart and start again; never the shared server.

    Its data directory is made with ``--no-sync`` and runs with ``fsync=off``: a test server
    need not survive a power cut, and syncing would cost seconds on a shared machine.
    """

    def __init__(self) -> None:
        self.port = _free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="herald-pg-"))
        self.data = self.directory / "data"
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/herald"

    def _as_postgres(self, *argv: str) -> None:
        command = ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        """Create the cluster (a database ``herald`` in it comes with ``create_database``)."""
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._as_postgres(
            _tool("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off"
            " -c full_page_writes=off -c synchronous_commit=off"
        )
        self._as_postgres(
            _tool("pg_ctl"), "-D", str(self.data), "-o", options, "-l",
            str(self.directory / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: connections are cut, as in a restart)."""
        self._as_postgres(_tool("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Stop fast and start again."""
        self.stop()
        self.start()

    def running(self) -> bool:
        """Whether the server's postmaster is up."""
        return (self.data / "postmaster.pid").exists()

    async def create_database(self) -> str:
        """Create and migrate the database ``herald``; its SQLAlchemy URL."""
        connection = await asyncpg.connect(self.dsn)
        try:
            await connection.execute("CREATE DATABASE herald")
        finally:
            await connection.close()
        await upgrade(Settings(_env_file=None, database_url=self.url))  # type: ignore[call-arg]
        return self.url

    def remove(self) -> None:
        """Stop the server if it runs and delete its files."""
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is not None:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not versions:
        raise FileNotFoundError(f"{name} (PostgreSQL's server tools) is not installed")
    return str(versions[-1])


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private server, removed at the end."""
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()
