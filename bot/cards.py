"""The item card: how a barrier or success looks in a team channel, with its decision buttons."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import i18n
from bot.attribution import Shown, shown
from bot.authority import decidable_in
from bot.db.models import AuditEvent, Hop, Item, Person, Team
from bot.directory import Directory
from bot.domain import (
    DRIVER_LABELS,
    LOCUS_LABELS,
    STAGE_LABELS,
    Decision,
    Driver,
    Kind,
    Locus,
    Stage,
    State,
    affected_word,
    urgency_word,
)
from bot.i18n import N_, _
from bot.messages import Button, Message
from bot.similar import store as similar
from bot.texts import texts

# English message ids: translate where shown (`_(STATE_LABELS[...])`).
STATE_LABELS = {
    State.NEW: N_("New — waiting for a decision"),
    State.ACKNOWLEDGED: N_("Acknowledged"),
    State.NEEDS_INFO: N_("Waiting on the reporter"),
    State.ESCALATED: N_("Escalated — waiting for a decision"),
    State.RESOLVED: N_("Resolved"),
    State.DECLINED: N_("Declined"),
    State.MERGED: N_("Merged"),
    State.WITHDRAWN: N_("Withdrawn by the reporter"),
}

DECISION_LABELS = {
    Decision.ACKNOWLEDGE: N_("Acknowledge"),
    Decision.RESOLVE: N_("Resolve here"),
    Decision.ESCALATE: N_("Escalate"),
    Decision.ASK_INFO: N_("Ask reporter"),
    Decision.DECLINE: N_("Decline"),
}


def state_label(state: str) -> str:
    try:
        return _(STATE_LABELS[State(state)])
    except (ValueError, KeyError):
        return state


TITLE_SUMMARY = 120  # the title shows this much of the statement; the text shows all of it


def card_key(item_id: int, team_id: str) -> str:
    return f"item:{item_id}:team:{team_id}"


def practice_fields(item: Item) -> list[tuple[str, str]]:
    """What the reporter said about control (the locus) and how they know (the evidence)."""
    out: list[tuple[str, str]] = []
    if item.locus:
        try:
            out.append((_("Whose control"), _(LOCUS_LABELS[Locus(item.locus)])))
        except ValueError:
            out.append((_("Whose control"), item.locus))
    if item.evidence:
        out.append((_("How they know"), item.evidence))
    return out


def item_fields(item: Item, reporter: Person | None) -> tuple[tuple[str, str], ...]:
    fields: list[tuple[str, str]] = []
    if item.details:
        fields.append((_("Where / when / how often"), item.details))
    if item.affected:
        who = ", ".join(affected_word(str(a)) for a in item.affected)
        sub = f" ({item.subgroup})" if item.subgroup else ""
        fields.append((_("Who is affected"), who + sub))
    try:
        fields.append((_("Driver"), _(DRIVER_LABELS[Driver(item.driver)])))
    except ValueError:
        fields.append((_("Driver"), item.driver))
    if item.stage:
        try:
            fields.append((_("Stage"), _(STAGE_LABELS[Stage(item.stage)])))
        except ValueError:
            fields.append((_("Stage"), item.stage))
    fields += practice_fields(item)
    if item.tried:
        fields.append((_("What was tried"), item.tried))
    if item.suggestion:
        fields.append((_("Suggested fix"), item.suggestion))
    if item.kind == Kind.BARRIER:  # a success has no urgency
        fields.append((_("Urgency"), urgency_word(item.urgency)))
    fields.append(
        (
            _("Reported by"),
            _("Anonymous") if item.anonymous or reporter is None else reporter.name,
        )
    )
    if item.response:
        fields.append((_("Response"), item.response))
    reader = i18n.reader().language
    if item.language and i18n.normalize(item.language) != reader:
        # A report stays in the words it was written in; the card says which language.
        fields.append((_("Written in"), i18n.language_name(item.language)))
    return tuple(fields)


async def item_card(
    s: AsyncSession, item: Item, team: Team, now: datetime | None = None
) -> Message:
    """The card for `item` as shown in `team`'s channel (buttons only where that team decides)."""
    d = Directory(s)  # from the directory cache when the session may use it
    origin = await d.team(item.origin_team_id)
    holding = await d.team(item.holding_team_id)
    reporter = None if item.anonymous else await d.person(item.reporter_id)
    last = (
        await s.scalars(
            select(AuditEvent)
            .where(AuditEvent.item_id == item.id)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
    ).first()
    last_actor = ""
    by_reporter = False
    if last is not None:
        how = shown(item.anonymous, last.action, last.actor_id)
        by_reporter = how is Shown.REPORTER
        if how is Shown.LOOPLINK:
            last_actor = "Looplink"
        elif how is Shown.PERSON and last.actor_id:
            actor = await d.person(last.actor_id)
            last_actor = actor.name if actor else last.actor_id
    path = await escalation_path(s, item)
    t = texts()
    title = t.render("item_title", item=item)
    text = t.render(
        "item_card",
        item=item,
        origin=origin,
        holding=holding,
        path=path,
        whole=len(item.summary) > TITLE_SUMMARY,
        tz=team.timezone,
    )
    footer = t.render(
        "item_footer",
        item=item,
        last=last,
        last_actor=last_actor,
        by_reporter=by_reporter,
        holding=holding,
        tz=team.timezone,
    )
    buttons: tuple[Button, ...] = ()
    decides_here = decidable_in(item, team)
    if decides_here:
        buttons = decision_buttons(item, has_parent=team.parent_id is not None)
    expand = Button(t.render("card_words", which="show_full"), "full_report", str(item.id))
    rel = await similar.related(s, item, now or datetime.now(UTC))
    extra, similar_buttons = await related_fields(s, item, rel, decides_here)
    return Message(
        title=title,
        text=text,
        fields=item_fields(item, reporter) + extra,
        buttons=buttons + similar_buttons,
        footer=footer,
        expand=expand,
    )


async def escalation_path(s: AsyncSession, item: Item) -> list[dict[str, object]]:
    """Every level the item was sent up from, in order: the team, the team above, the
    reason it gave, who sent it and when (the decider of an escalation is always shown)."""
    hops = (await s.scalars(select(Hop).where(Hop.item_id == item.id).order_by(Hop.seq))).all()
    sent = (
        await s.scalars(
            select(AuditEvent)
            .where(AuditEvent.item_id == item.id, AuditEvent.action == "escalate")
            .order_by(AuditEvent.id)
        )
    ).all()
    path: list[dict[str, object]] = []
    for i, (hop, above) in enumerate(zip(hops, hops[1:], strict=False)):
        by = sent[i] if i < len(sent) else None
        who = await s.get(Person, by.actor_id) if by is not None and by.actor_id else None
        team, up = await s.get(Team, hop.team_id), await s.get(Team, above.team_id)
        path.append(
            {
                "team": team.name if team else hop.team_id,
                "to": up.name if up else above.team_id,
                "note": hop.escalation_note,
                "by": who.name if who else "",
                "at": hop.left_at,
            }
        )
    return path


def full_report(card: Message) -> Message:
    """The whole card as paragraphs (no field a platform would shorten), for reading apart."""
    parts = [card.text, *(f"*{label}*\n{value}" for label, value in card.fields), card.footer]
    return Message(title=card.title, text="\n\n".join(p for p in parts if p))


async def related_fields(
    s: AsyncSession, item: Item, rel: similar.Related, decides_here: bool
) -> tuple[tuple[tuple[str, str], ...], tuple[Button, ...]]:
    """The card's lines about similar and linked items, and (where the item is decided) the
    buttons to merge it into or link it to a similar one. Voices are counted, never named."""
    t = texts()
    teams = {tm.id: tm.name for tm in (await s.scalars(select(Team))).all()}

    def line(other: Item) -> dict[str, object]:
        return {
            "id": other.id,
            "origin": teams.get(other.origin_team_id, other.origin_team_id),
            "holding": teams.get(other.holding_team_id, other.holding_team_id),
            "state": other.state,
        }

    fields: list[tuple[str, str]] = []
    if rel.similar:
        fields.append(
            (
                t.render("similar_words", which="field_similar"),
                t.render("similar_field", items=[line(o) for o in rel.similar]),
            )
        )
    if rel.linked_to:
        fields.append(
            (
                t.render("similar_words", which="field_linked"),
                t.render("similar_field", items=[line(o) for o in rel.linked_to]),
            )
        )
    if rel.joined_by:
        joined = [await s.get(Item, link.item_id) for link in rel.joined_by]
        origins = sorted({teams.get(j.origin_team_id, "") for j in joined if j is not None})
        fields.append(
            (
                t.render("similar_words", which="field_voices"),
                t.render(
                    "similar_voices",
                    people=len({j.reporter_id for j in joined if j is not None}),
                    teams=origins,
                ),
            )
        )
    buttons: list[Button] = []
    if decides_here:
        for other in rel.linked_to[:2]:  # linked: merging is still a choice
            buttons.append(
                Button(
                    t.render("similar_words", which="merge", other=other.id),
                    f"merge_into:{other.id}",
                    str(item.id),
                )
            )
        for other in rel.similar[:2]:
            v = str(item.id)
            buttons.append(
                Button(
                    t.render("similar_words", which="merge", other=other.id),
                    f"merge_into:{other.id}",
                    v,
                )
            )
            buttons.append(
                Button(
                    t.render("similar_words", which="link", other=other.id), f"link:{other.id}", v
                )
            )
    return tuple(fields), tuple(buttons)


def decision_buttons(item: Item, has_parent: bool) -> tuple[Button, ...]:
    if item.kind == Kind.SUCCESS:
        return success_buttons(item, has_parent)
    value = str(item.id)
    out = []
    if item.state in (State.NEW, State.ESCALATED, State.NEEDS_INFO):
        out.append(Button(_(DECISION_LABELS[Decision.ACKNOWLEDGE]), "decide:acknowledge", value))
    out.append(Button(_(DECISION_LABELS[Decision.RESOLVE]), "decide:resolve", value, "primary"))
    if has_parent:
        out.append(Button(_(DECISION_LABELS[Decision.ESCALATE]), "decide:escalate", value))
    out.append(Button(_(DECISION_LABELS[Decision.ASK_INFO]), "decide:ask_info", value))
    out.append(Button(_(DECISION_LABELS[Decision.DECLINE]), "decide:decline", value, "danger"))
    t = texts()
    out.append(Button(t.render("card_words", which="assign"), "decide:assign", value))
    out.append(Button(t.render("card_words", which="merge"), "decide:merge", value))
    return tuple(out)


def success_buttons(item: Item, has_parent: bool) -> tuple[Button, ...]:
    """A success is celebrated (closed here), sent up so it can spread, and its reporter
    thanked: never declined, never asked to justify itself."""
    t = texts()
    value = str(item.id)
    out = [Button(t.render("card_words", which="celebrate"), "decide:resolve", value, "primary")]
    if has_parent:
        out.append(Button(t.render("card_words", which="send_up"), "decide:escalate", value))
    out.append(Button(t.render("card_words", which="thank"), "thank", value))
    return tuple(out)
