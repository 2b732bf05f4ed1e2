"""Generate a large organisation for benchmarks: teams, people, items, hops, audit events.

    python -m bench.seed_scale --database sqlite:///bench.db --scale 1.0

At scale 1.0: 2,000 teams (1 state, 49 districts, 1,950 buildings), 50,000 people, 500,000
items and 5,000,000 audit events. Data is deterministic (seeded) and written with bulk
inserts (executemany in chunks), so generation time is not what the benchmark measures.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, insert, text

from bot.db.migrate import upgrade
from bot.db.models import (
    AuditEvent,
    Base,
    Hop,
    Item,
    Membership,
    Person,
    PlatformId,
    Setting,
    Team,
)
from bot.db.session import sync_url

DRIVERS = ["selection", "training", "coaching", "fidelity", "data_systems",
           "facilitative_administration", "systems_intervention", "leadership", "other"]  # fmt: skip
AFFECTED = ["students", "families", "staff"]
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
CHUNK = 20_000


def _bulk(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for i in range(0, len(rows), CHUNK):
            conn.execute(insert(table), rows[i : i + CHUNK])


def seed(url: str, scale: float = 1.0, seed_value: int = 7) -> dict[str, int]:
    rnd = random.Random(seed_value)
    upgrade(url)
    engine = create_engine(sync_url(url), hide_parameters=True)
    with engine.begin() as conn:
        for t in reversed(Base.metadata.sorted_tables):
            conn.execute(t.delete())
    n_districts = max(2, int(49 * scale))
    n_buildings = max(4, int(1950 * scale))
    n_people = max(30, int(50_000 * scale))
    n_items = max(50, int(500_000 * scale))

    settings: list[dict[str, Any]] = [
        {"key": "organization", "value": "Benchmark State"},
        {"key": "timezone", "value": "America/Chicago"},
        {"key": "calendar", "value": {"weekends_pause": True, "holidays": []}},
        {"key": "org", "value": {}},
    ]
    _bulk(engine, Setting.__table__, settings)
    teams = [_team("state", "State Team", "state", None)]
    teams += [_team(f"d{i}", f"District {i}", "district", "state") for i in range(n_districts)]
    buildings = [f"b{i}" for i in range(n_buildings)]
    teams += [
        _team(b, f"Building {b}", "building", f"d{i % n_districts}")
        for i, b in enumerate(buildings)
    ]
    _bulk(engine, Team.__table__, teams)
    people = [
        {"id": f"p{i}", "name": f"Person {i}", "email": f"p{i}@bench.example", "language": "en",
         "active": True}
        for i in range(n_people)
    ]  # fmt: skip
    _bulk(engine, Person.__table__, people)
    ids: list[dict[str, Any]] = [_slack_id("person", f"p{i}", f"U{i:08d}") for i in range(n_people)]
    ids += [_slack_id("team", t["id"], f"C{t['id'].upper()}") for t in teams]
    _bulk(engine, PlatformId.__table__, ids)
    members: list[dict[str, Any]] = []
    team_ids = [t["id"] for t in teams]
    home: dict[str, list[str]] = {}
    for i in range(n_people):
        tid = team_ids[i % len(team_ids)]
        role = "lead" if i < len(team_ids) else ("liaison" if i < 2 * len(team_ids) else "member")
        members.append({"team_id": tid, "person_id": f"p{i}", "role": role, "active": True})
        home.setdefault(tid, []).append(f"p{i}")
    _bulk(engine, Membership.__table__, members)

    parent = {t["id"]: t["parent_id"] for t in teams}
    items: list[dict[str, Any]] = []
    hops: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    hop_id = 0
    for iid in range(1, n_items + 1):
        origin = buildings[rnd.randrange(len(buildings))]
        created = NOW - timedelta(minutes=rnd.randrange(60 * 24 * 365))
        path = [origin]
        for _ in range(rnd.choice([0, 0, 0, 1, 1, 2])):
            up = parent[path[-1]]
            if up is None:
                break
            path.append(up)
        closed = rnd.random() < 0.6
        state = (
            rnd.choice(["resolved", "declined"])
            if closed
            else rnd.choice(["new", "acknowledged", "escalated", "needs_info"])
        )
        closed_at = created + timedelta(days=rnd.randrange(1, 30)) if closed else None
        reporter = rnd.choice(home.get(origin) or ["p0"])
        items.append({
            "id": iid, "kind": "barrier" if rnd.random() < 0.85 else "success",
            "summary": f"Benchmark barrier {iid}", "details": "", "affected": [rnd.choice(AFFECTED)], "subgroup": "",
            "driver": rnd.choice(DRIVERS), "stage": "", "tried": "", "suggestion": "", "urgency": "normal",
            "anonymous": rnd.random() < 0.2, "reporter_id": reporter, "origin_team_id": origin,
            "holding_team_id": path[-1], "state": state, "owner_id": None,
            "due_at": created + timedelta(days=7), "created_at": created, "updated_at": created,
            "closed_at": closed_at if closed_at else None, "closed_by_team_id": path[-1] if closed else None,
            "response": "done" if closed else "", "merged_into_id": None,
            "reporter_told_at": closed_at if closed_at else None, "outcome": None, "outcome_at": None,
            "follow_up_sent_at": None, "source": "slack",
        })  # fmt: skip
        arrived = created
        for seq, tid in enumerate(path):
            hop_id += 1
            left = arrived + timedelta(days=rnd.randrange(1, 6)) if seq < len(path) - 1 else None
            hops.append({
                "id": hop_id, "item_id": iid, "seq": seq, "team_id": tid, "arrived_at": arrived,
                "due_at": arrived + timedelta(days=7), "left_at": left if left else None,
                "escalation_note": "", "told_at": closed_at if closed_at else None,
                "overdue_flagged_at": None, "reminded_at": None,
            })  # fmt: skip
            if left:
                arrived = left
        for k in range(10):  # ten audit events per item: 5,000,000 at scale 1.0
            audits.append({
                "item_id": iid, "at": created + timedelta(hours=k), "actor_id": None if k == 0 else reporter,
                "action": "reported" if k == 0 else "note", "from_state": None, "to_state": state,
                "team_id": origin, "note": "",
            })  # fmt: skip
        if len(audits) >= 200_000:
            _bulk(engine, Item.__table__, items)
            _bulk(engine, Hop.__table__, hops)
            _bulk(engine, AuditEvent.__table__, audits)
            items, hops, audits = [], [], []
    _bulk(engine, Item.__table__, items)
    _bulk(engine, Hop.__table__, hops)
    _bulk(engine, AuditEvent.__table__, audits)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table, col in (("items", "id"), ("hops", "id"), ("audit_events", "id")):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{col}'), (SELECT max({col}) FROM {table}))"
                    )
                )
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return {
        "teams": len(teams),
        "people": n_people,
        "items": n_items,
        "audit_events": n_items * 10,
        "hops": hop_id,
    }


def _slack_id(kind: str, owner: str, value: str) -> dict[str, Any]:
    return {"owner_kind": kind, "owner_id": owner, "key": "slack", "platform": "slack",
            "rank": 0, "scope": "", "value": value}  # fmt: skip


def _team(tid: str, name: str, level: str, parent: str | None) -> dict[str, Any]:
    return {
        "id": tid, "name": name, "level": level, "parent_id": parent, "response_days": 5,
        "timezone": "America/Chicago",
        "meeting_schedule": "0 15 * * tue", "agenda_before_minutes": 120, "digest_schedule": "0 8 * * mon",
        "extra": {}, "active": True,
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--database", default="sqlite:///bench-scale.db")
    p.add_argument("--scale", type=float, default=1.0)
    args = p.parse_args()
    t0 = time.perf_counter()
    counts = seed(args.database, args.scale)
    print(f"seeded {counts} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
