"""The loop engine: report, decide, escalate, respond, relay down, follow up, recognise.

One `Loop` works inside one database transaction. It checks authorisation, changes state,
writes the audit log and enqueues every resulting message in the outbox, all atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import assert_never

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import burst, claims, dircache, i18n, limits
from bot.attribution import stored_actor
from bot.authority import Act, Authority
from bot.cards import card_key, item_card
from bot.clock import Clock
from bot.db.models import AuditEvent, Hop, Item, ItemLink, Kudos, Outbox, Person, Team
from bot.decisions import Acknowledge, AskInfo, Assign, Decided, Decline, Escalate, Merge, Resolve
from bot.directory import Directory
from bot.domain import (
    ANONYMITY_MIN_TEAM,
    CLOSED_STATES,
    MAX_TEXT,
    NOTE_REQUIRED,
    OPEN_STATES,
    Affected,
    Decision,
    Driver,
    Kind,
    Locus,
    Outcome,
    Stage,
    State,
    Urgency,
)
from bot.errors import FieldErrors, InvalidInput, InvalidState, NotAllowed, NotFound
from bot.i18n import _
from bot.messages import Button, Message
from bot.outbox import Fanout, enqueue
from bot.similar import store as similar
from bot.texts import texts


@dataclass
class ReportInput:
    summary: str
    details: str = ""
    affected: list[str] = field(default_factory=list)
    subgroup: str = ""
    driver: str = Driver.OTHER.value
    stage: str = ""
    tried: str = ""
    suggestion: str = ""
    urgency: str = Urgency.NORMAL.value
    anonymous: bool = False
    kind: str = Kind.BARRIER.value
    team_id: str | None = None
    locus: str = ""  # Locus: within / outside this team's control, or unsure ("" unsaid)
    evidence: str = ""  # how they know: data, observation, how often

    def validate(self) -> None:
        self.summary = (self.summary or "").strip()
        if not self.summary:
            raise FieldErrors(
                {"summary": _("Please say what is getting in the way (or what worked).")}
            )
        too_long = {
            name: texts().render(
                "field_too_long", field=name, kind=self.kind, length=len(value), limit=MAX_TEXT
            )
            for name in ("summary", "details", "subgroup", "tried", "suggestion", "evidence")
            if len(value := getattr(self, name) or "") > MAX_TEXT
        }
        if too_long:
            raise FieldErrors(too_long)
        for name in ("summary", "details", "subgroup", "tried", "suggestion", "evidence"):
            setattr(self, name, (getattr(self, name) or "").strip())
        _check_enum(Kind, self.kind, _("kind"))
        _check_enum(Driver, self.driver or Driver.OTHER.value, _("implementation driver"))
        self.driver = self.driver or Driver.OTHER.value
        if self.stage:
            _check_enum(Stage, self.stage, _("stage of implementation"))
        _check_enum(Urgency, self.urgency or Urgency.NORMAL.value, _("urgency"))
        self.urgency = self.urgency or Urgency.NORMAL.value
        for a in self.affected:
            _check_enum(Affected, a, _("who is affected"))
        self.locus = (self.locus or "").strip()
        if self.locus:
            _check_enum(Locus, self.locus, _("answer about whose control this is in"))


def _check_enum(enum: type, value: str, what: str) -> None:
    allowed = [e.value for e in enum]  # type: ignore[attr-defined]
    if value not in allowed:
        raise InvalidInput(
            _(
                "'%(value)s' is not a known %(what)s. Choose one of: %(allowed)s.",
                value=value,
                what=what,
                allowed=", ".join(allowed),
            )
        )


def _note(text: str | None) -> str:
    note = (text or "").strip()
    if len(note) > MAX_TEXT:
        raise InvalidInput(
            _(
                "That note is too long (%(n)s characters); please keep it under %(max)s.",
                n=len(note),
                max=MAX_TEXT,
            )
        )
    return note


class Loop:
    def __init__(self, session: AsyncSession, clock: Clock, fanout: Fanout) -> None:
        self.s = session
        self.clock = clock
        self.fanout = fanout
        self.dir = Directory(session)
        self.authority = Authority(self.dir)
        self.found: dict[int, similar.Found] = {}  # similar items of reports made here
        self._answering: set[int] = set()  # items one cluster response is deciding now
        if not event.contains(session.sync_session, "before_flush", claims.guard):
            event.listen(session.sync_session, "before_flush", claims.guard)

    # ---- helpers -------------------------------------------------------------------------

    async def _person(self, person_id: str) -> Person:
        person = await self.dir.person(person_id)
        if person is None or not person.active:
            raise NotAllowed(
                _(
                    "You are not in this organisation's Looplink directory. Ask your implementation specialist to add you."
                )
            )
        return person

    async def item(self, item_id: int | str) -> Item:
        try:
            iid = int(str(item_id).lstrip("#"))
        except ValueError as e:
            raise NotFound(_("'%(text)s' is not an item number.", text=item_id)) from e
        item = await self.s.get(Item, iid)
        if item is None:
            raise NotFound(_("There is no item #%(id)s.", id=iid))
        return item

    async def _audit(
        self,
        item: Item,
        actor: str | None,
        action: str,
        from_state: str | None,
        note: str = "",
        team_id: str | None = None,
    ) -> None:
        self.s.add(
            AuditEvent(
                item_id=item.id,
                at=self.clock.now(),
                actor_id=actor,
                action=action,
                from_state=from_state,
                to_state=item.state,
                team_id=team_id or item.holding_team_id,
                note=note,
            )
        )
        await self.s.flush()

    async def _send(
        self, dest_kind: str, dest_id: str, message: Message | Callable[[], Message], **kw: object
    ) -> None:
        """Queue a message for a team's channel or a person; a builder (a function returning
        the Message) is called in the reader's language and timezone (docs/translating.md)."""
        if callable(message):
            with i18n.speaking(await self.dir.reader(dest_kind, dest_id)):
                message = message()
        await enqueue(self.s, self.fanout, self.clock.now(), dest_kind, dest_id, message, **kw)  # type: ignore[arg-type]

    async def _post_card(self, item: Item, team_id: str) -> None:
        team = await self.dir.team(team_id)
        if team is None:
            return
        with i18n.speaking(await self.dir.team_reader(team)):
            card = await item_card(self.s, item, team, self.clock.now())
        await self._send("team", team_id, card, update_key=card_key(item.id, team_id))

    async def _post_cards(self, item: Item) -> None:
        """Update the item's card in every team it passed."""
        for hop in await self.hops(item):
            await self._post_card(item, hop.team_id)

    async def hops(self, item: Item) -> list[Hop]:
        q = select(Hop).where(Hop.item_id == item.id).order_by(Hop.seq)
        return list((await self.s.scalars(q)).all())

    async def _due(self, team: Team, start: datetime) -> datetime:
        cal = await self.dir.calendar()
        return cal.due_date(start, team.response_days, team.timezone)

    # ---- report --------------------------------------------------------------------------

    async def anonymity_is_weak(self, team_id: str) -> int | None:
        """The team's size when it is too small for anonymity to mean much, else None."""
        size = await self.dir.member_count(team_id)
        return size if size < ANONYMITY_MIN_TEAM else None

    async def reporting_team(self, person_id: str, team_id: str | None = None) -> Team:
        if team_id:
            team = await self.dir.team(team_id)
            if team is None:
                raise NotAllowed("You can only report to a team you belong to.")
            await self.authority.require(person_id, Act.REPORT, team)
            return team
        team = await self.dir.home_team(person_id)
        if team is None:
            raise NotAllowed(
                "You are not on any implementation team yet, so there is no team to send this to. Ask your implementation specialist to add you."
            )
        return team

    async def report(self, reporter_id: str, inp: ReportInput, source: str = "") -> Item:
        """File a report from `reporter_id`; `source` is the platform it came from."""
        inp.validate()
        reporter = await self._person(reporter_id)
        team = await self.reporting_team(reporter_id, inp.team_id)
        now = self.clock.now()
        await limits.check(self.s, reporter_id, limits.REPORTS, now)
        due = await self._due(team, now) if inp.kind == Kind.BARRIER else None
        item = Item(
            kind=inp.kind,
            summary=inp.summary,
            details=inp.details,
            affected=list(inp.affected),
            subgroup=inp.subgroup,
            driver=inp.driver,
            stage=inp.stage,
            tried=inp.tried,
            suggestion=inp.suggestion,
            urgency=inp.urgency,
            anonymous=inp.anonymous,
            locus=inp.locus,
            evidence=inp.evidence,
            reporter_id=reporter_id,
            origin_team_id=team.id,
            holding_team_id=team.id,
            state=State.NEW.value,
            due_at=due,
            created_at=now,
            updated_at=now,
            source=source,
            response="",
            language=await self.dir.person_language(reporter),  # what it is written in
        )
        self.s.add(item)
        await self.s.flush()
        self.found[item.id] = await similar.index_item(self.s, item, now)
        self.s.add(
            Hop(
                item_id=item.id,
                seq=0,
                team_id=team.id,
                arrived_at=now,
                due_at=due,
                escalation_note="",
            )
        )
        await self._audit(
            item,
            stored_actor(inp.anonymous, "reported", reporter_id),
            "reported",
            None,
            team_id=team.id,
        )
        await self._announce(item, team)
        return item

    async def _announce(self, item: Item, team: Team) -> None:
        """A new report's card in its team's channel; within a burst from one person, the
        burst's notice instead (see bot.burst), so others' reports are not held up."""
        grouped = await burst.collapsed(self.s, item)
        reporter = await self.dir.person(item.reporter_id) if grouped else None
        if grouped is None or reporter is None:
            await self._post_card(item, team.id)
            await self._offer_voice(item)  # not within a burst: one offer per report read
            return
        key = burst.notice_key(team.id, reporter.id, burst.window_start(item.created_at))
        await self._send(
            "team",
            team.id,
            lambda: burst.notice(team, reporter, grouped),
            update_key=key,
            replace_pending=True,
        )

    async def show_card(self, person_id: str, item_id: int | str) -> Item:
        """Post the card of a report that a burst notice listed, in its team's channel."""
        item = await self.item(item_id)
        team = await self.dir.team(item.origin_team_id)
        if team is None:
            raise NotFound(_("There is no team for #%(id)s.", id=item.id))
        await self.authority.require(
            person_id,
            Act.SHOW_CARDS,
            team,
            _("Only members of %(team)s can show its cards.", team=team.name),
        )
        await self._post_card(item, team.id)
        return item

    async def _offer_voice(self, item: Item) -> None:
        """Tell the reporter what their report looks like, and offer to add their voice."""
        found = self.found.get(item.id)
        others = [
            m.item
            for m in (found.matches if found else [])
            if m.item.reporter_id != item.reporter_id
        ]
        if not others:
            return  # nothing alike, or only the reporter's own earlier reports
        lines = [await self._similar_line(other) for other in others]

        def offer() -> Message:
            buttons = tuple(
                Button(
                    texts().render("similar_words", which="voice", other=line.id),
                    f"voice:{line.id}",
                    str(item.id),
                    "primary" if k == 0 else "",
                )
                for k, line in enumerate(lines[:2])
            )
            body = texts().render("similar_offer", item=item, matches=lines)
            return Message(text=body, buttons=buttons)

        await self._send("person", item.reporter_id, offer)

    async def _similar_line(self, other: Item) -> SimilarLine:
        teams = await self.dir.all_teams()
        origin, holding = teams.get(other.origin_team_id), teams.get(other.holding_team_id)
        return SimilarLine(
            id=other.id,
            kind=other.kind,
            summary=other.summary,
            state=other.state,
            origin=origin.name if origin else other.origin_team_id,
            holding=holding.name if holding else other.holding_team_id,
        )

    async def thanks_message(self, item: Item) -> Message:
        team = await self.dir.team(item.origin_team_id)
        weak = await self.anonymity_is_weak(item.origin_team_id) if item.anonymous else None
        text = texts().render(
            "report_thanks",
            item=item,
            team=team,
            weak_anonymity=weak is not None,
            min_team=ANONYMITY_MIN_TEAM,
        )
        v, t = str(item.id), texts()
        return Message(
            text=text,
            buttons=(
                Button(_("My reports"), "mine", ""),
                Button(t.render("reporter_words", which="correct", item=item), "correct", v),
                Button(t.render("reporter_words", which="withdraw", item=item), "withdraw", v),
            ),
        )

    # ---- decisions -----------------------------------------------------------------------

    async def require_open(self, item: Item, note: str = "") -> None:
        """Refuse politely (who decided, where it is now) when the item is already closed."""
        if item.state not in OPEN_STATES:
            raise await claims.moved_on(self.s, item, note)

    async def decide(
        self,
        actor_id: str,
        item_id: int | str,
        decision: Decided,
        seen: claims.Seen | None = None,
    ) -> Item:
        """Take `decision` on an item; the actor must be allowed to (see bot.authority).
        `seen`: what the decision form showed; a form for an item that moved on is refused."""
        actor = await self._person(actor_id)
        item = await self.item(item_id)
        text = _note(decision.note)
        await claims.claim(self.s, item, seen, text)  # one decision at a time, on a fresh item
        await self.require_open(item, text)
        if isinstance(decision, Acknowledge) and item.state == State.ACKNOWLEDGED:
            raise await claims.moved_on(self.s, item)  # a button carries no version: two clicks
        holding = await self.dir.team(item.holding_team_id)
        assert holding is not None
        await self.authority.require(actor.id, Act.DECIDE, item)
        if decision.kind in NOTE_REQUIRED and not text:
            raise InvalidInput(
                _("Please add a note: %(what)s.", what=_(NOTE_REQUIRED[decision.kind]).lower())
            )
        before = item.state
        item.updated_at = self.clock.now()
        match decision:
            case Acknowledge():
                item.state = State.ACKNOWLEDGED.value
            case Assign(owner=owner):
                await self._assign(item, actor, holding, owner)
            case Resolve():
                await self._close(item, holding, text, State.RESOLVED)
            case Decline():
                await self._close(item, holding, text, State.DECLINED)
            case Escalate():
                await self._escalate(item, actor, holding, text)
            case AskInfo():
                await self._ask_info(item, holding, text)
            case Merge(into=into):
                await self._merge(item, holding, text, into)
            case _:
                assert_never(decision)
        await self._tell_reporter(item, decision, before, holding, text)
        await self._audit(item, actor.id, decision.kind.value, before, text, team_id=holding.id)
        for hop in await self.hops(item):
            await self._post_card(item, hop.team_id)
        return item

    async def _assign(self, item: Item, actor: Person, holding: Team, owner: str) -> None:
        person = await self.dir.find_person(owner)
        if person is None:
            raise InvalidInput(_("I could not find '%(who)s' to assign as owner.", who=owner))
        item.owner_id = person.id
        if item.state in (State.NEW, State.ESCALATED):
            item.state = State.ACKNOWLEDGED.value
        await self._send(
            "person",
            person.id,
            lambda: Message(
                text=_(
                    '%(actor)s made you the owner of #%(id)s ("%(summary)s") for %(team)s.',
                    actor=actor.name,
                    id=item.id,
                    summary=item.summary[:80],
                    team=holding.name,
                )
            ),
        )

    async def _escalate(self, item: Item, actor: Person, holding: Team, text: str) -> None:
        if holding.parent_id is None:
            raise InvalidInput(
                _(
                    "%(team)s is the top team: there is no linked team above. Resolve or decline #%(id)s here.",
                    team=holding.name,
                    id=item.id,
                )
            )
        parent = await self.dir.team(holding.parent_id)
        if parent is None or not parent.active:
            raise InvalidState(
                _(
                    "The team above %(team)s is not active; ask your implementation specialist to fix the links.",
                    team=holding.name,
                )
            )
        now = self.clock.now()
        hops = await self.hops(item)
        current = hops[-1]
        current.left_at = now
        current.escalation_note = text
        due = await self._due(parent, now) if item.kind == Kind.BARRIER else None
        self.s.add(
            Hop(
                item_id=item.id,
                seq=current.seq + 1,
                team_id=parent.id,
                arrived_at=now,
                due_at=due,
                escalation_note="",
            )
        )
        item.holding_team_id = parent.id
        item.state = State.ESCALATED.value
        item.due_at = due
        await self.s.flush()
        await self._send(
            "team",
            holding.id,
            lambda: Message(
                text=texts().render(
                    "escalated_notice", item=item, to_team=parent, actor=actor.name, note=text
                )
            ),
        )

    async def _ask_info(self, item: Item, holding: Team, text: str) -> None:
        item.state = State.NEEDS_INFO.value
        await self._send(
            "person",
            item.reporter_id,
            lambda: Message(
                text=texts().render("ask_info", item=item, team=holding, question=text),
                buttons=(Button(_("Answer"), "answer", str(item.id), "primary"),),
            ),
        )

    async def _merge(self, item: Item, holding: Team, text: str, into: str) -> None:
        target = await self.item(into)
        if target.id == item.id:
            raise InvalidInput(_("An item cannot be merged into itself."))
        await claims.claim(self.s, target)  # not merged elsewhere meanwhile
        if target.state == State.MERGED:
            raise InvalidInput(
                _(
                    "#%(id)s was itself merged; merge into #%(into)s instead.",
                    id=target.id,
                    into=target.merged_into_id,
                )
            )
        item.merged_into_id = target.id
        item.response = text or f"This is the same issue as #{target.id}; follow that one."
        await self._finish(item, holding, State.MERGED)
        await similar.join_group(self.s, item.id, target.id, self.clock.now())
        await self._post_cards(target)

    async def _close(self, item: Item, holding: Team, text: str, state: State) -> None:
        item.response = text
        await self._finish(item, holding, state)

    async def _finish(self, item: Item, holding: Team, state: State) -> None:
        now = self.clock.now()
        item.state = state.value
        item.closed_at = now
        item.closed_by_team_id = holding.id
        # a new answer: a new round for the reporter's word and the fix-worked question
        item.outcome = item.outcome_at = item.follow_up_sent_at = None
        item.reporter_ack = item.reporter_ack_at = None
        await self._relay_down(item, holding)

    async def _relay_down(self, item: Item, decided_by: Team) -> None:
        """Close the loop: every team the item passed and the reporter hear the response."""
        hops = await self.hops(item)
        teams = {t.id: t for t in await self.dir.chain_up(item.origin_team_id)}
        path = " → ".join(teams[h.team_id].name if h.team_id in teams else h.team_id for h in hops)
        now = self.clock.now()
        for hop in hops:
            if hop.team_id == decided_by.id:
                hop.told_at = now  # the deciding team made the response itself
                continue

            def relay() -> Message:
                body = texts().render(
                    "response_relay",
                    item=item,
                    decided_by=decided_by,
                    for_reporter=False,
                    path=path,
                )
                return Message(text=body)

            await self._send("team", hop.team_id, relay, track={"hop": hop.id})

        def to_reporter() -> Message:
            body = texts().render(
                "response_relay", item=item, decided_by=decided_by, for_reporter=True, path=path
            )
            return Message(text=body, buttons=reply_buttons(item))

        await self._send(
            "person",
            item.reporter_id,
            to_reporter,
            track={"reporter": item.id},
            update_key=reply_key(item),
        )
        if item.state != State.MERGED:
            await self._relay_to_followers(item, decided_by)

    async def _relay_to_followers(self, item: Item, decided_by: Team) -> None:
        """The reporters of items merged into or linked to `item` hear its response too."""
        told = {item.reporter_id}
        for own in await similar.followers(self.s, item):
            if own.reporter_id in told or own.id in self._answering:
                continue  # told already, or hears this answer on their own item
            told.add(own.reporter_id)
            await self._send(
                "person",
                own.reporter_id,
                lambda own=own: Message(  # type: ignore[misc]
                    text=texts().render(
                        "response_relay_follower", item=item, own=own, decided_by=decided_by
                    )
                ),
            )

    async def thank(self, person_id: str, item_id: int | str) -> Item:
        """A lead of a team the success passed through thanks its reporter (by DM; an
        anonymous reporter stays anonymous: the thanks goes through Looplink)."""
        item = await self.item(item_id)
        if item.kind != Kind.SUCCESS:
            raise InvalidInput(f"#{item.id} is a barrier: thank its reporter with kudos.")
        actor = await self._person(person_id)
        teams = [await self.dir.team(h.team_id) for h in await self.hops(item)]
        mine = [t for t in teams if t and await self.authority.may(actor.id, Act.LEAD, t)]
        if not mine:
            raise NotAllowed("Only a lead or liaison of a team it reached can thank its reporter.")
        await self._audit(item, actor.id, "thanked", item.state, team_id=mine[-1].id)
        team = mine[-1]
        await self._send(
            "person",
            item.reporter_id,
            lambda: Message(text=texts().render("success_thanked", item=item, team=team, by=actor)),
        )
        await self._post_cards(item)
        return item

    # ---- similar items -------------------------------------------------------------------

    async def link(self, actor_id: str, item_id: int | str, other_id: int | str) -> Item:
        """A lead says `item` is about the same thing as `other`; both stay open, the item joins
        the other's cluster, and the item's reporter will hear the other's response too."""
        actor = await self._person(actor_id)
        item = await self.item(item_id)
        await claims.claim(self.s, item)
        other = await self._live_other(item, other_id)
        await self.authority.require(actor.id, Act.DECIDE, item)
        await self.require_open(item)
        await self._add_link(item, other, "link", actor.id)
        await self._audit(item, actor.id, "linked", item.state, f"#{other.id}")
        await self._post_cards(item)
        await self._post_cards(other)
        return item

    async def add_voice(self, person_id: str, item_id: int | str, other_id: int | str) -> Item:
        """The reporter of `item` adds their voice to `other`: the two are linked, the reporter
        counts among the people `other` affects and hears its response. Anonymity holds: an
        anonymous reporter's voice is recorded without their name."""
        await self._person(person_id)
        item = await self.item(item_id)
        await self.authority.require(
            person_id,
            Act.ANSWER,
            item,
            _("Only the person who reported this can add its voice."),
        )
        await claims.claim(self.s, item)
        other = await self._live_other(item, other_id)
        who = None if item.anonymous else person_id
        await self._add_link(item, other, "voice", who)
        await self._audit(item, who, "voice_added", item.state, f"#{other.id}")
        await self._post_cards(item)
        await self._post_cards(other)  # "Also raised by": counted, never named
        return other

    async def _live_other(self, item: Item, other_id: int | str) -> Item:
        other = await self.item(other_id)
        while other.state == State.MERGED and other.merged_into_id:
            other = await self.item(other.merged_into_id)
        if other.id == item.id:
            raise InvalidInput(_("An item cannot be linked to itself."))
        if other.kind != item.kind:
            raise InvalidInput(
                _(
                    "#%(id)s and #%(other)s are not the same kind of report.",
                    id=item.id,
                    other=other.id,
                )
            )
        return other

    async def _add_link(self, item: Item, other: Item, kind: str, by: str | None) -> None:
        existing = (
            await self.s.scalars(
                select(ItemLink).where(ItemLink.item_id == item.id, ItemLink.other_id == other.id)
            )
        ).first()
        if existing is not None:
            raise InvalidState(
                _("#%(id)s is already linked to #%(other)s.", id=item.id, other=other.id)
            )
        now = self.clock.now()
        self.s.add(
            ItemLink(item_id=item.id, other_id=other.id, kind=kind, created_by=by, created_at=now)
        )
        item.updated_at = now
        await self.s.flush()
        await similar.join_group(self.s, item.id, other.id, now)

    async def respond_to_cluster(
        self, actor_id: str, item_ids: list[int], decision: Resolve | Decline
    ) -> ClusterResponse:
        """One response for a cluster: each open item the actor may decide on is resolved (or
        declined) with the same note, and relayed down its own path to its own reporter."""
        actor = await self._person(actor_id)
        if not _note(decision.note):
            raise InvalidInput(
                _("Please add a note: %(what)s.", what=_(NOTE_REQUIRED[decision.kind]).lower())
            )
        done: list[Item] = []
        skipped: list[tuple[Item, str]] = []
        self._answering = set(item_ids)
        for iid in dict.fromkeys(item_ids):
            item = await self.s.get(Item, iid)
            if item is None:
                continue
            if item.state not in OPEN_STATES:
                skipped.append((item, "closed"))
            elif not await self.authority.may(actor.id, Act.DECIDE, item):
                skipped.append((item, "not_yours"))
            else:
                try:
                    done.append(await self.decide(actor.id, item.id, decision))
                except claims.MovedOn:  # decided by someone else at this very moment
                    skipped.append(
                        (item, "closed" if item.state not in OPEN_STATES else "not_yours")
                    )
        self._answering = set()
        return ClusterResponse(decision.kind.value, done, skipped)

    # ---- the reporter's side -------------------------------------------------------------

    async def provide_info(self, person_id: str, item_id: int | str, answer: str) -> Item:
        item = await self.item(item_id)
        await self.authority.require(person_id, Act.ANSWER, item)
        text = _note(answer)
        if not text:
            raise InvalidInput(_("Please write your answer."))
        await claims.claim(self.s, item, note=text)
        if item.state != State.NEEDS_INFO:
            raise InvalidState(_("#%(id)s is not waiting for an answer from you.", id=item.id))
        last_ask = (
            await self.s.scalars(
                select(AuditEvent)
                .where(AuditEvent.item_id == item.id, AuditEvent.action == Decision.ASK_INFO.value)
                .order_by(AuditEvent.id.desc())
                .limit(1)
            )
        ).first()
        before = item.state
        previous = (
            last_ask.from_state if last_ask and last_ask.from_state else State.ACKNOWLEDGED.value
        )
        item.state = State.ACKNOWLEDGED.value if previous == State.NEEDS_INFO else previous
        item.updated_at = self.clock.now()
        reporter = await self.dir.person(person_id)
        await self._send(
            "team",
            item.holding_team_id,
            lambda: Message(
                text=texts().render("info_provided", item=item, reporter=reporter, answer=text)
            ),
        )
        await self._audit(
            item,
            stored_actor(item.anonymous, "info_provided", person_id),
            "info_provided",
            before,
            text,
        )
        await self._post_card(item, item.holding_team_id)
        return item

    async def feedback(self, person_id: str, item_id: int | str, outcome: str) -> Item:
        """The fix-worked answer: one per round (a change of mind is `change_answer`); "worse"
        or "no change" reopens the item with the team that resolved it."""
        item = await self.item(item_id)
        try:
            result = Outcome(outcome)
        except ValueError as e:
            raise InvalidInput(_("Please choose worse, no change, better or goal met.")) from e
        await self.authority.require(person_id, Act.JUDGE_FIX, item)
        await claims.claim(self.s, item)
        if item.state != State.RESOLVED and item.outcome is None:
            raise InvalidState(
                _("#%(id)s has not been resolved yet, so there is no fix to judge.", id=item.id)
            )
        if item.outcome is not None:
            raise InvalidState(
                texts().render("reporter_words", which="answered_already", item=item)
            )
        keys = (reply_key(item), followup_key(item))
        item.outcome = result.value
        item.outcome_at = self.clock.now()
        actor = stored_actor(item.anonymous, "feedback", person_id)  # the reporter or a lead
        await self._audit(item, actor, "feedback", item.state, result.value)
        targets = {h.team_id for h in await self.hops(item)}
        for team_id in sorted(targets):
            await self._send(
                "team",
                team_id,
                lambda: Message(
                    text=texts().render("feedback_recorded", item=item, outcome=item.outcome)
                ),
            )
        team = None
        if result in (Outcome.WORSE, Outcome.NO_CHANGE):
            team = await self._reopen(item, result)
        for key in keys:
            await self._edit_sent(key, lambda m: _with_answer(m, item, team))
        return item

    async def change_answer(self, person_id: str, item_id: int | str) -> Item:
        """Take back the fix-worked answer of this round, so it can be given again."""
        item = await self.item(item_id)
        await self.authority.require(person_id, Act.JUDGE_FIX, item)
        await claims.claim(self.s, item)
        if item.state != State.RESOLVED or item.outcome is None:
            raise InvalidState(texts().render("reporter_words", which="no_change", item=item))
        before = item.outcome
        item.outcome = item.outcome_at = None
        actor = stored_actor(item.anonymous, "feedback_changed", person_id)
        await self._audit(item, actor, "feedback_changed", item.state, before)
        for key in (reply_key(item), followup_key(item)):
            await self._edit_sent(key, lambda m: _without_answer(m, item))
        return item

    async def _reopen(self, item: Item, result: Outcome) -> Team | None:
        """The fix did not work: the item goes back, open, to the team that resolved it."""
        team = await self.dir.team(item.closed_by_team_id or item.holding_team_id)
        if team is None:
            return None
        now = self.clock.now()
        before = item.state
        item.state = State.ACKNOWLEDGED.value
        item.holding_team_id = team.id
        item.closed_at = item.closed_by_team_id = None
        item.due_at = await self._due(team, now)
        item.updated_at = now
        await self._audit(item, None, "reopened", before, result.value, team_id=team.id)
        await self._post_cards(item)
        return team

    async def _edit_sent(self, key: str, change: Callable[[Message], Message]) -> None:
        """Edit in place a message sent earlier with `key` (on each platform it went to)."""
        rows = (
            await self.s.scalars(
                select(Outbox).where(Outbox.update_key == key).order_by(Outbox.id.desc())
            )
        ).all()
        done: set[str] = set()
        for row in rows:
            if row.platform in done:
                continue
            done.add(row.platform)
            stored = Message.from_json(row.payload)
            await self._send(
                row.dest_kind,
                row.dest_id,
                partial(change, stored),  # built in the reader's language
                update_key=key,
                platform=row.platform,
                replace_pending=True,
            )

    # ---- the reporter's word on the answer, and their own report ---------------------

    async def _answered_item(self, person_id: str, item_id: int | str) -> Item:
        item = await self.item(item_id)
        await self.authority.require(
            person_id,
            Act.ANSWER,
            item,
            texts().render("reporter_words", which="only_reporter", item=item),
        )
        if item.state not in CLOSED_STATES:
            raise InvalidState(texts().render("reporter_words", which="no_answer_yet", item=item))
        return item

    async def confirm(self, person_id: str, item_id: int | str) -> Item:
        """The reporter says the answer reached them ("Got it")."""
        item = await self._answered_item(person_id, item_id)
        before = item.reporter_ack
        item.reporter_ack = "got_it"
        item.reporter_ack_at = self.clock.now()
        if before != "got_it":
            actor = stored_actor(item.anonymous, "confirmed", person_id)
            await self._audit(item, actor, "confirmed", item.state)
        await self._edit_sent(reply_key(item), lambda m: _with_ack(m, item))
        return item

    async def respond(self, person_id: str, item_id: int | str, text: str) -> Item:
        """The reporter's one response to an answer ("I still have a question", or their word
        on a decline): it goes to the team that decided, once per answer."""
        item = await self._answered_item(person_id, item_id)
        note = _note(text)
        if not note:
            raise InvalidInput(texts().render("reporter_words", which="write_it", item=item))
        if item.reporter_ack == "question":
            raise InvalidState(texts().render("reporter_words", which="once", item=item))
        item.reporter_ack = "question"
        item.reporter_ack_at = self.clock.now()
        team_id = item.closed_by_team_id or item.holding_team_id
        reporter = None if item.anonymous else await self.dir.person(person_id)
        await self._send(
            "team",
            team_id,
            lambda: Message(
                text=texts().render("reporter_question", item=item, reporter=reporter, text=note)
            ),
        )
        actor = stored_actor(item.anonymous, "reporter_responded", person_id)
        await self._audit(item, actor, "reporter_responded", item.state, note, team_id=team_id)
        await self._edit_sent(reply_key(item), lambda m: _with_ack(m, item))
        return item

    async def revisit(self, actor_id: str, item_id: int | str, reopen: bool) -> Item:
        """A lead revisits a past decision on the agenda: keep it, or re-open the item with
        the team that decided it (audited either way; it leaves the revisit list)."""
        actor = await self._person(actor_id)
        item = await self.item(item_id)
        team_id = item.closed_by_team_id or item.holding_team_id
        if not await self.authority.decides_for(actor.id, team_id):
            team = await self.dir.team(team_id)
            raise NotAllowed(
                texts().render("revisit_words", which="not_yours", item=item, team=team)
            )
        if item.state not in (State.RESOLVED, State.DECLINED):
            raise InvalidState(texts().render("revisit_words", which="not_closed", item=item))
        await claims.claim(self.s, item)
        now = self.clock.now()
        item.revisited_at = now
        if not reopen:
            await self._audit(item, actor.id, "revisited", item.state, "kept", team_id=team_id)
            return item
        team = await self.dir.team(team_id)
        assert team is not None
        before = item.state
        item.state = State.ACKNOWLEDGED.value
        item.holding_team_id = team.id
        item.closed_at = item.closed_by_team_id = None
        item.due_at = await self._due(team, now)
        item.updated_at = now
        await self._audit(item, actor.id, "reopened", before, "revisited", team_id=team.id)
        await self._post_cards(item)
        return item

    async def set_updates(self, person_id: str, on: bool) -> Person:
        """Progress updates on one's own reports on or off (questions and answers always come)."""
        await self._person(person_id)  # active, in the directory
        person = await self.s.get(Person, person_id)  # this session's own copy, not the cache's
        assert person is not None
        person.updates_muted = not on
        await self.s.flush()
        await dircache.directory_changed(self.s)  # cached copies of people are read-only
        return person

    async def _tell_reporter(
        self, item: Item, decision: Decided, before: str, holding: Team, note: str
    ) -> None:
        """The reporter hears progress: acknowledged, sent up (to whom, answer due when)."""
        if isinstance(decision, Escalate):
            which, team = "escalated", await self.dir.team(item.holding_team_id)
        elif before in (State.NEW, State.ESCALATED) and item.state == State.ACKNOWLEDGED:
            which, team = "acknowledged", holding
        else:
            return  # questions and answers have their own messages
        reporter = await self.dir.person(item.reporter_id)
        if reporter is None or reporter.updates_muted or team is None:
            return
        owner = await self.dir.person(item.owner_id) if item.owner_id else None

        def update() -> Message:
            body = texts().render(
                "reporter_update",
                which=which,
                item=item,
                team=team,
                from_team=holding,
                owner=owner.name if owner else "",
                note=note,
            )
            mute = texts().render("reporter_words", which="mute", item=item)
            return Message(text=body, buttons=(Button(mute, "updates:off", str(item.id)),))

        await self._send("person", item.reporter_id, update)

    async def untouched(self, person_id: str, item_id: int | str) -> Item:
        """The reporter's own report that nobody has acted on yet."""
        item = await self.item(item_id)
        await self.authority.require(
            person_id,
            Act.ANSWER,
            item,
            texts().render("reporter_words", which="only_reporter", item=item),
        )
        await claims.claim(self.s, item)  # nobody decides while the reporter withdraws
        acted = (
            await self.s.scalars(
                select(AuditEvent.id)
                .where(
                    AuditEvent.item_id == item.id,
                    AuditEvent.action.not_in(["reported", "corrected", "voice_added"]),
                )
                .limit(1)
            )
        ).first()
        if acted is not None or item.state != State.NEW:
            team = await self.dir.team(item.holding_team_id)
            raise InvalidState(
                texts().render("reporter_words", which="too_late", item=item, team=team)
            )
        return item

    async def withdraw(self, person_id: str, item_id: int | str) -> Item:
        """The reporter takes back a report nobody has acted on."""
        item = await self.untouched(person_id, item_id)
        before = item.state
        now = self.clock.now()
        item.state = State.WITHDRAWN.value
        item.closed_at = item.updated_at = now
        item.due_at = None
        await self._audit(
            item, stored_actor(item.anonymous, "withdrawn", person_id), "withdrawn", before
        )
        await self._post_cards(item)
        return item

    async def correct(self, person_id: str, item_id: int | str, changes: dict[str, str]) -> Item:
        """The reporter corrects a report nobody has acted on; its card is updated in place."""
        item = await self.untouched(person_id, item_id)
        summary = _note(changes.get("summary", item.summary))
        if not summary:
            raise InvalidInput("Please say what is getting in the way (or what worked).")
        item.summary = summary
        for name in ("details", "evidence"):
            if name in changes:
                setattr(item, name, _note(changes[name]))
        if changes.get("locus") is not None:
            locus = changes["locus"].strip()
            if locus:
                _check_enum(Locus, locus, "answer about whose control this is in")
            item.locus = locus
        item.updated_at = self.clock.now()
        await self._audit(
            item, stored_actor(item.anonymous, "corrected", person_id), "corrected", item.state
        )
        await self._post_cards(item)
        return item

    # ---- recognition ---------------------------------------------------------------------

    async def kudos(
        self,
        giver_id: str,
        target: str,
        text: str,
        *,
        item_id: int | str | None = None,
        driver: str | None = None,
    ) -> Kudos:
        giver = await self._person(giver_id)
        body = _note(text)
        if not body:
            raise InvalidInput(
                _("Say what you are recognising, e.g. 'kudos @alice for running the data review'.")
            )
        person = await self.dir.find_person(target)
        team = None if person else await self.dir.find_team(target)
        if person is None and team is None:
            raise FieldErrors(
                {"target": _("I could not find a person or team called '%(name)s'.", name=target)}
            )
        if person is not None and person.id == giver.id:
            raise InvalidInput(
                _("Recognition is for someone else — try recognising your team instead.")
            )
        if driver:
            _check_enum(Driver, driver, "implementation driver")
        item = await self.item(item_id) if item_id else None
        await limits.check(self.s, giver.id, limits.KUDOS, self.clock.now())
        k = Kudos(
            giver_id=giver.id,
            person_id=person.id if person else None,
            team_id=team.id if team else None,
            text=body,
            item_id=item.id if item else None,
            driver=driver,
            created_at=self.clock.now(),
        )
        self.s.add(k)
        await self.s.flush()
        name = person.name if person else team.name  # type: ignore[union-attr]

        def msg() -> Message:
            return Message(
                text=texts().render("kudos", giver=giver, target_name=name, kudos=k, item=item)
            )

        if person is not None:
            await self._send("person", person.id, msg)
            home = await self.dir.home_team(person.id)
            if home is not None:
                await self._send("team", home.id, msg)
        elif team is not None:
            await self._send("team", team.id, msg)
        return k


@dataclass(frozen=True)
class SimilarLine:
    """An item as a similar-item line shows it: where it was reported and where it is now."""

    id: int
    kind: str
    summary: str
    state: str
    origin: str
    holding: str


@dataclass
class ClusterResponse:
    decision: str
    done: list[Item]
    skipped: list[tuple[Item, str]]  # the item, and "closed" or "not_yours"


def _stamp(at: datetime | None) -> str:
    return str(int(at.timestamp())) if at is not None else "open"


def reply_key(item: Item) -> str:
    """The update key of the reporter's copy of this round's answer."""
    return f"reply:{item.id}:{_stamp(item.closed_at)}"


def followup_key(item: Item) -> str:
    """The update key of this round's "did the fix work?" question."""
    return f"followup:{item.id}:{_stamp(item.closed_at)}"


def reply_buttons(item: Item) -> tuple[Button, ...]:
    """The buttons under the reporter's copy of an answer: the fix-worked answer (a resolved
    barrier), "Got it", and one response (a question, or their word on a decline)."""
    t = texts()
    v = str(item.id)
    out: tuple[Button, ...] = ()
    if item.state == State.RESOLVED and item.kind == Kind.BARRIER:
        out = feedback_buttons(item.id)
    which = "respond" if item.state == State.DECLINED else "question"
    return (
        *out,
        Button(t.render("reporter_words", which="got_it", item=item), "confirm:got_it", v),
        Button(t.render("reporter_words", which=which, item=item), "confirm:question", v),
    )


def _set_field(msg: Message, label: str, value: str | None) -> tuple[tuple[str, str], ...]:
    kept = tuple(f for f in msg.fields if f[0] != label)
    return kept if value is None else (*kept, (label, value))


def _with_answer(msg: Message, item: Item, reopened_with: Team | None) -> Message:
    """The fix-worked buttons replaced by the recorded answer (and a way to change it)."""
    t = texts()
    label = t.render("reporter_words", which="field_answer", item=item)
    said = t.render("reporter_words", which="answer", item=item, team=reopened_with)
    buttons = tuple(b for b in msg.buttons if not b.action.startswith("feedback"))
    if reopened_with is None:
        change = t.render("reporter_words", which="change", item=item)
        buttons = (Button(change, "feedback_change", str(item.id)), *buttons)
    return replace(msg, fields=_set_field(msg, label, said), buttons=buttons)


def _without_answer(msg: Message, item: Item) -> Message:
    label = texts().render("reporter_words", which="field_answer", item=item)
    rest = tuple(b for b in msg.buttons if not b.action.startswith("feedback"))
    return replace(
        msg, fields=_set_field(msg, label, None), buttons=(*feedback_buttons(item.id), *rest)
    )


def _with_ack(msg: Message, item: Item) -> Message:
    """ "Got it" / the one response: their buttons replaced by what the reporter said."""
    t = texts()
    label = t.render("reporter_words", which="field_said", item=item)
    said = t.render("reporter_words", which="said", item=item)
    buttons = tuple(b for b in msg.buttons if b.action != "confirm:question")
    if item.reporter_ack == "got_it":
        buttons = tuple(b for b in buttons if b.action != "confirm:got_it")
    return replace(msg, fields=_set_field(msg, label, said), buttons=buttons)


def feedback_buttons(item_id: int) -> tuple[Button, ...]:
    v = str(item_id)
    return (
        Button(_("Worse"), "feedback:worse", v, "danger"),
        Button(_("No change"), "feedback:no_change", v),
        Button(_("Better"), "feedback:better", v),
        Button(_("Goal met"), "feedback:goal_met", v, "primary"),
    )
