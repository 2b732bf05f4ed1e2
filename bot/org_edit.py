"""Edits to the organisation from the admin console: teams, links, members and roles, people,
schedules, the calendar.

Each edit is made to the organisation as an org-file document (bot/org_doc.py), validated by
the org file's own validator (same checks, same messages as `looplink org validate`), applied
by `apply_org` (the same tables `looplink org apply` writes, so the loop and `looplink org
export` see it at once) and recorded as an `OrgChange` (who, when, what). Nothing is written
when the document is not valid: `Invalid` says where each problem is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OrgChange, Person, PlatformId
from bot.org_apply import apply_org
from bot.org_changes import record
from bot.org_doc import Doc, Invalid, Where, person_doc, snapshot, take_turn, validate
from bot.platform_info import PlatformInfo

MAX_MATCHES = 20
FORM_KEYS = frozenset(
    ("id", "name", "level", "parent", "response_days", "timezone", "channels")
    + ("meeting", "digest", "recognition", "members")
)


@dataclass
class Edit:
    """Who edits, when, against which platforms' keys."""

    session: AsyncSession
    platforms: Sequence[PlatformInfo]
    at: datetime
    actor: str


@dataclass
class TeamForm:
    """A team as the console's form holds it: text, as typed."""

    id: str = ""
    name: str = ""
    level: str = "building"
    parent: str = ""
    response_days: str = "5"
    timezone: str = ""
    channels: dict[str, str] = field(default_factory=dict)  # channel key -> id as typed
    meeting: str = ""
    agenda_before: str = "120"
    digest: str = ""
    recognition: str = ""  # "": the organisation's default; "off"; or a cron
    members: list[tuple[str, str]] = field(default_factory=list)  # (person id, role)
    add_person: str = ""  # a name, email, id or platform user id to find
    add_role: str = "member"
    extra: dict[str, Any] = field(default_factory=dict)  # other keys of the team, kept


def team_form(doc: Doc, tid: str) -> TeamForm | None:
    entry = next((t for t in doc.get("teams", []) if t.get("id") == tid), None)
    if entry is None:
        return None
    meeting = entry.get("meeting") or {}
    recognition = entry.get("recognition")
    if isinstance(recognition, dict):
        recognition = recognition.get("schedule") or ""
    return TeamForm(
        id=tid,
        name=str(entry.get("name") or ""),
        level=str(entry.get("level") or ""),
        parent=str(entry.get("parent") or ""),
        response_days=str(entry.get("response_days", "")),
        timezone=str(entry.get("timezone") or ""),
        channels={k: _channel_text(v, doc) for k, v in (entry.get("channels") or {}).items()},
        meeting=str(meeting.get("schedule") or ""),
        agenda_before=str(meeting.get("agenda_before_minutes", 120)),
        digest=str((entry.get("digest") or {}).get("schedule") or ""),
        recognition="off" if recognition is False else str(recognition or ""),
        members=[(str(m["person"]), str(m.get("role", "member"))) for m in entry["members"]],
        extra={k: v for k, v in entry.items() if k not in FORM_KEYS},
    )


def _channel_text(value: Any, doc: Doc) -> str:
    """A channel id as the form shows it: the id alone when its workspace is the only one
    declared, else "WORKSPACE: ID"."""
    if not isinstance(value, dict):
        return str(value)
    declared = {str(w.get("id")) for w in doc.get("workspaces", [])}
    if len(value) == 1 and len(declared) >= 1:
        ((ws, v),) = value.items()
        if _only_one(doc, str(ws)):
            return str(v)
    return "\n".join(f"{ws}: {v}" for ws, v in value.items())


def _only_one(doc: Doc, ws: str) -> bool:
    """Whether `ws` is the only declared workspace of its platform."""
    spaces = doc.get("workspaces", [])
    keys = [k for w in spaces if w.get("id") == ws for k in w if k != "id"]
    return sum(1 for w in spaces for k in w if k in keys) == 1


def _channel_value(text: str, workspaces: Sequence[str]) -> Any:
    """The form's text as the org file writes it: "WORKSPACE: ID" names one of the
    organisation's workspaces on that platform; anything else is the id itself."""
    for ws in workspaces:
        if text.startswith(f"{ws}:"):
            return {ws: text[len(ws) + 1 :].strip()}
    return {workspaces[0]: text} if len(workspaces) == 1 else text


def _number(text: str) -> Any:
    """A whole number when the text is one; else the text, for the validator to refuse."""
    t = text.strip()
    return int(t) if t.isdigit() and len(t) < 9 else t


def team_entry(form: TeamForm, doc: Doc, channel_platforms: Mapping[str, str]) -> Doc:
    """The team as an org-file entry (what the validator and `org apply` read);
    `channel_platforms`: each channel key's platform's key under `workspaces:`."""
    spaces: dict[str, list[str]] = {}
    for w in doc.get("workspaces", []):
        for k, v in w.items():
            if k != "id" and v:
                spaces.setdefault(k, []).append(str(w["id"]))
    channels = {}
    for key, text in form.channels.items():
        if text.strip():
            wkeys = [w for wk, ws in spaces.items() if wk == channel_platforms.get(key) for w in ws]
            channels[key] = _channel_value(text.strip(), wkeys)
    entry: Doc = {
        **form.extra,
        "id": form.id.strip(),
        "name": form.name.strip(),
        "level": form.level.strip() or "building",
        "parent": form.parent.strip() or None,
        "response_days": _number(form.response_days),
        "timezone": form.timezone.strip() or doc.get("timezone") or "UTC",
        "channels": channels,
        "members": [{"person": p, "role": r} for p, r in form.members],
    }
    if form.meeting.strip():
        entry["meeting"] = {
            "schedule": form.meeting.strip(),
            "agenda_before_minutes": _number(form.agenda_before),
        }
    if form.digest.strip():
        entry["digest"] = {"schedule": form.digest.strip()}
    recognition = form.recognition.strip()
    if recognition:
        entry["recognition"] = "off" if recognition.lower() == "off" else {"schedule": recognition}
    return entry


# ---- finding people -------------------------------------------------------------------------


async def find_people(session: AsyncSession, query: str) -> list[Person]:
    """People by id, email, part of the name, or a user id on a platform they are linked on
    (the identities Looplink has linked: from the org file, by email, by an admin)."""
    q = query.strip().lstrip("@").strip()
    if not q:
        return []
    exact = await session.get(Person, q)
    if exact is not None:
        return [exact]
    linked = select(PlatformId.owner_id).where(
        PlatformId.owner_kind == "person", PlatformId.value == q
    )
    like = f"%{q.lower().replace('%', '').replace('_', '')}%"
    rows = await session.scalars(
        select(Person)
        .where(
            or_(
                func.lower(Person.email) == q.lower(),
                func.lower(Person.name).like(like),
                Person.id.in_(linked),
            )
        )
        .order_by(Person.active.desc(), Person.name)
        .limit(MAX_MATCHES)
    )
    return list(rows.all())


async def _add_member(ed: Edit, doc: Doc, form: TeamForm) -> None:
    """The person the form asks to add, found by what was typed (one match, or a problem)."""
    query = form.add_person.strip()
    if not query:
        return
    where = ("team", form.id.strip(), "add_person")
    found = await find_people(ed.session, query)
    if len(found) != 1:
        code = "no_match" if not found else "many_matches"
        names = tuple(f"{p.name} ({p.email or p.id})" for p in found)
        raise Invalid([Where(where, "", "", code=code, args=(query, *names))])
    person = found[0]
    if any(p == person.id for p, _ in form.members):
        raise Invalid([Where(where, "", "", code="already_member", args=(person.name,))])
    if not person.active:  # back in the organisation: with the ids they had
        doc["people"].append(await person_doc(ed.session, person))
    form.members.append((person.id, form.add_role or "member"))
    form.add_person = ""


# ---- the edits ------------------------------------------------------------------------------


async def _turn(ed: Edit) -> Doc:
    """The organisation as it is once no other change to it is under way (see take_turn)."""
    await take_turn(ed.session)
    return await snapshot(ed.session, ed.platforms)


async def save_team(ed: Edit, form: TeamForm, creating: bool) -> OrgChange:
    doc = await _turn(ed)
    await _add_member(ed, doc, form)
    tid = form.id.strip()
    teams: list[Doc] = doc["teams"]
    before = next((t for t in teams if t.get("id") == tid), None)
    if creating and before is not None:
        raise Invalid([Where(("team", tid, "id"), "", "", code="team_exists", args=(tid,))])
    if not creating and before is None:
        raise Invalid([Where(("team", tid), "", "", code="no_team", args=(tid,))])
    if before is not None:  # what the form does not show (measures, nudges, ...) is kept
        form.extra = {k: v for k, v in before.items() if k not in FORM_KEYS}
    keys = {p.channel_key: p.workspace_key or "" for p in ed.platforms if p.channel_key}
    after = team_entry(form, doc, keys)
    doc["teams"] = [after if t is before else t for t in teams]
    if creating:
        doc["teams"].append(after)
    action = "create" if creating else "edit"
    return await _commit(ed, doc, action, f"team:{tid}", _diff(before, after))


async def deactivate_team(ed: Edit, tid: str) -> OrgChange:
    doc = await _turn(ed)
    before = next((t for t in doc["teams"] if t.get("id") == tid), None)
    if before is None:
        raise Invalid([Where(("team", tid), "", "", code="no_team", args=(tid,))])
    doc["teams"] = [t for t in doc["teams"] if t is not before]
    return await _commit(ed, doc, "deactivate", f"team:{tid}", _diff(before, None))


@dataclass
class PersonForm:
    id: str = ""
    name: str = ""
    email: str = ""
    language: str = ""  # "" none: the platform's, else the organisation's (issue 17)


async def save_person(ed: Edit, form: PersonForm, creating: bool) -> OrgChange:
    doc = await _turn(ed)
    pid = form.id.strip()
    people: list[Doc] = doc["people"]
    before = next((p for p in people if p.get("id") == pid), None)
    if creating and (before is not None or await ed.session.get(Person, pid) is not None):
        raise Invalid([Where(("person", pid, "id"), "", "", code="person_exists", args=(pid,))])
    if not creating and before is None:
        raise Invalid([Where(("person", pid), "", "", code="no_person", args=(pid,))])
    after: Doc = {
        **(before or {}),
        "id": pid,
        "name": form.name.strip(),
        "email": form.email.strip() or None,
        "language": form.language.strip() or None,
    }
    doc["people"] = [after if p is before else p for p in people]
    if creating:
        doc["people"].append(after)
    action = "create" if creating else "edit"
    return await _commit(ed, doc, action, f"person:{pid}", _diff(before, after))


async def deactivate_person(ed: Edit, pid: str) -> OrgChange:
    """The person leaves: off every team and the admins (the validator says if a team would be
    left without its lead)."""
    doc = await _turn(ed)
    before = next((p for p in doc["people"] if p.get("id") == pid), None)
    if before is None:
        raise Invalid([Where(("person", pid), "", "", code="no_person", args=(pid,))])
    doc["people"] = [p for p in doc["people"] if p is not before]
    for t in doc["teams"]:
        t["members"] = [m for m in t["members"] if m["person"] != pid]
    if "admins" in doc:
        doc["admins"] = [a for a in doc["admins"] if a != pid]
    return await _commit(ed, doc, "deactivate", f"person:{pid}", _diff(before, None))


async def save_calendar(ed: Edit, weekends: str, holidays: str) -> OrgChange:
    doc = await _turn(ed)
    before = dict(doc["calendar"])
    days: list[Any] = []
    for raw in holidays.replace(",", "\n").splitlines():
        text = raw.strip()
        if text:
            days.append(_date(text))
    doc["calendar"] = {"weekends": weekends.strip() or "pause", "holidays": days}
    after = {**doc["calendar"], "holidays": [str(d) for d in days]}
    return await _commit(ed, doc, "edit", "calendar", _diff(before, after))


def _date(text: str) -> Any:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text  # the validator says "'...' is not a date"


async def _commit(
    ed: Edit, doc: Doc, action: str, entity: str, changes: list[list[Any]]
) -> OrgChange:
    spec = validate(doc, ed.platforms)
    await apply_org(ed.session, spec)
    return await record(ed.session, ed.at, ed.actor, action, entity, changes)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _diff(before: Doc | None, after: Doc | None) -> list[list[Any]]:
    """[field, before, after] for each field that differs; members one by one."""
    b, a = dict(before or {}), dict(after or {})
    b_members = {m["person"]: m.get("role", "member") for m in b.pop("members", [])}
    a_members = {m["person"]: m.get("role", "member") for m in a.pop("members", [])}
    out = [
        [k, _text(b.get(k)), _text(a.get(k))]
        for k in [*b, *(k for k in a if k not in b)]
        if _text(b.get(k)) != _text(a.get(k))
    ]
    for pid in [*b_members, *(p for p in a_members if p not in b_members)]:
        if b_members.get(pid) != a_members.get(pid):
            out.append([f"member {pid}", b_members.get(pid) or "", a_members.get(pid) or ""])
    return out
