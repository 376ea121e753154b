"""A real `popcase serve` in a subprocess on a free port, for tests of what only a running
server shows (several workers, a database that goes away)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.mailbox import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
START_DEADLINE_S = 60


def wait_until(condition: Callable[[], bool], deadline_s: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` once the deadline passes."""
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {deadline_s} s")
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.TransportError:
        return False
    return True


@contextmanager
def serving(database_url: str, log_path: Path, *, workers: int = 1,
            env: dict[str, str] | None = None) -> Iterator[str]:
    """The server's base URL; its standard error (the JSON log) goes to ``log_path``."""
    port = free_port()
    command = [sys.executable, "-c", "from app.cli import main; main()", "serve",
               "--port", str(port), "--workers", str(workers)]
    environment = {**os.environ, "POPCASE_DATABASE_URL": database_url,
                   "PYTHONPATH": str(ROOT), **(env or {})}
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=environment,
                                   stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is not None or answers(f"{base}/health"),
                   START_DEADLINE_S, "the server starting")
        assert process.poll() is None, log_path.read_text()
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
