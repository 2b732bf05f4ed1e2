"""What the admin console's pages show: the team tree and the org changes, as plain values."""

from __future__ import annotations

from typing import Any

from bot.cadence import cadence
from bot.db.models import OrgChange
from bot.org_doc import Doc


def team_tree(doc: Doc) -> list[dict[str, Any]]:
    """Every active team, each under its parent (depth-first), with what the list shows."""
    teams = {t["id"]: t for t in doc["teams"]}
    names = {p["id"]: p["name"] for p in doc["people"]}
    children: dict[str | None, list[str]] = {}
    for t in doc["teams"]:
        parent = t.get("parent") if t.get("parent") in teams else None
        children.setdefault(parent, []).append(t["id"])
    out: list[dict[str, Any]] = []
    stack = [(tid, 0) for tid in reversed(sorted(children.get(None, [])))]
    seen: set[str] = set()
    while stack:
        tid, depth = stack.pop()
        if tid in seen:
            continue
        seen.add(tid)
        t = teams[tid]
        leads = [names.get(m["person"], m["person"]) for m in t["members"] if m["role"] == "lead"]
        out.append(
            {
                "id": tid,
                "name": t["name"],
                "level": t.get("level") or "",
                "depth": depth,
                "members": len(t["members"]),
                "leads": leads,
                "response_days": t.get("response_days"),
                "meeting": cadence((t.get("meeting") or {}).get("schedule")),
            }
        )
        stack.extend((c, depth + 1) for c in reversed(sorted(children.get(tid, []))))
    return out


def change_view(c: OrgChange) -> dict[str, Any]:
    """A change as the page shows it; `kind` and `ident` ("team", "lincoln") let the page say
    what changed in the reader's language ("team:lincoln" is how it is stored)."""
    kind, _, ident = c.entity.partition(":")
    return {
        "kind": kind,
        "ident": ident,
        "id": c.id,
        "at": c.at,
        "actor": c.actor,
        "source": c.source,
        "action": c.action,
        "entity": c.entity,
        "changes": [list(x) for x in c.changes],
    }
