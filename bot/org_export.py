"""`looplink org export`: the organisation as it stands in the database, written back out as
an org file (docs/org-file.md), with every id that was learnt since the file was applied
(identities linked by email on first contact or by `looplink org sync`, channels an admin
linked from inside them, the admin console's edits). Applying the exported file changes
nothing; only what is active is written (deactivated people, teams and workspaces are history,
not organisation).

The document is the admin console's (`bot.org_doc.snapshot`), tidied for people to read: no
empty keys, ids written plain where their platform has one declared workspace, each team after
the team above it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from bot.org_doc import Doc, snapshot
from bot.platform_info import PlatformInfo

HEADER = (
    "# Written by `looplink org export`: the organisation as Looplink knows it, with every id\n"
    "# it learnt. Every key is documented in docs/org-file.md.\n"
)


async def export_org(session: AsyncSession, platforms: Sequence[PlatformInfo]) -> str:
    doc = await snapshot(session, platforms)
    spaces: dict[str, int] = defaultdict(int)  # declared workspaces per platform key
    for w in doc.get("workspaces", []):
        for key in w:
            if key != "id":
                spaces[key] += 1
    single = {p.name for p in platforms if spaces.get(p.workspace_key or "", 0) == 1}
    person_keys = {k: p.name for p in platforms for k in p.person_keys}
    channel_keys = {p.channel_key: p.name for p in platforms if p.channel_key}
    active = {p["id"] for p in doc["people"]}
    doc["people"] = [_plain(_tidy(p), person_keys, single) for p in doc["people"]]
    teams = []
    for t in _top_down(doc["teams"]):
        t = _tidy(t)
        t["members"] = [m for m in t["members"] if m["person"] in active]
        channels = _plain(t.pop("channels", None) or {}, channel_keys, single)
        if channels:
            t["channels"] = channels
        teams.append(t)
    doc["teams"] = teams
    admins = [a for a in doc.pop("admins", []) if a in active]
    ordered = {k: v for k, v in doc.items() if k not in ("teams", "settings")}
    if admins:
        ordered["admins"] = admins
    ordered["teams"] = doc["teams"]
    if doc.get("settings"):
        ordered["settings"] = doc["settings"]
    return HEADER + yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=100)


def _tidy(entry: Doc) -> Doc:
    return {k: v for k, v in entry.items() if v is not None and v != ""}


def _plain(entry: Doc, keys: dict[str, str], single: set[str]) -> Doc:
    """`{WORKSPACE: ID}` written `ID` where the key's platform has one declared workspace."""
    out: Doc = {}
    for k, v in entry.items():
        if k in keys and keys[k] in single and isinstance(v, dict) and len(v) == 1:
            v = next(iter(v.values()))
        out[k] = v
    return out


def _top_down(teams: list[Doc]) -> list[Doc]:
    """Each team after the team above it, as people read an org file."""
    ids = {t["id"] for t in teams}
    below: dict[Any, list[Doc]] = defaultdict(list)
    for t in teams:
        below[t.get("parent") if t.get("parent") in ids else None].append(t)
    out: list[Doc] = []
    todo = list(reversed(below[None]))
    while todo:
        t = todo.pop()
        out.append(t)
        todo.extend(reversed(below[t["id"]]))
    seen = {t["id"] for t in out}
    return out + [t for t in teams if t["id"] not in seen]  # in a cycle: the file says so
