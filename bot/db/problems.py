"""A database Looplink cannot use, said in one line: which one (never its password) and the fix.

`looplink` prints `str(DatabaseProblem)` and exits; no traceback (the log keeps the cause).
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SUPPORTED = "use sqlite:///FILE (e.g. sqlite:///looplink.db) or postgresql://USER@HOST/DATABASE"


class DatabaseProblem(Exception):
    """The database cannot be used; the text names it (no password) and says how to fix it."""


def shown(url: str) -> str:
    """The URL as it may be printed: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        scheme, sep, rest = url.partition("://")
        if sep and "@" in rest:  # something URL-like we cannot parse: keep no credentials
            return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
        return url


def backend(url: str) -> str:
    """'sqlite' or 'postgresql'; raises DatabaseProblem for anything else."""
    try:
        u = make_url(url)
        name = u.get_backend_name()
        driver = u.get_driver_name()
    except (ArgumentError, ValueError):
        raise DatabaseProblem(
            f"The database URL '{shown(url)}' is not a URL Looplink can read: {SUPPORTED}."
        ) from None
    known = {"sqlite": ("pysqlite", "aiosqlite"), "postgresql": ("psycopg", "psycopg2")}
    if name not in known or (driver and driver not in known[name]):
        raise DatabaseProblem(
            f"The database '{shown(url)}' is not supported (Looplink runs on SQLite and "
            f"PostgreSQL): {SUPPORTED}."
        )
    return name


def explain(url: str, error: BaseException) -> DatabaseProblem:
    """What went wrong opening `url`, as one line with the fix."""
    cause = str(getattr(error, "orig", None) or error).strip().splitlines()
    first = cause[0].strip() if cause else type(error).__name__
    low = " ".join(cause).lower()
    try:
        name = backend(url)
    except DatabaseProblem as e:
        return e
    if name == "sqlite":
        path = make_url(url).database or ":memory:"
        what = f"The database {path}"
        if "not a database" in low or "malformed" in low or "encrypted" in low:
            return DatabaseProblem(
                f"{what} is not a SQLite database, or is damaged ({first}). Fix: restore it "
                "from a backup, or point LOOPLINK_DATABASE_URL at another file (a new one is "
                "created)."
            )
        if "locked" in low or "busy" in low:
            return DatabaseProblem(
                f"{what} is locked by another process (another Looplink, a backup or a "
                "database tool holding it open). Fix: stop that process, then start again."
            )
        if "unable to open" in low or "readonly" in low or "read-only" in low:
            return DatabaseProblem(
                f"{what} cannot be opened for writing ({first}). Fix: check that its folder "
                "exists and that this user may write the folder and the file."
            )
        if "disk" in low or "full" in low:
            return DatabaseProblem(f"{what} cannot be written ({first}). Fix: free disk space.")
        return DatabaseProblem(
            f"{what} cannot be used ({first}). Fix: check the file, or point "
            "LOOPLINK_DATABASE_URL at another one."
        )
    where = shown(url)
    if "password authentication failed" in low or "no password supplied" in low:
        fix = "correct the user and password in LOOPLINK_DATABASE_URL"
    elif "does not exist" in low and "database" in low:
        db = make_url(url).database or "looplink"
        fix = f"create the database (createdb {db}), or correct its name in LOOPLINK_DATABASE_URL"
    elif "translate host name" in low or "name or service not known" in low:
        fix = "correct the host name in LOOPLINK_DATABASE_URL"
    else:
        fix = "start PostgreSQL, or correct the host and port in LOOPLINK_DATABASE_URL"
    return DatabaseProblem(f"Cannot reach PostgreSQL at {where} ({_short(first)}). Fix: {fix}.")


def _short(text: str) -> str:
    """psycopg's first line without its 'connection failed: ' prefix, kept short."""
    text = text.removeprefix("connection failed: ").strip()
    return text if len(text) <= 160 else text[:157] + "..."
