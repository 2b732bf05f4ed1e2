"""How long an admin console save takes in a large organisation.

    python -m bench.console_scale                 # 5,000 teams, 15,000 people, SQLite
    python -m bench.console_scale --teams 1000 --database postgresql://postgres@127.0.0.1:5432/postgres

Each save reads the whole organisation as an org-file document, validates it with the org
file's validator and applies it (bot/org_edit.py), so it costs about one `org apply`. Prints
the seconds for: applying the file once, then a console edit of one team, adding a team, and
the console's overview document.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import table
from bench.org_scale import org
from bot.db.migrate import upgrade
from bot.db.session import Database
from bot.org_apply import apply_org
from bot.org_doc import snapshot
from bot.org_edit import Edit, TeamForm, save_team, team_form
from bot.orgfile import parse_org
from looplink.platforms import infos


async def run(url: str, teams: int) -> list[list[str]]:
    upgrade(url)
    db = Database(url)
    rows: list[list[str]] = []
    try:
        t0 = time.perf_counter()
        async with db.transaction() as s:
            text = org(teams, 3).replace(
                "people:", "workspaces: [{id: main, slack: T0SCALE}]\npeople:", 1
            )
            await apply_org(s, parse_org(text, infos()))
        rows.append(["org apply (first)", f"{time.perf_counter() - t0:.2f}"])
        t0 = time.perf_counter()
        async with db.transaction() as s:
            doc = await snapshot(s, infos())
        rows.append(["the document (overview)", f"{time.perf_counter() - t0:.2f}"])
        t0 = time.perf_counter()
        async with db.transaction() as s:
            form = team_form(doc, "t7")
            assert form is not None
            form.response_days = "9"
            await save_team(Edit(s, infos(), datetime.now(UTC), "bench"), form, creating=False)
        rows.append(["console: edit a team", f"{time.perf_counter() - t0:.2f}"])
        t0 = time.perf_counter()
        async with db.transaction() as s:
            new = TeamForm(id="new", name="New", parent="t1", members=[("p0", "lead")])
            await save_team(Edit(s, infos(), datetime.now(UTC), "bench"), new, creating=True)
        rows.append(["console: add a team", f"{time.perf_counter() - t0:.2f}"])
    finally:
        await db.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teams", type=int, default=5000)
    ap.add_argument("--database")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'console.db'}"
        rows = asyncio.run(run(url, args.teams))
    print(f"{args.teams:,} teams, {args.teams * 3:,} people")
    print(table(["step", "seconds"], rows))


if __name__ == "__main__":
    main()
