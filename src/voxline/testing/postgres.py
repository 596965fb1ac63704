"""A real PostgreSQL server on loopback, for tests (Debian package `postgresql`).

    with postgres() as pg:
        url = pg.url                     # postgresql+psycopg://voxline@127.0.0.1:PORT/voxline
        pg.stop(); ...; pg.start()       # a database outage, for real

One cluster per use: initdb into a fresh directory (trust auth, loopback only, no Unix
socket outside it), a free port, fsync off (a test's data need not survive a power cut).
PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user, in a
directory of its own under the system's temp dir (a test's tmp_path is closed to other users);
it is removed on exit.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
USER = "voxline"


class PostgresError(RuntimeError):
    pass


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                                                    reverse=True)), None)
    if found is None:
        raise PostgresError(f"{name} not found: install the Debian package postgresql (make debian)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Postgres:
    directory: Path
    port: int
    _as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{USER}@{HOST}:{self.port}/{USER}"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._as_user, *args], check=False, capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            raise PostgresError(f"{args[0]} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -h {HOST} -k {self.directory / 'socket'} -F"
        self._run(_binary("pg_ctl"), "-D", str(self.directory / "data"), "-o", options,
                  "-l", str(self.directory / "server.log"), "-w", "-t", "30", "start")

    def stop(self) -> None:
        self._run(_binary("pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "-w",
                  "stop")

    def log(self) -> str:
        path = self.directory / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def postgres() -> Iterator[Postgres]:
    directory = Path(tempfile.mkdtemp(prefix="voxline-pg-"))
    (directory / "socket").mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        for path in (directory, directory / "socket"):
            os.chown(path, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    server = Postgres(directory, _free_port(), as_user)
    try:
        server._run(_binary("initdb"), "-D", str(directory / "data"), "-U", USER,
                    "--auth=trust", "--no-sync", "-E", "UTF8")
        server.start()
        server._run(_binary("createdb"), "-h", HOST, "-p", str(server.port), "-U", USER, USER)
        yield server
    finally:
        with contextlib.suppress(PostgresError):
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)
