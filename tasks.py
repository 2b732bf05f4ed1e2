#!/usr/bin/env python3
"""Looplink's task runner: needs nothing but Python 3.11+.

    python3 tasks.py demo    # create .venv if needed, then start the demo playground
    python3 tasks.py test    # create .venv if needed, then lint, type-check, run every test and
                             # measure coverage (the run fails below the agreed figure)
    python3 tasks.py lint    # ruff (check + format --check) and mypy only
    python3 tasks.py i18n    # extract marked messages (pybabel, babel.cfg) and update every
                             # catalog in bot/locale; then translate what is new (docs/translating.md)

Each command creates or refreshes `.venv` (when pyproject.toml changed) before it runs. `demo`
installs only what Looplink runs on; `test` and `lint` add the development tools.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("LOOPLINK_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


RUNTIME, DEV = "runtime", "dev"


def ensure_venv(level: str = DEV) -> None:
    """Install Looplink into .venv: the runtime only, or with the development tools too.

    The stamp records pyproject.toml's hash and what was installed; a dev install also serves
    the demo, so switching between commands installs nothing twice.
    """
    if sys.version_info < (3, 11):
        sys.exit("Looplink needs Python 3.11 or newer; this is " + sys.version.split()[0])
    stamp = VENV / ".looplink-installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    have = stamp.read_text().split() if stamp.exists() else []
    if have[:1] == [digest] and (level in have[1:] or DEV in have[1:]):
        return
    if not PY.exists():
        print(f"Creating virtual environment in {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    what = "Looplink" if level == RUNTIME else "Looplink and its development tools"
    print(f"Installing {what} ...", flush=True)
    target = "." if level == RUNTIME else ".[dev]"
    pip = [str(PY), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile"]
    run([*pip, "-e", target])
    stamp.write_text(f"{digest} {level}")


def run(cmd: list[str]) -> None:
    code = subprocess.call(cmd, cwd=ROOT)
    if code:
        sys.exit(code)


def lint() -> None:
    run([str(BIN / "ruff"), "check", "."])
    run([str(BIN / "ruff"), "format", "--check", "."])
    run([str(BIN / "mypy")])


LOCALES = ROOT / "bot" / "locale"


def i18n() -> None:
    """pybabel extract + update (+ compile --statistics, to a scratch folder, as a check).

    The .po files are what Looplink loads (compiled in memory, bot/i18n.py); the template is
    not kept in git (it would only churn). Untranslated messages show as `msgstr ""`."""
    pybabel = str(BIN / "pybabel")
    pot = LOCALES / "messages.pot"
    run(
        [pybabel, "extract", "-F", "babel.cfg", "-k", "N_", "-c", "Translators:",
         "--no-location", "--sort-output", "--no-wrap", "--project", "Looplink",
         "-o", str(pot), "."]
    )  # fmt: skip
    run(
        [pybabel, "update", "-i", str(pot), "-d", str(LOCALES), "-D", "messages",
         "--no-fuzzy-matching", "--ignore-obsolete", "--no-wrap", "--ignore-pot-creation-date"]
    )  # fmt: skip
    pot.unlink()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for po in sorted(LOCALES.glob("*/LC_MESSAGES/messages.po")):
            mo = Path(tmp) / f"{po.parent.parent.name}.mo"
            run([pybabel, "compile", "--statistics", "-i", str(po), "-o", str(mo)])


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in {"demo", "test", "lint", "serve", "i18n"}:
        sys.exit(__doc__)
    task, rest = argv[0], argv[1:]
    ensure_venv(RUNTIME if task in {"demo", "serve"} else DEV)
    if task == "demo":
        os.execv(str(BIN / "looplink"), [str(BIN / "looplink"), "demo", *rest])
    if task == "serve":
        os.execv(str(BIN / "looplink"), [str(BIN / "looplink"), "serve", *rest])
    if task == "lint":
        lint()
        return
    if task == "i18n":
        i18n()
        return
    lint()
    # The whole suite measures coverage and fails under [tool.coverage.report] fail_under
    # (pyproject.toml); a run narrowed by arguments (a file, -k) only reports tests.
    # The whole suite runs in parallel (pytest-xdist): most of its time is spent waiting on servers,
    # subprocesses, browsers and PostgreSQL, not on CPU, so twice as many workers as cores (at
    # most 8: each worker has its own PostgreSQL database and connection pool) fill the waits.
    # LOOPLINK_TEST_WORKERS overrides the count (0 = one process, no xdist).
    whole = [] if rest else ["--cov", "--cov-report=term:skip-covered", *workers()]
    run([str(PY), "-m", "pytest", *whole, *rest])


def workers() -> list[str]:
    wanted = os.environ.get("LOOPLINK_TEST_WORKERS", "")
    n = int(wanted) if wanted.strip() else min(8, 2 * (os.cpu_count() or 1))
    return ["-n", str(n)] if n > 0 else []


if __name__ == "__main__":
    main(sys.argv[1:])
