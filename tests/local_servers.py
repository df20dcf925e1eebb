"""Servers that tests and benchmarks start on 127.0.0.1: a free port, and waiting for Streamlit."""
from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, seconds: float, log: Path | None = None) -> None:
    """Until Streamlit at `url` answers its health check; RuntimeError (with its log) if it exits
    or does not answer within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(_with_log(f"streamlit exited with {proc.returncode}", log))
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(_with_log(f"streamlit did not answer on {url} in {seconds:g} s", log))


def _with_log(message: str, log: Path | None) -> str:
    return f"{message}:\n{log.read_text(errors='replace')}" if log else message
