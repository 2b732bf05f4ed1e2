"""Export items as CSV or JSON. Anonymous reporters are never exported."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Hop, Item, Person

COLUMNS = [
    "id", "kind", "state", "summary", "details", "affected", "subgroup", "driver", "stage", "tried",
    "suggestion", "urgency", "anonymous", "reporter", "origin_team", "holding_team", "path",
    "created_at", "due_at", "closed_at", "closed_by_team", "response", "reporter_told_at",
    "outcome", "merged_into",
]  # fmt: skip


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


async def export_rows(s: AsyncSession) -> list[dict[str, Any]]:
    items = (await s.scalars(select(Item).order_by(Item.id))).all()
    names = {p.id: p.name for p in (await s.scalars(select(Person))).all()}
    hops: dict[int, list[str]] = {}
    for h in (await s.scalars(select(Hop).order_by(Hop.item_id, Hop.seq))).all():
        hops.setdefault(h.item_id, []).append(h.team_id)
    rows = []
    for i in items:
        rows.append(
            {
                "id": i.id,
                "kind": i.kind,
                "state": i.state,
                "summary": i.summary,
                "details": i.details,
                "affected": ";".join(i.affected or []),
                "subgroup": i.subgroup,
                "driver": i.driver,
                "stage": i.stage,
                "tried": i.tried,
                "suggestion": i.suggestion,
                "urgency": i.urgency,
                "anonymous": i.anonymous,
                # the one place a reporter could leak: never for an anonymous report
                "reporter": "" if i.anonymous else names.get(i.reporter_id, ""),
                "origin_team": i.origin_team_id,
                "holding_team": i.holding_team_id,
                "path": " > ".join(hops.get(i.id, [])),
                "created_at": _iso(i.created_at),
                "due_at": _iso(i.due_at),
                "closed_at": _iso(i.closed_at),
                "closed_by_team": i.closed_by_team_id or "",
                "response": i.response,
                "reporter_told_at": _iso(i.reporter_told_at),
                "outcome": i.outcome or "",
                "merged_into": i.merged_into_id or "",
            }
        )
    return rows


async def export_items(s: AsyncSession, fmt: str) -> str:
    rows = await export_rows(s)
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()
    raise ValueError(f"unknown export format '{fmt}': use csv or json")
