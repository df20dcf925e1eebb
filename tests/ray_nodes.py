"""A local two-node Ray cluster for tests and benchmarks: a head and a second node, one CPU each.

Each node is `ray start --block` in a process group of its own, stopped by that group's PID
(never `ray stop`, which stops every Ray process of the machine by name). The head's port is
free and below Ray's worker port range (10002-19999)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

RAY = str(Path(sys.executable).with_name("ray"))


def _free_port(low: int = 6300, high: int = 9900) -> int:
    for port in range(low, high):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for the Ray head")


def _node(*args: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([RAY, "start", "--block", "--node-ip-address=127.0.0.1", "--num-cpus=1",
                             "--object-store-memory=150000000", "--disable-usage-stats", *args],
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})


def _stop(node: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(node.pid, sig)
        except ProcessLookupError:
            return
        try:
            node.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def ray_cluster() -> Iterator[str]:
    """The head's address (host:port) once both nodes have joined."""
    import ray

    logs = Path(tempfile.mkdtemp(prefix="qa-ray-"))
    port = _free_port()
    address = f"127.0.0.1:{port}"
    nodes = [_node("--head", f"--port={port}", "--include-dashboard=false", log=logs / "head.log")]
    try:
        deadline = time.monotonic() + 90
        while subprocess.run([RAY, "status", f"--address={address}"], capture_output=True).returncode:
            if time.monotonic() > deadline or nodes[0].poll() is not None:
                raise RuntimeError(f"the Ray head did not start: see {logs / 'head.log'}")
            time.sleep(1)
        nodes.append(_node(f"--address={address}", log=logs / "node.log"))
        ray.init(address=address, logging_level="WARNING", log_to_driver=False, configure_logging=False)
        while ray.cluster_resources().get("CPU", 0) < 2:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the second Ray node did not join: see {logs / 'node.log'}")
            time.sleep(0.5)
        yield address
    except BaseException:
        kept = True  # the logs the error points to
        raise
    else:
        kept = False
    finally:
        ray.shutdown()
        for node in reversed(nodes):
            _stop(node)
        if not kept:
            shutil.rmtree(logs, ignore_errors=True)
