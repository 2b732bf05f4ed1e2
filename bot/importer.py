"""Import an existing barrier log (CSV or XLSX) as history, so an organisation starts with its
past reports and their clusters.

    plan = read_log(path)              # columns mapped by header, every row checked
    plan.problems                      # (row number, what is wrong) for each unreadable row
    await import_log(s, plan, team, now)   # one transaction: all readable rows, or nothing

Columns are matched by their header, in English or Spanish and forgiving of case, accents and
punctuation ("What is getting in the way?", "Barrier", "Descripción" all mean the summary).
Only the summary is required. Imported items are history: no card is posted and nobody is
messaged; they are indexed for similarity like any report.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AuditEvent, Hop, Item, Person, Team
from bot.directory import Directory
from bot.domain import (
    DRIVER_LABELS,
    MAX_TEXT,
    STAGE_LABELS,
    Affected,
    Driver,
    Kind,
    Role,
    State,
    Urgency,
)
from bot.similar import store
from bot.similar.text import fold

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000

# field -> header words that mean it (folded, punctuation removed)
HEADERS: dict[str, tuple[str, ...]] = {
    "summary": ("summary", "barrier", "barriers", "description", "issue", "problem", "title",
                "what is getting in the way", "what happened", "report", "success",
                "resumen", "barrera", "descripcion", "problema", "asunto"),
    "details": ("details", "detail", "where when how often", "context", "notes", "where",
                "detalles", "contexto", "notas"),
    "kind": ("kind", "type", "barrier or success", "tipo"),
    "driver": ("driver", "implementation driver", "category", "driver category", "impulsor",
               "categoria"),
    "stage": ("stage", "stage of implementation", "implementation stage", "etapa"),
    "affected": ("affected", "who is affected", "who", "afectados"),
    "subgroup": ("subgroup", "group", "equity group", "subgrupo"),
    "tried": ("tried", "what was tried", "actions taken", "tried so far", "intentado"),
    "suggestion": ("suggestion", "suggested fix", "what might help", "recommendation",
                   "sugerencia", "recomendacion"),
    "urgency": ("urgency", "priority", "urgencia", "prioridad"),
    "state": ("state", "status", "estado"),
    "created_at": ("date", "reported", "reported on", "created", "created at", "date reported",
                   "opened", "fecha", "fecha de reporte"),
    "closed_at": ("closed", "closed at", "closed on", "date closed", "resolved on",
                  "date resolved", "fecha de cierre"),
    "response": ("response", "resolution", "decision", "outcome notes", "respuesta",
                 "resolucion"),
    "reporter": ("reporter", "reported by", "name", "email", "reportado por", "nombre"),
    "anonymous": ("anonymous", "anonimo"),
}  # fmt: skip

STATES = {
    State.NEW: ("new", "open", "nuevo", "abierto", "pending", ""),
    State.ACKNOWLEDGED: ("acknowledged", "in progress", "working on it", "en proceso", "ongoing"),
    State.RESOLVED: ("resolved", "closed", "done", "fixed", "resuelto", "cerrado", "complete"),
    State.DECLINED: ("declined", "rejected", "wont fix", "not possible", "rechazado"),
}
YES = {"yes", "y", "true", "1", "x", "si"}
NO = {"no", "n", "false", "0", ""}


class UnreadableLog(Exception):
    """The file cannot be imported at all (unknown type, no summary column, too large)."""


@dataclass
class Row:
    number: int  # the spreadsheet row number (the header is row 1 when it comes first)
    values: dict[str, Any]


@dataclass
class Plan:
    path: str
    columns: dict[str, str]  # field -> the header it was read from
    ignored: list[str]  # headers not used
    rows: list[Row] = field(default_factory=list)  # readable rows
    problems: list[tuple[int, str]] = field(default_factory=list)  # unreadable rows


def _key(header: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(header)))


def map_headers(headers: list[str]) -> tuple[dict[str, int], list[str]]:
    """field -> column index, and the headers left unused. First match wins."""
    found: dict[str, int] = {}
    ignored: list[str] = []
    for i, h in enumerate(headers):
        key = _key(h or "")
        field_ = next((f for f, names in HEADERS.items() if key in names), None)
        if field_ is not None and field_ not in found:
            found[field_] = i
        elif (h or "").strip():
            ignored.append(h.strip())
    return found, ignored


def _cells(path: Path) -> Iterator[list[Any]]:
    suffix = path.suffix.lower()
    if path.stat().st_size > MAX_BYTES:
        raise UnreadableLog(f"{path.name} is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if suffix == ".csv":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")  # Excel's CSV on Windows
        text = text.replace("\x00", "")
        try:
            dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        yield from csv.reader(io.StringIO(text), dialect)
        return
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook  # only needed here

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as e:
            raise UnreadableLog(f"{path.name} is not a readable Excel workbook ({e}).") from e
        try:
            sheet = wb.worksheets[0]
            for row in sheet.iter_rows(values_only=True):
                yield list(row)
        finally:
            wb.close()
        return
    raise UnreadableLog(f"{path.name}: only .csv and .xlsx files can be imported.")


def read_log(path: str | Path) -> Plan:
    """Read and check every row; raises UnreadableLog when the file as a whole is unusable."""
    p = Path(path)
    if not p.is_file():
        raise UnreadableLog(f"There is no file {p}.")
    cells = _cells(p)
    header: list[str] | None = None
    number = 0
    plan: Plan | None = None
    index: dict[str, int] = {}
    for row in cells:
        number += 1
        if number > MAX_ROWS + 1:
            raise UnreadableLog(f"{p.name} has more than {MAX_ROWS} rows; split it.")
        values = ["" if v is None else v for v in row]
        if header is None:
            if not any(str(v).strip() for v in values):
                continue
            header = [str(v).strip() for v in values]
            index, ignored = map_headers(header)
            if "summary" not in index:
                raise UnreadableLog(
                    f"{p.name}: no column for the summary (what is getting in the way). "
                    f"Name one of the columns 'Summary', 'Barrier' or 'Description'. "
                    f"Columns found: {', '.join(h for h in header if h) or 'none'}."
                )
            plan = Plan(str(p), {f: header[i] for f, i in index.items()}, ignored)
            continue
        if not any(str(v).strip() for v in values):
            continue
        assert plan is not None
        got = {f: values[i] if i < len(values) else "" for f, i in index.items()}
        try:
            plan.rows.append(Row(number, parse_row(got)))
        except ValueError as e:
            plan.problems.append((number, str(e)))
    if plan is None:
        raise UnreadableLog(f"{p.name} is empty.")
    return plan


def _text(value: Any, name: str) -> str:
    out = str(value).replace("\x00", "").strip() if value is not None else ""
    if len(out) > MAX_TEXT:
        raise ValueError(f"{name} is {len(out)} characters long (at most {MAX_TEXT})")
    return out


def _choice(value: Any, labels: dict[Any, str], what: str) -> str:
    raw = _key(str(value or ""))
    if not raw:
        return ""
    for enum_value, label in labels.items():
        if raw in (_key(str(enum_value.value)), _key(label)):
            return str(enum_value.value)
    allowed = ", ".join(labels.values())
    raise ValueError(f"{what} '{value}' is not one of: {allowed}")


def _when(value: Any, what: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(12), tzinfo=UTC)
    raw = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y", "%m/%d/%y"):
        try:
            parsed = datetime.strptime(raw, fmt)
        except ValueError:
            continue
        if fmt.startswith("%m"):
            return parsed.replace(hour=12, tzinfo=UTC)
        return parsed.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as e:
        raise ValueError(f"{what} '{raw}' is not a date (use 2026-09-14 or 9/14/2026)") from e
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_row(got: dict[str, Any]) -> dict[str, Any]:
    summary = _text(got.get("summary"), "the summary")
    if not summary:
        raise ValueError("the summary is empty")
    state_raw = _key(str(got.get("state") or ""))
    state = next((s.value for s, names in STATES.items() if state_raw in names), None)
    if state is None:
        raise ValueError(
            f"status '{got.get('state')}' is not open, acknowledged, resolved or declined"
        )
    kind_raw = _key(str(got.get("kind") or "barrier"))
    kind = {"barrier": Kind.BARRIER, "barrera": Kind.BARRIER, "success": Kind.SUCCESS,
            "exito": Kind.SUCCESS, "": Kind.BARRIER}.get(kind_raw)  # fmt: skip
    if kind is None:
        raise ValueError(f"type '{got.get('kind')}' is neither barrier nor success")
    affected = []
    for a in re.split(r"[,;/]", str(got.get("affected") or "")):
        if a.strip():
            affected.append(_choice(a, {x: x.value for x in Affected}, "who is affected"))
    anon_raw = _key(str(got.get("anonymous") or ""))
    if anon_raw not in YES | NO:
        raise ValueError(f"anonymous '{got.get('anonymous')}' should be yes or no")
    created = _when(got.get("created_at"), "the date reported")
    closed = _when(got.get("closed_at"), "the date closed")
    if created and closed and closed < created:
        raise ValueError("it was closed before it was reported")
    return {
        "summary": summary,
        "details": _text(got.get("details"), "the details"),
        "kind": kind.value,
        "driver": _choice(got.get("driver"), DRIVER_LABELS, "driver") or Driver.OTHER.value,
        "stage": _choice(got.get("stage"), STAGE_LABELS, "stage"),
        "affected": affected,
        "subgroup": _text(got.get("subgroup"), "the subgroup"),
        "tried": _text(got.get("tried"), "what was tried"),
        "suggestion": _text(got.get("suggestion"), "the suggestion"),
        "urgency": _choice(got.get("urgency"), {u: u.value for u in Urgency}, "urgency")
        or Urgency.NORMAL.value,
        "state": state,
        "created_at": created,
        "closed_at": closed,
        "response": _text(got.get("response"), "the response"),
        "reporter": _text(got.get("reporter"), "the reporter"),
        "anonymous": anon_raw in YES,
    }


@dataclass
class ImportResult:
    item_ids: list[int]
    unknown_reporters: int  # rows recorded anonymously under the team's lead


async def import_log(s: AsyncSession, plan: Plan, team: Team, now: datetime) -> ImportResult:
    """Create an item (with its first hop, an audit event and its index entry) for each
    readable row of `plan`, reported to `team`. The caller's transaction makes it all or none."""
    d = Directory(s)
    stand_in = await _stand_in(d, team)
    cal = await d.calendar()
    ids: list[int] = []
    unknown = 0
    for row in plan.rows:
        v = row.values
        person = await d.find_person(v["reporter"]) if v["reporter"] else None
        if person is None:
            unknown += 1
        created = v["created_at"] or now
        closed_state = v["state"] in (State.RESOLVED, State.DECLINED)
        closed = (v["closed_at"] or created) if closed_state else None
        due = None
        if v["kind"] == Kind.BARRIER and not closed_state:
            due = cal.due_date(created, team.response_days, team.timezone or "UTC")
        item = Item(
            kind=v["kind"], summary=v["summary"], details=v["details"],
            affected=v["affected"], subgroup=v["subgroup"], driver=v["driver"],
            stage=v["stage"], tried=v["tried"], suggestion=v["suggestion"],
            urgency=v["urgency"], anonymous=v["anonymous"] or person is None,
            reporter_id=(person or stand_in).id, origin_team_id=team.id,
            holding_team_id=team.id, state=v["state"], due_at=due, created_at=created,
            updated_at=closed or created, closed_at=closed,
            closed_by_team_id=team.id if closed_state else None, response=v["response"],
            reporter_told_at=closed, source="import",
        )  # fmt: skip
        s.add(item)
        await s.flush()
        s.add(Hop(item_id=item.id, seq=0, team_id=team.id, arrived_at=created, due_at=due,
                  escalation_note="", told_at=closed))  # fmt: skip
        s.add(
            AuditEvent(
                item_id=item.id, at=now, actor_id=None, action="imported", from_state=None,
                to_state=item.state, team_id=team.id, note=f"{Path(plan.path).name} row {row.number}",
            )
        )  # fmt: skip
        await store.index_item(s, item, now)
        ids.append(item.id)
    return ImportResult(ids, unknown)


async def _stand_in(d: Directory, team: Team) -> Person:
    """Who stands in as reporter of record when the log does not name a known person."""
    members = await d.members(team.id)
    for role in (Role.LEAD, Role.LIAISON):
        for person, r in members:
            if r == role:
                return person
    if members:
        return members[0][0]
    raise UnreadableLog(f"{team.name} has no members; add its lead to the org file first.")
