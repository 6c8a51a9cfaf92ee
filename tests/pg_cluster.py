"""A private PostgreSQL cluster for tests that stop and start the server: initdb into a temp dir, own port.

The server binaries come from /usr/lib/postgresql/*/bin (the newest version). They
refuse to run as root, so as root they run as the `postgres` OS user (`runuser`),
and the cluster's directory belongs to that user. The server listens on 127.0.0.1
only, on a free port, with its socket in the cluster's directory; trust auth.

    with PgCluster.create() as pg:
        url = pg.url          # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
        pg.stop(); pg.start()
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.process_helpers import free_port

BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
                  if p.parent.name.isdigit() else 0)


def server_binaries() -> Path | None:
    """The newest PostgreSQL server's bin directory, or None when no server is installed."""
    for folder in reversed(BINARIES):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def require_server_binaries() -> Path:
    """The server binaries; skip the test when they are absent (fail instead under CI=true)."""
    found = server_binaries()
    if found is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) are absent from /usr/lib/postgresql/*/bin"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; they are required under CI")
        pytest.skip(message + "; skipping the database outage test")
    return found


@dataclass
class PgCluster:
    """A running private cluster; `stop` and `start` it to simulate an outage."""

    bin: Path
    directory: Path
    port: int

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def create(cls, bin_dir: Path) -> PgCluster:
        """initdb a new cluster in a temp dir and start it."""
        directory = Path(tempfile.mkdtemp(prefix="cibot-pg-"))
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(directory, user.pw_uid, user.pw_gid)
        cluster = cls(bin_dir, directory, free_port())
        cluster._run("initdb", "-D", str(cluster.data), "-U", "postgres", "-A", "trust", "--no-sync",
                     "--no-instructions", "-E", "UTF8")
        cluster.start()
        return cluster

    def start(self) -> None:
        """Start the server (waits until it accepts connections)."""
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "server.log"),
                  "-w", "-t", "30", "start")

    def stop(self) -> None:
        """Stop the server at once (`-m fast`: sessions are ended, transactions rolled back)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")

    def destroy(self) -> None:
        """Stop the server if it runs and delete the cluster."""
        subprocess.run(self._as_owner("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop"),
                       capture_output=True, timeout=30)
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.destroy()

    def _as_owner(self, program: str, *args: str) -> list[str]:
        command = [str(self.bin / program), *args]
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(self._as_owner(program, *args), capture_output=True, text=True, timeout=60,
                              cwd=self.directory)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
