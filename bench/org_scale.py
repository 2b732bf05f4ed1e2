"""Benchmark 5, the org file at scale and under attack.

    python -m bench.org_scale                      # 5,000 teams, 15,000 people, SQLite
    python -m bench.org_scale --teams 10000 --database postgresql://postgres@127.0.0.1:5432/postgres

Builds an organisation of `--teams` teams (a tree, ten teams under each, three members each:
`--people-per-team`) in memory, then times:

- `validate`: `parse_org` (YAML to OrgSpec with every check) of the whole file;
- `apply (new)`: `apply_org` into an empty database, one transaction;
- `apply (again)`: the same file a second time (nothing changes);
- `chain refused`: a file whose teams form one chain of `--teams` levels, refused by the
  validator (a chain may have at most MAX_CHAIN_LEVELS levels), the whole file still checked;
- alias bombs (billion laughs, 9 levels of 9) in a holiday, in `calendar.weekends`, in
  `settings` and under an unknown key, and a file over MAX_FILE_BYTES: time to the refusal.

The target from issue 10: 5,000 teams validated in under 5 s; bombs refused in under 1 s.
The test suite checks the shape of the cost instead (tests/test_orgfile_limits.py: four times
the teams cost at most ~4.4 times the executed lines and SQL statements).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from bench.common import database, machine, table, workdir
from bot.db.migrate import upgrade
from bot.db.session import Database
from bot.org_apply import apply_org
from bot.orgfile import MAX_FILE_BYTES, OrgFileError, parse_org
from looplink.platforms import infos

HEAD = (
    "organization: Bomb\npeople:\n  - {id: ann, name: Ann}\nteams:\n"
    "  - id: top\n    name: Top\n    members: [{person: ann, role: lead}]\n"
)


def org(teams: int, per_team: int, chain: bool = False, fan: int = 10) -> str:
    out = ["organization: Scale", "timezone: America/Chicago"]
    out += ["workspaces:", "  - {id: main, slack: T0SCALE01}", "people:"]  # its own workspace
    out += [
        f"  - {{id: p{i}, name: Person {i}, email: p{i}@scale.example, slack: U{i:07d}}}"
        for i in range(teams * per_team)
    ]
    out.append("teams:")
    for t in range(teams):
        out.append(f"  - id: t{t}\n    name: Team {t}\n    level: building")
        if t:
            out.append(f"    parent: t{t - 1 if chain else (t - 1) // fan}")
        out.append(f"    channels: {{slack: C{t:07d}}}")
        out.append('    meeting: {schedule: "0 15 * * tue", agenda_before_minutes: 120}')
        out.append("    members:")
        out += [
            f"      - {{person: p{t * per_team + m}, role: {'lead' if m == 0 else 'member'}}}"
            for m in range(per_team)
        ]
    return "\n".join(out) + "\n"


def laughs(indent: str) -> str:
    out = [f'{indent}- &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    out += [f"{indent}- &l{k} [" + ", ".join([f"*l{k - 1}"] * 9) + "]" for k in range(1, 9)]
    return "\n".join(out) + "\n"


BOMBS = {
    "bomb in a holiday": HEAD + "calendar:\n  holidays:\n" + laughs("    "),
    "bomb in calendar.weekends": HEAD + "b:\n" + laughs("  ") + "calendar:\n  weekends: *l8\n",
    "bomb in settings": HEAD + "settings:\n  x:\n" + laughs("    "),
    "bomb under an unknown key": HEAD + "whatever:\n" + laughs("  "),
    "file over the size limit": HEAD + "#" + "x" * MAX_FILE_BYTES + "\n",
}


def timed_refusal(text: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    try:
        parse_org(text, infos(), "org.yaml")
    except OrgFileError as e:
        return time.perf_counter() - t0, e.problems[0].message[:60]
    return time.perf_counter() - t0, "ACCEPTED (wrong)"


async def apply_times(url: str, text: str) -> tuple[float, float]:
    upgrade(url)
    db = Database(url)
    try:
        spec = parse_org(text, infos())
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            async with db.transaction() as s:
                await apply_org(s, spec)
            times.append(time.perf_counter() - t0)
        return times[0], times[1]
    finally:
        await db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--teams", type=int, default=5000)
    ap.add_argument("--people-per-team", type=int, default=3)
    ap.add_argument("--database", help="PostgreSQL server URL (default: a SQLite file)")
    args = ap.parse_args()

    print(machine())
    text = org(args.teams, args.people_per_team)
    size = len(text.encode())
    rows: list[list[object]] = []
    t0 = time.perf_counter()
    spec = parse_org(text, infos())
    rows.append(
        [
            "validate",
            f"{len(spec.teams):,} teams, {size / 2**20:.1f} MiB",
            f"{time.perf_counter() - t0:.2f}",
        ]
    )
    with workdir() as tmp, database(args.database, Path(tmp)) as url:
        new, again = asyncio.run(apply_times(url, text))
    rows.append(["apply (new)", f"{len(spec.people):,} people", f"{new:.2f}"])
    rows.append(["apply (again)", "no changes", f"{again:.2f}"])
    seconds, why = timed_refusal(org(args.teams, args.people_per_team, chain=True))
    rows.append([f"chain of {args.teams:,} refused", why, f"{seconds:.2f}"])
    for label, bomb in BOMBS.items():
        seconds, why = timed_refusal(bomb)
        rows.append([label, why, f"{seconds:.4f}"])
    print(table(["what", "detail", "seconds"], [[str(c) for c in r] for r in rows]))


if __name__ == "__main__":
    main()
