"""The organisation file: people, linked teams, roles, schedules. Parsed and validated here.

Every error names the file, the line and the fix. `load_org(path)` returns an OrgSpec or
raises OrgFileError carrying every problem found (not just the first).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot import i18n
from bot.domain import MAX_CHAIN_LEVELS, Role
from bot.i18n import N_, _
from bot.platform_info import PlatformInfo
from bot.schedule import CronError, parse_cron
from bot.yamlload import Lined, YamlLimitError, load

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_DIGEST = "0 8 * * mon"


# The keys a person and a team may have (besides each platform's person keys): anything else
# is a misspelling, refused with the closest of these.
PERSON_KEYS = {"id", "name", "email", "language", "timezone"}
TEAM_KEYS = {"id", "name", "level", "parent", "response_days", "timezone", "channels"}
TEAM_KEYS |= {"meeting", "digest", "recognition", "progress", "follow_up_weeks", "measures"}
TEAM_KEYS |= {"nudges", "members", "language", "revisit_weeks"}
TEAM_EXTRA = ("recognition", "progress", "follow_up_weeks", "revisit_weeks", "measures", "nudges")


@dataclass(frozen=True)
class IdSpec:
    """A platform id from the org file: which platform, under which key, how preferred, and
    in which of the organisation's workspaces (or tenants) it lives."""

    platform: str
    key: str  # the org-file key (a person's `slack:`, a team's `channels: {teams: ...}`)
    rank: int  # 0: the platform's preferred key
    value: str
    scope: str = ""  # the workspace's id on the platform (WorkspaceSpec.value); "": none


@dataclass(frozen=True)
class WorkspaceSpec:
    """One of the organisation's own workspaces or tenants on a platform (`workspaces:`)."""

    id: str  # its name in the org file
    platform: str
    value: str  # its id on the platform (a Slack team id, a Microsoft 365 tenant id)


@dataclass(frozen=True)
class PersonSpec:
    id: str
    name: str
    email: str | None = None
    language: str | None = None  # None: the platform's locale, else the organisation's
    ids: tuple[IdSpec, ...] = ()  # user ids on the platforms, by the platforms' own keys


@dataclass(frozen=True)
class MemberSpec:
    person: str
    role: str = "member"


@dataclass(frozen=True)
class TeamSpec:
    id: str
    name: str
    level: str
    parent: str | None
    response_days: int
    timezone: str
    channels: tuple[IdSpec, ...]  # the team's channel on each platform
    meeting_schedule: str | None
    agenda_before_minutes: int
    digest_schedule: str
    members: tuple[MemberSpec, ...]
    extra: dict[str, Any] = field(default_factory=dict)
    language: str | None = None  # its channel's language; None: the organisation's


@dataclass(frozen=True)
class CalendarSpec:
    weekends_pause: bool = True
    holidays: tuple[date, ...] = ()


@dataclass(frozen=True)
class OrgSpec:
    organization: str
    timezone: str
    calendar: CalendarSpec
    people: tuple[PersonSpec, ...]
    teams: tuple[TeamSpec, ...]
    settings: dict[str, Any] = field(default_factory=dict)
    workspaces: tuple[WorkspaceSpec, ...] = ()
    admins: tuple[str, ...] = ()  # person ids: implementation specialists who set Looplink up
    language: str = "en"  # the organisation's language (docs/translating.md)


# What an id belongs to, as the messages say it (translated where the message is built).
KIND_NAMES = {
    "person": N_("person"),
    "team": N_("team"),
    "workspace": N_("workspace"),
    "user": N_("user"),
    "channel": N_("channel"),
}


def line_ref(line: int) -> str:
    """ "line 12" in the reader's language: the admin console (bot/org_doc.py) finds it in a
    message and names the place instead."""
    return _("line %(line)s", line=line)


@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    fix: str


class OrgFileError(Exception):
    """The org file cannot be used. `str(err)` is a readable, line-numbered list of problems."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{self.path}:{p.line}: {p.message}. Fix: {p.fix}" for p in self.problems]
        return "\n".join(lines)


_Lined = Lined

MAX_FILE_BYTES = 16 * 1024 * 1024  # a 5,000-team organisation is about 2 MiB


def _line(obj: Any, key: str | None = None, default: int = 1) -> int:
    if isinstance(obj, _Lined):
        if key is not None and key in obj.key_lines:
            return obj.key_lines[key]
        return obj.line
    return default


def _with(entry: _Lined, key: str, value: Any) -> _Lined:
    """A copy of `entry` with `key` set to `value` (same lines)."""
    out = _Lined({**entry, key: value})
    out.line = entry.line
    out.key_lines = entry.key_lines
    return out


def _too_big(path: str, size: int) -> OrgFileError:
    return OrgFileError(
        path,
        [
            Problem(
                1,
                f"the file is {size:,} bytes, more than the {MAX_FILE_BYTES:,} an org file may be",
                "split out what is not the organisation, or check that this is the right file",
            )
        ],
    )


def load_org(path: str | Path, platforms: Sequence[PlatformInfo]) -> OrgSpec:
    """The org file at `path`; `platforms` declare the keys of their ids (bot/platforms.py)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _too_big(str(p), size)
        with p.open(encoding="utf-8") as f:
            text = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise OrgFileError(
            str(p), [Problem(1, f"cannot read the file ({e.strerror})", "check the path")]
        ) from e
    except UnicodeDecodeError as e:
        raise OrgFileError(
            str(p), [Problem(1, "the file is not UTF-8 text", "save it as UTF-8")]
        ) from e
    return parse_org(text, platforms, str(p))


def parse_org(text: str, platforms: Sequence[PlatformInfo], path: str = "<org file>") -> OrgSpec:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise _too_big(path, size)
    try:
        data = load(text)
    except YamlLimitError as e:
        raise OrgFileError(path, [Problem(e.line, e.message, e.fix)]) from e
    except yaml.MarkedYAMLError as e:
        line = (e.problem_mark.line + 1) if e.problem_mark else 1
        raise OrgFileError(
            path,
            [
                Problem(
                    line, f"this is not valid YAML ({e.problem})", "fix the indentation or quoting"
                )
            ],
        ) from e
    except yaml.YAMLError as e:
        raise OrgFileError(
            path, [Problem(1, f"this is not valid YAML ({e})", "fix the YAML")]
        ) from e
    return validate_data(data, platforms, path)


def validate_data(data: Any, platforms: Sequence[PlatformInfo], path: str) -> OrgSpec:
    """An org document already read (mappings as `Lined`, e.g. the admin console's, see
    bot/org_doc.py): the same checks and messages as a file."""
    return _Validator(path, platforms).validate(data)


class _Validator:
    def __init__(self, path: str, platforms: Sequence[PlatformInfo]) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self._crons: dict[tuple[str, str], str | None] = {}  # (cron, tz) -> error, if any
        self.person_keys = {
            key: (p.name, rank) for p in platforms for rank, key in enumerate(p.person_keys)
        }
        self.channel_keys = {p.channel_key: p.name for p in platforms if p.channel_key}
        self.infos = {p.name: p for p in platforms}
        self.workspace_keys = {p.workspace_key: p for p in platforms if p.workspace_key}
        self.workspaces: dict[str, WorkspaceSpec] = {}  # by their id in the file
        # (owner kind, platform, workspace, id) -> (owner, line): an identity is one owner's
        self._owners: dict[tuple[str, str, str, str], tuple[str, int]] = {}

    def bad(self, line: int, message: str, fix: str) -> None:
        self.problems.append(Problem(line, message, fix))

    def only(self, obj: _Lined, known: set[str], where: str) -> None:
        """Refuse keys this mapping does not have (a misspelt key would silently do
        nothing): each with its line and the closest known key."""
        for key in obj:
            if str(key) in known:
                continue
            close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else ""
            self.bad(
                _line(obj, str(key)),
                f"unknown key '{key}'{where}" + (f" ({hint})" if hint else ""),
                f"{hint} Known keys: {', '.join(sorted(known))}".strip(),
            )

    def text(self, obj: _Lined, key: str, required: bool = False, max_len: int = 200) -> str | None:
        value = obj.get(key)
        if value is None or value == "":
            if required:
                self.bad(
                    _line(obj, key),
                    _("'%(key)s' is missing", key=key),
                    _("add '%(key)s: ...'", key=key),
                )
            return None
        if not isinstance(value, str | int | float):
            self.bad(
                _line(obj, key),
                _("'%(key)s' must be text", key=key),
                _("write '%(key)s' as a single value", key=key),
            )
            return None
        value = str(value).strip()
        if len(value) > max_len:
            self.bad(
                _line(obj, key),
                _("'%(key)s' is longer than %(max)s characters", key=key, max=max_len),
                _("shorten it"),
            )
        return value

    def validate(self, data: Any) -> OrgSpec:
        if not isinstance(data, _Lined):
            raise OrgFileError(
                self.path,
                [
                    Problem(
                        1,
                        "the file must be a mapping with 'organization', 'people' and 'teams'",
                        "start from examples/org.yaml",
                    )
                ],
            )
        known = {"organization", "timezone", "calendar", "people", "teams", "settings"}
        known.update(("workspaces", "admins", "language"))
        self.only(data, known, "")
        org_name = self.text(data, "organization", required=True) or ""
        tz = self.timezone(data, "timezone", default="UTC")
        language = self.language(data) or i18n.SOURCE
        calendar = self.calendar(data.get("calendar"), _line(data, "calendar"))
        workspaces = self.declared(data.get("workspaces"), _line(data, "workspaces"))
        people = self.people(data.get("people"), _line(data, "people"))
        teams = self.teams(data.get("teams"), _line(data, "teams"), tz, {p.id for p in people})
        admins = self.admins(data.get("admins"), _line(data, "admins"), {p.id for p in people})
        settings = data.get("settings") or {}
        if not isinstance(settings, dict):
            self.bad(
                _line(data, "settings"), "'settings' must be a mapping", "write key: value pairs"
            )
            settings = {}
        if self.problems:
            raise OrgFileError(self.path, self.problems)
        return OrgSpec(
            org_name,
            tz,
            calendar,
            tuple(people),
            tuple(teams),
            dict(settings),
            tuple(workspaces),
            admins,
            language,
        )

    def language(self, obj: _Lined) -> str | None:
        """`language: es`: one Looplink has a catalog for (bot/locale), or None when absent."""
        value = self.text(obj, "language", max_len=35)
        if value is None:
            return None
        lang = i18n.normalize(value)
        if lang is None:
            self.bad(
                _line(obj, "language"),
                _("unknown language '%(value)s'", value=value),
                _(
                    "use one of %(languages)s (docs/translating.md adds a language)",
                    languages=", ".join(i18n.languages()),
                ),
            )
        return lang

    def admins(self, raw: Any, line: int, people: set[str]) -> tuple[str, ...]:
        """`admins:`, the people who may set Looplink up from inside a chat (link a channel to
        a team): a list of person ids from `people`."""
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.bad(line, "'admins' must be a list of person ids", "write admins: [alice, bob]")
            return ()
        out: list[str] = []
        for entry in raw:
            if not isinstance(entry, str | int) or isinstance(entry, bool):
                self.bad(line, "each admin must be a person id", "write admins: [alice, bob]")
                continue
            pid = str(entry).strip()
            if pid not in people:
                self.bad(
                    line,
                    f"unknown person '{pid}' in admins",
                    "add them under 'people' or fix the id",
                )
            elif pid in out:
                self.bad(line, f"'{pid}' is listed twice in admins", "list each admin once")
            else:
                out.append(pid)
        return tuple(out)

    def timezone(self, obj: _Lined, key: str, default: str) -> str:
        name = self.text(obj, key)
        if name is None:
            return default
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.bad(
                _line(obj, key),
                _("unknown timezone '%(name)s'", name=name),
                _("use an IANA name such as America/Chicago"),
            )
            return default
        return name

    def calendar(self, cal: Any, line: int) -> CalendarSpec:
        if cal is None:
            return CalendarSpec()
        if not isinstance(cal, _Lined):
            self.bad(
                line,
                "'calendar' must be a mapping",
                "write 'weekends: pause' and 'holidays: [...]'",
            )
            return CalendarSpec()
        weekends = cal.get("weekends", "pause")
        if weekends not in ("pause", "count"):
            self.bad(
                _line(cal, "weekends"),
                _("weekends must be 'pause' or 'count', not '%(value)s'", value=weekends),
                _("write 'weekends: pause'"),
            )
        holidays: list[date] = []
        raw = cal.get("holidays") or []
        if not isinstance(raw, list):
            self.bad(
                _line(cal, "holidays"),
                _("'holidays' must be a list of dates"),
                _("write holidays: [2026-12-24, 2026-12-25]"),
            )
            raw = []
        for h in raw:
            if isinstance(h, date):
                holidays.append(h)
            else:
                try:
                    holidays.append(date.fromisoformat(str(h)))
                except ValueError:
                    self.bad(
                        _line(cal, "holidays"),
                        _("'%(value)s' is not a date", value=h),
                        _("write dates as YYYY-MM-DD"),
                    )
        return CalendarSpec(weekends != "count", tuple(sorted(set(holidays))))

    def people(self, raw: Any, line: int) -> list[PersonSpec]:
        if not isinstance(raw, list) or not raw:
            self.bad(line, "'people' must be a non-empty list", "list each person with id and name")
            return []
        out: list[PersonSpec] = []
        seen: dict[str, int] = {}
        for entry in raw:
            if not isinstance(entry, _Lined):
                self.bad(line, "each person must be a mapping", "write '- id: ...' and 'name: ...'")
                continue
            pid = self.ident(entry, "person")
            self.only(entry, PERSON_KEYS | set(self.person_keys), f" in person '{pid}'")
            name = self.text(entry, "name", required=True)
            if pid is None or name is None:
                continue
            if pid in seen:
                self.bad(
                    _line(entry, "id"),
                    _(
                        "duplicate person id '%(id)s' (first on %(place)s)",
                        id=pid,
                        place=line_ref(seen[pid]),
                    ),
                    _("give each person a unique id"),
                )
                continue
            seen[pid] = _line(entry, "id")
            lang = self.language(entry)
            out.append(
                PersonSpec(
                    id=pid,
                    name=name,
                    email=self.text(entry, "email", max_len=320),
                    language=lang,
                    ids=self.person_ids(entry),
                )
            )
        return out

    def declared(self, raw: Any, line: int) -> list[WorkspaceSpec]:
        """`workspaces:`, the organisation's own workspaces and tenants: each an `id` and one
        platform key whose value is the workspace's id there."""
        if raw is None:
            return []
        keys = " or ".join(f"'{k}'" for k in self.workspace_keys) or "(none: no platform has them)"
        if not isinstance(raw, list):
            self.bad(
                line,
                "'workspaces' must be a list",
                f"write '- {{id: NAME, KEY: ID}}' with KEY {keys}",
            )
            return []
        out: list[WorkspaceSpec] = []
        values: dict[tuple[str, str], int] = {}
        for entry in raw:
            if not isinstance(entry, _Lined):
                self.bad(line, "each workspace must be a mapping", "write '- {id: NAME, KEY: ID}'")
                continue
            wid = self.ident(entry, "workspace")
            given = [k for k in entry if k != "id"]
            unknown = [k for k in given if k not in self.workspace_keys]
            for k in unknown:
                self.bad(
                    _line(entry, k), f"unknown workspace key '{k}'", f"use 'id' and one of {keys}"
                )
            platforms = [k for k in given if k in self.workspace_keys]
            if len(platforms) != 1:
                if not unknown:
                    self.bad(
                        entry.line,
                        f"workspace '{wid}' must name exactly one platform",
                        f"give it one of {keys} (one entry per workspace or tenant)",
                    )
                continue
            info = self.workspace_keys[platforms[0]]
            value = self.text(entry, platforms[0], required=True, max_len=64)
            if wid is None or value is None:
                continue
            if not re.match(info.workspace_pattern, value):
                self.bad(
                    _line(entry, platforms[0]),
                    f"'{value}' is not a {info.workspace_label} id",
                    f"write its id, e.g. {info.workspace_example or '...'}",
                )
                continue
            if wid in self.workspaces:
                self.bad(
                    _line(entry, "id"),
                    f"duplicate workspace id '{wid}'",
                    "give each workspace a unique id",
                )
                continue
            if (info.name, value) in values:
                self.bad(
                    _line(entry, platforms[0]),
                    f"{info.workspace_label} '{value}' is declared twice (first on line "
                    f"{values[(info.name, value)]})",
                    "declare each workspace once",
                )
                continue
            values[(info.name, value)] = _line(entry, platforms[0])
            spec = WorkspaceSpec(wid, info.name, value)
            self.workspaces[wid] = spec
            out.append(spec)
        return out

    def scoped(
        self, owner: str, what: str, key: str, platform: str, raw: Any, line: int, single: bool
    ) -> list[tuple[str, str]]:
        """(workspace value, id) pairs of one platform key: a plain id lives in the platform's
        only declared workspace; `{WORKSPACE: ID, ...}` names them (`single`: one at most)."""
        info = self.infos[platform]
        mine = [w for w in self.workspaces.values() if w.platform == platform]
        if info.workspace_key is None:
            if isinstance(raw, dict):
                self.bad(
                    line, f"{what} ids on {info.label} are written plain", f"write '{key}: ID'"
                )
                return []
            value = self.text_value(raw, line, what)
            return [("", value)] if value else []
        if not isinstance(raw, dict):
            value = self.text_value(raw, line, what)
            if not value:
                return []
            if len(mine) == 1:
                return [(mine[0].value, value)]
            label = info.workspace_label
            if not mine:
                self.bad(
                    line,
                    f"{owner} has a {info.label} {what} id, but the file declares no {label}",
                    f"declare the organisation's own under 'workspaces:', e.g. "
                    f"'- {{id: main, {info.workspace_key}: {info.workspace_example.split(' ')[0]}}}'",
                )
            else:
                names = ", ".join(w.id for w in mine)
                self.bad(
                    line,
                    f"{owner} has a {info.label} {what} id, but the file declares "
                    f"{len(mine)} of them ({names}): say in which one",
                    f"write {key}: {{{mine[0].id}: {value}}}",
                )
            return []
        out: list[tuple[str, str]] = []
        for name, given in raw.items():
            ws = self.workspaces.get(str(name))
            if ws is None or ws.platform != platform:
                known = ", ".join(w.id for w in mine) or "none is declared"
                self.bad(
                    line,
                    f"{owner}: '{name}' is not a declared {info.workspace_label}",
                    f"use one of the file's {info.workspace_label}s ({known})",
                )
                continue
            value = self.text_value(given, line, what)
            if value:
                out.append((ws.value, value))
        if single and len(out) > 1:
            self.bad(
                line,
                f"{owner} has {len(out)} {info.label} channels",
                f"give one {info.label} channel per team",
            )
            return out[:1]
        return out

    def text_value(self, raw: Any, line: int, what: str) -> str | None:
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str | int) or isinstance(raw, bool):
            self.bad(
                line,
                _("a %(what)s id must be text", what=_(KIND_NAMES.get(what, what))),
                _("write the id as it appears on the platform"),
            )
            return None
        value = str(raw).strip()
        if len(value) > 200:
            self.bad(
                line,
                _("the %(what)s id is longer than 200 characters", what=_(KIND_NAMES[what])),
                _("check the id"),
            )
            return None
        return value

    def owned(self, kind: str, owner: str, spec: IdSpec, line: int) -> bool:
        """Whether this identity (or channel) is not already someone else's in the file."""
        key = (kind, spec.platform, spec.scope, spec.value)
        first = self._owners.get(key)
        if first is not None and first[0] != owner:
            self.bad(
                line,
                _(
                    "%(kind)s '%(owner)s' has the %(platform)s id '%(value)s' of %(kind)s "
                    "'%(first)s' (%(place)s)",
                    kind=_(KIND_NAMES[kind]),
                    owner=owner,
                    platform=self.infos[spec.platform].label,
                    value=spec.value,
                    first=first[0],
                    place=line_ref(first[1]),
                ),
                _("an id belongs to one %(kind)s: fix one of them", kind=_(KIND_NAMES[kind])),
            )
            return False
        self._owners[key] = (owner, line)
        return True

    def person_ids(self, entry: _Lined) -> tuple[IdSpec, ...]:
        out: list[IdSpec] = []
        owner = str(entry.get("id"))
        for key, (platform, rank) in self.person_keys.items():
            if key not in entry:
                continue
            line = _line(entry, key)
            for scope, value in self.scoped(
                f"person '{owner}'", "user", key, platform, entry.get(key), line, single=False
            ):
                spec = IdSpec(platform, key, rank, value, scope)
                if self.owned("person", owner, spec, line):
                    out.append(spec)
        return tuple(out)

    def channels(self, entry: _Lined) -> tuple[IdSpec, ...]:
        channels = entry.get("channels") or {}
        example = ", ".join(f"{k}: ..." for k in self.channel_keys) or "..."
        if not isinstance(channels, dict):
            self.bad(
                _line(entry, "channels"),
                "'channels' must be a mapping",
                f"write channels: {{{example}}}",
            )
            return ()
        out = []
        owner = str(entry.get("id"))
        line = _line(entry, "channels")
        for key, value in channels.items():
            platform = self.channel_keys.get(key)
            if platform is None:
                known = " or ".join(f"'{k}'" for k in self.channel_keys)
                self.bad(
                    line,
                    f"unknown channel platform '{key}'",
                    f"use {known}" if known else "no platform with team channels is set up",
                )
                continue
            for scope, channel in self.scoped(
                f"team '{owner}'", "channel", key, platform, value, line, single=True
            ):
                spec = IdSpec(platform, key, 0, channel, scope)
                if self.owned("team", owner, spec, line):
                    out.append(spec)
        return tuple(out)

    def ident(self, entry: _Lined, what: str) -> str | None:
        value = self.text(entry, "id", required=True)
        if value is not None and not ID_RE.match(value):
            self.bad(
                _line(entry, "id"),
                _(
                    "%(what)s id '%(value)s' has characters we cannot use",
                    what=_(KIND_NAMES.get(what, what)),
                    value=value,
                ),
                _("use letters, digits, '-', '_' or '.'"),
            )
            return None
        return value

    def teams(self, raw: Any, line: int, org_tz: str, people: set[str]) -> list[TeamSpec]:
        if not isinstance(raw, list) or not raw:
            self.bad(
                line,
                "'teams' must be a non-empty list",
                "list each team with id, name, level and members",
            )
            return []
        out: list[TeamSpec] = []
        lines: dict[str, int] = {}
        for entry in raw:
            if not isinstance(entry, _Lined):
                self.bad(line, "each team must be a mapping", "write '- id: ...' and 'name: ...'")
                continue
            spec = self.team(entry, org_tz, people)
            if spec is None:
                continue
            if spec.id in lines:
                self.bad(
                    _line(entry, "id"),
                    _(
                        "duplicate team id '%(id)s' (first on %(place)s)",
                        id=spec.id,
                        place=line_ref(lines[spec.id]),
                    ),
                    _("give each team a unique id"),
                )
                continue
            lines[spec.id] = _line(entry, "id")
            out.append(spec)
        self.links(out, raw, lines)
        return out

    def team(self, entry: _Lined, org_tz: str, people: set[str]) -> TeamSpec | None:
        tid = self.ident(entry, "team")
        self.only(entry, TEAM_KEYS, f" in team '{tid}'")
        name = self.text(entry, "name", required=True)
        level = self.text(entry, "level") or "building"
        days = entry.get("response_days", 5)
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 90:
            self.bad(
                _line(entry, "response_days"),
                _(
                    "response_days must be a whole number of working days from 1 to 90, "
                    "not '%(value)s'",
                    value=days,
                ),
                _("write e.g. 'response_days: 5'"),
            )
            days = 5
        tz = self.timezone(entry, "timezone", default=org_tz)
        channels = self.channels(entry)
        meeting = self.schedule_block(entry, "meeting", tz)
        digest = self.schedule_block(entry, "digest", tz)
        before = 120
        if meeting is not None:
            self.only(meeting, {"schedule", "agenda_before_minutes"}, f" in team '{tid}' meeting")
            before = meeting.get("agenda_before_minutes", 120)
            if not isinstance(before, int) or isinstance(before, bool) or not 0 <= before <= 10080:
                self.bad(
                    _line(meeting, "agenda_before_minutes"),
                    _("agenda_before_minutes must be minutes from 0 to 10080"),
                    _("write e.g. 'agenda_before_minutes: 120'"),
                )
                before = 120
        for key in ("recognition", "progress"):
            self.optional_schedule(entry, key, tz)
        members = self.members(entry, people)
        if tid is None or name is None:
            return None
        extra = {k: v for k, v in entry.items() if k in TEAM_EXTRA}
        return TeamSpec(
            id=tid,
            name=name,
            level=level,
            parent=self.text(entry, "parent"),
            response_days=days,
            timezone=tz,
            channels=channels,
            meeting_schedule=meeting.get("schedule") if meeting else None,
            agenda_before_minutes=before,
            digest_schedule=(digest.get("schedule") if digest else None) or DEFAULT_DIGEST,
            members=tuple(members),
            extra=extra,
            language=self.language(entry),
        )

    def schedule_block(self, entry: _Lined, key: str, tz: str) -> _Lined | None:
        block = entry.get(key)
        if block is None:
            return None
        if not isinstance(block, _Lined):
            self.bad(
                _line(entry, key),
                f"'{key}' must be a mapping",
                f'write {key}: {{schedule: "0 15 * * tue"}}',
            )
            return None
        cron = block.get("schedule")
        if cron is None:
            if key == "meeting":
                self.bad(
                    _line(block, key),
                    _("'meeting' needs a 'schedule'"),
                    _('write schedule: "0 15 * * tue" (cron, team timezone)'),
                )
            return block
        seen = (str(cron), tz)
        if seen not in self._crons:  # thousands of teams share a handful of schedules
            try:
                parse_cron(str(cron), tz)
                self._crons[seen] = None
            except CronError as e:
                self._crons[seen] = str(e)
        error = self._crons[seen]
        if error is not None:
            self.bad(
                _line(block, "schedule"),
                _("bad cron '%(cron)s' (%(error)s)", cron=cron, error=error),
                _('use five fields: minute hour day month weekday, e.g. "0 15 * * tue"'),
            )
        return block

    def optional_schedule(self, entry: _Lined, key: str, tz: str) -> None:
        """A team's `recognition` or `progress`: `off`, a cron, or {schedule: CRON}."""
        value = entry.get(key)
        if value is None or value is False or isinstance(value, _Lined):
            if isinstance(value, _Lined) and value.get("schedule") is not None:
                self.schedule_block(entry, key, tz)
            return
        if isinstance(value, str) and value.lower() in ("off", "no", "false"):
            return
        wrapped = _Lined({"schedule": value})
        wrapped.line = _line(entry, key)
        wrapped.key_lines = {"schedule": wrapped.line}
        self.schedule_block(_with(entry, key, wrapped), key, tz)

    def members(self, entry: _Lined, people: set[str]) -> list[MemberSpec]:
        raw = entry.get("members")
        line = _line(entry, "members")
        if not isinstance(raw, list) or not raw:
            self.bad(
                line,
                _("team '%(id)s' has no members", id=entry.get("id")),
                _("add members with at least one 'role: lead'"),
            )
            return []
        roles = {r.value for r in Role}
        out: list[MemberSpec] = []
        seen: set[str] = set()
        for m in raw:
            if isinstance(m, str):
                m_person, m_role, m_line = m, "member", line
            elif isinstance(m, _Lined):
                self.only(m, {"person", "role"}, f" in a member of team '{entry.get('id')}'")
                m_person, m_role, m_line = (
                    str(m.get("person", "")),
                    str(m.get("role", "member")),
                    m.line,
                )
            else:
                self.bad(
                    line,
                    _("each member must be {person: ID, role: ROLE}"),
                    _("write '- {person: alice, role: lead}'"),
                )
                continue
            if m_person not in people:
                self.bad(
                    m_line,
                    _(
                        "unknown person '%(person)s' in members of team '%(id)s'",
                        person=m_person,
                        id=entry.get("id"),
                    ),
                    _("add them under 'people' or fix the id"),
                )
                continue
            if m_role not in roles:
                self.bad(
                    m_line,
                    _("unknown role '%(role)s'", role=m_role),
                    _("use one of %(roles)s", roles=", ".join(sorted(roles))),
                )
                continue
            if m_person in seen:
                self.bad(
                    m_line,
                    _(
                        "'%(person)s' is listed twice in team '%(id)s'",
                        person=m_person,
                        id=entry.get("id"),
                    ),
                    _("list each member once"),
                )
                continue
            seen.add(m_person)
            out.append(MemberSpec(m_person, m_role))
        if out and not any(m.role == Role.LEAD for m in out):
            self.bad(
                line,
                _("team '%(id)s' has no lead", id=entry.get("id")),
                _("give one member 'role: lead'"),
            )
        return out

    def links(self, teams: list[TeamSpec], raw: list[Any], lines: dict[str, int]) -> None:  # noqa: C901 - one pass by design (linear)
        """Unknown parents, cycles and chains too long, in one pass over the teams.

        Each team's number of levels (itself and every team above) is computed once, walking
        up only until a team whose count is known, so the whole check is linear in the number
        of teams however the links are shaped.
        """
        by_id = {t.id: t for t in teams}
        parent_lines = {str(e.get("id")): _line(e, "parent") for e in raw if isinstance(e, _Lined)}

        def where(tid: str) -> int:
            return parent_lines.get(tid, lines[tid])

        for t in teams:
            if t.parent is not None and t.parent not in by_id:
                self.bad(
                    where(t.id),
                    _("team '%(id)s' has unknown parent '%(parent)s'", id=t.id, parent=t.parent),
                    _("use the id of a team in this file, or omit 'parent' for the top team"),
                )
            if t.parent == t.id:
                self.bad(
                    where(t.id),
                    _("team '%(id)s' is its own parent", id=t.id),
                    _("link it to the team above it"),
                )
        levels: dict[str, int] = {}  # team -> its level, the top team being 1; 0 in a cycle
        too_deep: list[str] = []
        for t in teams:
            if t.id in levels:
                continue
            path: list[str] = []
            on_path: dict[str, int] = {}
            cur: str | None = t.id
            while cur is not None and cur in by_id and cur not in levels and cur not in on_path:
                on_path[cur] = len(path)
                path.append(cur)
                cur = by_id[cur].parent
            if cur is not None and cur in on_path:  # the walk came back to itself: a cycle
                cycle = path[on_path[cur] :]
                if len(cycle) > 1:
                    chain = " -> ".join([*cycle, cur])
                    self.bad(
                        where(cur),
                        _("the team links form a cycle (%(chain)s)", chain=chain),
                        _("remove one 'parent' so the chain ends at a top team"),
                    )
                for tid in cycle:
                    levels[tid] = 0
                path = path[: on_path[cur]]
                above = 0  # teams below a cycle count from it (the cycle is reported)
            elif cur is not None and cur in levels:
                above = levels[cur]
            else:
                above = 0  # reached a top team (or an unknown parent, reported above)
            for tid in reversed(path):
                above += 1
                levels[tid] = above
                if above == MAX_CHAIN_LEVELS + 1:
                    too_deep.append(tid)
        for tid in too_deep:
            self.bad(
                where(tid),
                _(
                    "team '%(id)s' is level %(level)s of its chain (its top team is level 1); "
                    "a chain of linked teams may have at most %(max)s levels",
                    id=tid,
                    level=MAX_CHAIN_LEVELS + 1,
                    max=MAX_CHAIN_LEVELS,
                ),
                _("link it to a team higher up, so that no chain is that long"),
            )
