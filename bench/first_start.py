"""From a fresh clone to the playground's first page: README's `python3 tasks.py demo`, timed.

    python3 -m bench.first_start [--repo PATH] [--keep-cache]

Clones the repository (the committed HEAD of --repo, default this checkout) into a temporary
folder, runs `python3 tasks.py demo --port 0` there with the system Python, and polls the
printed playground address until it answers 200. Prints the seconds to the first page, the
seconds spent installing, and the size of the virtualenv. By default pip's cache is off
(PIP_NO_CACHE_DIR=1), as on a fresh machine; `--keep-cache` measures a machine that installed
the same packages before. Needs only the standard library.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
URL = re.compile(r"Playground:\s+(http://\S+)")


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def first_page(url: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def run(repo: Path, keep_cache: bool, timeout: float) -> int:
    work = Path(tempfile.mkdtemp(prefix="looplink-first-start-"))
    try:
        subprocess.run(["git", "clone", "-q", str(repo), str(work / "p")], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "LOOPLINK"))}
        if not keep_cache:
            env["PIP_NO_CACHE_DIR"] = "1"
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "tasks.py", "demo", "--port", "0"],
            cwd=work / "p",
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        installed_at = None
        url = None
        assert proc.stdout is not None
        for line in proc.stdout:
            if installed_at is None and line.startswith("Looplink demo: database"):
                installed_at = time.monotonic()
            m = URL.search(line)
            if m:
                url = m.group(1)
                break
            if time.monotonic() - start > timeout:
                break
        ok = url is not None and first_page(url, start + timeout)
        total = time.monotonic() - start
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=15)
        venv_mb = folder_size(work / "p" / ".venv") / 1e6
        print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        print(f"pip cache: {'kept' if keep_cache else 'off (a fresh machine)'}")
        if not ok:
            print(f"no first page within {timeout:.0f} s")
            return 1
        install = (installed_at - start) if installed_at else float("nan")
        print(f"install:       {install:6.1f} s")
        print(f"first page:    {total:6.1f} s  (target < 30 s)")
        print(f"virtualenv:    {venv_mb:6.0f} MB")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--repo", type=Path, default=ROOT)
    p.add_argument("--keep-cache", action="store_true")
    p.add_argument("--timeout", type=float, default=300)
    args = p.parse_args()
    return run(args.repo, args.keep_cache, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
