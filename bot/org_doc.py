"""The organisation in the database as an org-file document, and that document validated by
the org file's own validator (bot/orgfile.py) with each problem pinned to where it is.

The admin console edits this document and validates it exactly as `looplink org validate`
validates a file: same checks, same messages. `lined(doc)` gives every mapping and key its own
"line" number and remembers the path each number stands for, so a problem found on "line" 57
is shown next to the field it is about (`Where`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Membership, Person, PlatformId, Setting, Team, Workspace
from bot.i18n import _
from bot.orgfile import KIND_NAMES, OrgFileError, OrgSpec, Problem, line_ref, validate_data
from bot.platform_info import PlatformInfo
from bot.yamlload import Lined

Doc = dict[str, Any]
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Where:
    """A problem and what it is about: ("team", "lincoln", "parent"), ("person", "carol",
    "email"), ("calendar", "holidays"), or () when the validator named the whole file."""

    path: Path
    message: str  # the validator's sentence; "" when `code` names the console's own
    fix: str
    code: str = ""  # the console's own problems (no one matches, ...), worded in its templates
    args: tuple[str, ...] = ()

    def about(self, kind: str, ident: str) -> str | None:
        """The field of this entity the problem is about ("" for the entity as a whole), or
        None when it is about something else."""
        if self.path[:2] != (kind, ident):
            return None
        return ".".join(str(p) for p in self.path[2:3])


class Invalid(Exception):
    def __init__(self, problems: list[Where]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


# ---- the database as a document -------------------------------------------------------------


async def take_turn(session: AsyncSession) -> None:
    """Wait for any other change to the whole organisation (a console save, an apply) to end,
    and hold them off until this transaction ends: each works from the state the last one
    left (a row lock on the organisation's name; SQLite's transactions take turns anyway)."""
    await session.execute(
        select(Setting.key).where(Setting.key == "organization").with_for_update()
    )


async def snapshot(session: AsyncSession, platforms: Sequence[PlatformInfo]) -> Doc:
    """The active organisation as the org file that would give it (what `org apply` reads)."""
    settings = {s.key: s.value for s in (await session.scalars(select(Setting))).all()}
    spaces = [w for w in (await session.scalars(select(Workspace))).all() if w.active]
    ws_name = {(w.platform, w.value): w.name for w in spaces}
    by_name = {p.name: p for p in platforms}
    ids = list((await session.scalars(select(PlatformId))).all())
    cal = settings.get("calendar") or {}
    doc: Doc = {
        "organization": settings.get("organization") or "",
        "timezone": settings.get("timezone") or "UTC",
        "calendar": {
            "weekends": "pause" if cal.get("weekends_pause", True) else "count",
            "holidays": list(cal.get("holidays", [])),
        },
    }
    if spaces:
        doc["workspaces"] = [
            {"id": w.name, by_name[w.platform].workspace_key or w.platform: w.value}
            for w in spaces
            if w.platform in by_name
        ]
    teams = [t for t in (await session.scalars(select(Team).order_by(Team.id))).all() if t.active]
    members = (await session.scalars(select(Membership).where(Membership.active))).all()
    people = (await session.scalars(select(Person).order_by(Person.id))).all()
    owned: dict[tuple[str, str], list[PlatformId]] = {}  # one pass, not one per owner
    for r in ids:
        owned.setdefault((r.owner_kind, r.owner_id), []).append(r)
    on_team: dict[str, list[Membership]] = {}
    for m in members:
        on_team.setdefault(m.team_id, []).append(m)
    doc["people"] = [
        _person(p, owned.get(("person", p.id), []), ws_name) for p in people if p.active
    ]
    doc["teams"] = [
        _team(t, on_team.get(t.id, []), owned.get(("team", t.id), []), ws_name) for t in teams
    ]
    if settings.get("language") and settings["language"] != "en":
        doc["language"] = settings["language"]
    if settings.get("org"):
        doc["settings"] = settings["org"]
    if settings.get("admins"):
        doc["admins"] = list(settings["admins"])
    return doc


def _ids(
    kind: str, owner: str, rows: list[PlatformId], ws_name: dict[tuple[str, str], str]
) -> dict[str, Any]:
    """An owner's ids by org-file key: plain, or {workspace: id} inside declared workspaces."""
    out: dict[str, Any] = {}
    for r in rows:
        if r.owner_kind != kind or r.owner_id != owner:
            continue
        if not r.scope:
            out[r.key] = r.value
        elif (r.platform, r.scope) in ws_name:
            out.setdefault(r.key, {})[ws_name[(r.platform, r.scope)]] = r.value
    return out


async def person_doc(session: AsyncSession, person: Person) -> Doc:
    """One person (active or not) as the org file's `people:` entry, with their ids."""
    spaces = [w for w in (await session.scalars(select(Workspace))).all() if w.active]
    ws_name = {(w.platform, w.value): w.name for w in spaces}
    ids = list(
        (
            await session.scalars(
                select(PlatformId).where(
                    PlatformId.owner_kind == "person", PlatformId.owner_id == person.id
                )
            )
        ).all()
    )
    return _person(person, ids, ws_name)


def _person(p: Person, ids: list[PlatformId], ws_name: dict[tuple[str, str], str]) -> Doc:
    doc: Doc = {"id": p.id, "name": p.name, "email": p.email, "language": p.language or None}
    return {**doc, **_ids("person", p.id, ids, ws_name)}


def _team(
    t: Team,
    members: Sequence[Membership],
    ids: list[PlatformId],
    ws_name: dict[tuple[str, str], str],
) -> Doc:
    doc: Doc = {
        "id": t.id,
        "name": t.name,
        "level": t.level,
        "parent": t.parent_id,
        "response_days": t.response_days,
        "timezone": t.timezone,
        "language": t.language,
        "channels": _ids("team", t.id, ids, ws_name),
        "digest": {"schedule": t.digest_schedule},
        "members": [
            {"person": m.person_id, "role": m.role}
            for m in sorted(members, key=lambda m: m.person_id)
            if m.team_id == t.id
        ],
    }
    if t.meeting_schedule:
        doc["meeting"] = {
            "schedule": t.meeting_schedule,
            "agenda_before_minutes": t.agenda_before_minutes,
        }
    return {**doc, **(t.extra or {})}


# ---- the document validated -----------------------------------------------------------------


class _Liner:
    """Numbers every mapping and key of a document, remembering the path of each number."""

    def __init__(self) -> None:
        self.paths: dict[int, Path] = {}
        self.n = 0

    def _next(self, path: Path) -> int:
        self.n += 1
        self.paths[self.n] = path
        return self.n

    def wrap(self, value: Any, path: Path) -> Any:
        if isinstance(value, dict):
            out = Lined()
            out.line = self._next(path)
            out.key_lines = {}
            for k, v in value.items():
                out.key_lines[str(k)] = self._next((*path, str(k)))
                out[str(k)] = self.wrap(v, (*path, str(k)))
            return out
        if isinstance(value, list):
            return [self.wrap(v, (*path, i)) for i, v in enumerate(value)]
        return value


def _named(doc: Doc, path: Path) -> Path:
    """("teams", 3, "parent") as ("team", "lincoln", "parent"); ("people", 0) as ("person",
    "alice"); members as ("team", id, "members")."""
    if len(path) >= 2 and path[0] in ("teams", "people") and isinstance(path[1], int):
        rows = doc.get(str(path[0])) or []
        kind = "team" if path[0] == "teams" else "person"
        if path[1] < len(rows) and isinstance(rows[path[1]], dict):
            return (kind, str(rows[path[1]].get("id")), *path[2:3])
    if path[:1] == ("calendar",):
        return path[:2]
    return path[:1]


def validate(doc: Doc, platforms: Sequence[PlatformInfo]) -> OrgSpec:
    """The document as the org file's validator sees it; Invalid lists where each problem is."""
    liner = _Liner()
    data = liner.wrap(doc, ())
    try:
        return validate_data(data, platforms, "<console>")
    except OrgFileError as e:
        raise Invalid([_where(doc, liner, p) for p in e.problems]) from e


def _line_refs() -> re.Pattern[str]:
    """ "line 12" as the validator wrote it, in the reader's language (orgfile.line_ref)."""
    return re.compile(re.escape(line_ref(10**9)).replace(str(10**9), r"(\d+)"))


def _where(doc: Doc, liner: _Liner, p: Problem) -> Where:
    """The problem pinned to its place; "(first on line 12)" names the place instead."""

    def place(m: re.Match[str]) -> str:
        path = _named(doc, liner.paths.get(int(m.group(1)), ()))
        if len(path) >= 2:
            kind = str(path[0])
            return _(
                "%(kind)s '%(id)s'",
                kind=_(KIND_NAMES[kind]) if kind in KIND_NAMES else kind,
                id=path[1],
            )
        return _("the organisation")

    message = _line_refs().sub(place, p.message)
    return Where(_named(doc, liner.paths.get(p.line, ())), message, p.fix)
