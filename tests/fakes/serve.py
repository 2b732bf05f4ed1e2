"""`looplink serve` (or any server module) as a real child process, for fault tests and benchmarks.

The child runs the code of this checkout (PYTHONPATH), listens on a free loopback port and is
ready when `GET /healthz` answers 200. Its output goes to a log file. Memory is read from
/proc/PID/status (VmRSS, VmHWM); no extra packages needed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import SECRET

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE_ORG = ROOT / "examples" / "org.yaml"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_until_exit(database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`looplink serve` as run in production, expected to refuse to start: its exit and output
    (the scheduler off, a free port; `env` adds or overrides LOOPLINK_* settings)."""
    return subprocess.run(
        [sys.executable, "-m", "looplink.cli", "serve"],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "LOOPLINK_DATABASE_URL": database_url,
            "LOOPLINK_PORT": str(free_port()),
            "LOOPLINK_SCHEDULER": "off",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now), VmHWM (peak resident), RssAnon (heap) and RssFile (mapped files)
    of a process, in KiB."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0])
    return out


@dataclass
class ServeProcess:
    """One server process. `args` is the module and its arguments (default `looplink.cli serve`)."""

    env: dict[str, str]
    log_path: Path
    args: list[str] = field(default_factory=lambda: ["-m", "looplink.cli", "serve"])
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> ServeProcess:
        self.port = self.port or free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "LOOPLINK_HOST": "127.0.0.1",
            "LOOPLINK_PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
            **self.env,
        }
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, *self.args],
            cwd=str(ROOT),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r,
            ):
                if r.status == 200:
                    return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server not ready after {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def memory(self) -> dict[str, int]:
        return memory_kib(self.pid)

    def pause(self) -> None:
        """SIGSTOP: the process is frozen (a stall, a GC pause, an overloaded host)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flushing; what a crash or an OOM kill looks like."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.send_signal(signal.SIGCONT)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> None:
        """Ctrl-C (lets the server finish its answers and close the database), else SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def slack_env(db_url: str, fake: FakeSlack, secret: str = SECRET) -> dict[str, str]:
    """The environment of `looplink serve` with Slack pointed at the fake Web API."""
    return {
        "LOOPLINK_DATABASE_URL": db_url,
        "LOOPLINK_ORG_FILE": str(EXAMPLE_ORG),
        "SLACK_BOT_TOKEN": fake.token,
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": fake.api_url,
        "LOOPLINK_SCHEDULER": "off",
        "LOOPLINK_FLOOD_LIMITS": "off",  # bursts from a few people: load, not a flood
    }
