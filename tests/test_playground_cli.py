"""`looplink demo`: from one command to a playground in the browser (here: over HTTP)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from looplink.cli import main
from tests.web_support import ROOT

# Bounds, not targets: generous because the whole suite may share the machine with other work.
STARTUP, STOP = 90, 30


async def test_demo_prints_the_url_and_serves_the_playground(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # the real scheduler runs too
    env.pop("LOOPLINK_DATABASE_URL", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "looplink.cli",
        "demo",
        "--port",
        "0",
        "--database",
        f"sqlite:///{tmp_path / 'demo.db'}",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output: list[str] = []
    try:
        async with asyncio.timeout(STARTUP):
            while True:
                line = (await proc.stdout.readline()).decode()
                assert line, "demo exited early:\n" + "".join(output)
                output.append(line)
                m = re.search(r"Playground:\s+(http://127\.0\.0\.1:\d+/)", line)
                if m:
                    url = m.group(1)
                    break
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as resp:
                assert resp.status == 200
                assert "Pick who you are" in await resp.text()
            async with http.get(url + "dashboard") as resp:
                assert resp.status == 200  # demo mode: no sign-in
            async with http.get(url + "static/playground.js") as resp:
                assert resp.status == 200
            # Ctrl-C with a browser still listening for live updates: stops at once
            async with http.get(url + "play/events?as=carol") as stream:
                assert (await stream.content.readline()).startswith(b"retry:")
                proc.send_signal(signal.SIGINT)
                async with asyncio.timeout(STOP):
                    await proc.wait()
    except TimeoutError as e:  # say what the demo printed, not just that time ran out
        raise AssertionError("the demo was too slow:\n" + "".join(output)) from e
    finally:
        if proc.returncode is None:  # something above failed, or Ctrl-C did not stop it
            proc.kill()
            await proc.wait()
    text = "".join(output) + (await proc.stdout.read()).decode()
    assert "Dashboard:   " + url + "dashboard" in text
    assert "Traceback" not in text and "Warning" not in text, text
    assert proc.returncode in (0, 130), f"the demo did not stop on Ctrl-C ({proc.returncode})"


def test_demo_explains_a_busy_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(
            ["demo", "--port", str(port), "--database", f"sqlite:///{tmp_path / 'demo.db'}"]
        )
    assert code == 1
    assert "Is another Looplink running?" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.org"])
def test_demo_listens_on_this_machine_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], host: str
) -> None:
    db = tmp_path / "demo.db"
    code = main(["demo", "--host", host, "--port", "0", "--database", f"sqlite:///{db}"])
    assert code == 2
    err = capsys.readouterr().err
    assert "only listens on this machine" in err and host in err
    assert not db.exists()  # refused before anything was created
