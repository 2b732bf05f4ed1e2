"""SQLAlchemy 2 models. Every schema change needs an Alembic migration in bot/migrations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Setting(Base):
    """Organisation-wide settings from the org file (name, timezone, calendar)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class Person(Base):
    __tablename__ = "people"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    language: Mapped[str] = mapped_column(String(16), default="")  # the org file's ("" none)
    chosen_language: Mapped[str | None] = mapped_column(String(16))  # `/looplink language es`
    platform_locale: Mapped[str | None] = mapped_column(String(16))  # what a platform reports
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # the person asked not to hear progress updates on their reports (acknowledged, sent up);
    # questions and final answers still reach them
    updates_muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("teams.id"))
    response_days: Mapped[int] = mapped_column(Integer, default=5)
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))  # None: the organisation's
    meeting_schedule: Mapped[str | None] = mapped_column(String(64))
    agenda_before_minutes: Mapped[int] = mapped_column(Integer, default=120)
    digest_schedule: Mapped[str] = mapped_column(String(64), default="0 8 * * mon")
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Workspace(Base):
    """One of the organisation's own workspaces or tenants on a platform (`workspaces:` in the
    org file): a Slack workspace or Enterprise Grid organisation, a Microsoft 365 tenant.

    Identities and channels live inside one (`PlatformId.scope` is its `value`); an event from
    a workspace that is not here, or not active, is a stranger's (bot/identity.py).
    """

    __tablename__ = "workspaces"
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)  # its id on the platform
    name: Mapped[str] = mapped_column(String(64))  # its id in the org file
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PlatformId(Base):
    """A person's user id or a team's channel id on one platform, in one of its workspaces.

    An identity is (platform, scope, value): `scope` is the workspace or tenant it lives in
    (`Workspace.value`; "" on a platform without workspaces), and it belongs to one person (or
    one team: a channel). `key` is the org-file key it is written under (a person's `slack:`,
    `teams:`, `teams_aad:`; a team's `channels: {slack: ...}`), declared by the platform
    (bot/platform_info.py), and `rank` its place in the platform's list of keys (0: the
    preferred address). `origin` says who linked it: "org" (the org file; applying the file
    manages these), "email" (matched by email inside a declared workspace: on first contact or
    by `looplink org sync`) or "link" (an admin linked a channel from inside it). Rows that
    did not come from the file are kept when the file is applied, unless the file gives the
    same owner another id in that workspace, or the same id to another owner.
    """

    __tablename__ = "platform_ids"
    __table_args__ = (
        Index("ix_platform_ids_lookup", "platform", "value", "owner_kind"),
        Index("ux_platform_ids_identity", "owner_kind", "platform", "scope", "value", unique=True),
    )
    owner_kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # person / team
    owner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    platform: Mapped[str] = mapped_column(String(16))
    rank: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(16), default="org")


class Membership(Base):
    __tablename__ = "memberships"
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Item(Base):
    """A barrier or success report and where it stands in the loop."""

    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_holding_state", "holding_team_id", "state"),
        Index("ix_items_origin_created", "origin_team_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="barrier")
    summary: Mapped[str] = mapped_column(Text)  # what is getting in the way / what worked
    details: Mapped[str] = mapped_column(Text, default="")  # where, when, how often
    affected: Mapped[list[Any]] = mapped_column(JSON, default=list)
    subgroup: Mapped[str] = mapped_column(String(200), default="")
    driver: Mapped[str] = mapped_column(String(40), default="other")
    stage: Mapped[str] = mapped_column(String(40), default="")
    tried: Mapped[str] = mapped_column(Text, default="")
    suggestion: Mapped[str] = mapped_column(Text, default="")
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    reporter_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    origin_team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    holding_team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="new", index=True)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    due_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by_team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    response: Mapped[str] = mapped_column(Text, default="")  # resolution or decline rationale
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    reporter_told_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_at: Mapped[datetime | None] = mapped_column()
    follow_up_sent_at: Mapped[datetime | None] = mapped_column()
    source: Mapped[str] = mapped_column(String(16))  # the platform it was reported on
    # Grows with every change on the item; a change claims the item first (bot/claims.py).
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    language: Mapped[str | None] = mapped_column(String(16))  # the reporter's, when reported
    locus: Mapped[str] = mapped_column(String(16), default="", server_default="")  # Locus
    evidence: Mapped[str] = mapped_column(Text, default="", server_default="")  # how they know
    # the reporter's word on the final answer: "got_it" or "question" (see Loop.confirm)
    reporter_ack: Mapped[str | None] = mapped_column(String(16))
    reporter_ack_at: Mapped[datetime | None] = mapped_column()
    revisited_at: Mapped[datetime | None] = mapped_column()  # a lead revisited the decision


class Hop(Base):
    """One team an item passed through: when it arrived, left, and when that team was told."""

    __tablename__ = "hops"
    __table_args__ = (
        UniqueConstraint("item_id", "seq"),
        Index("ix_hops_team_arrived", "team_id", "arrived_at"),
        Index("ix_hops_team_item", "team_id", "item_id", "left_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 0 = the origin team
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    arrived_at: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column()
    left_at: Mapped[datetime | None] = mapped_column()  # escalated onwards
    escalation_note: Mapped[str] = mapped_column(Text, default="")
    told_at: Mapped[datetime | None] = mapped_column()  # the response reached this team
    overdue_flagged_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()


class AuditEvent(Base):
    """Every transition: who, when, from-state, to-state, note."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[str | None] = mapped_column(String(64))  # None: anonymous or the system
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")


class AdminEvent(Base):
    """What an admin changed in the organisation from inside a chat (not an item's step):
    e.g. `action` "link_channel": `team_id`'s channel on `platform` is now `value`, in
    workspace `scope` (`note`: the channel it had before, if any)."""

    __tablename__ = "admin_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str | None] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(16), default="")
    scope: Mapped[str] = mapped_column(String(64), default="")
    value: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class Kudos(Base):
    __tablename__ = "kudos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    giver_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"), index=True)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    driver: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(index=True)


class Outbox(Base):
    """Durable outgoing messages. Delivered in id order per channel_key, retried, never dropped.

    status: pending -> sent; or parked (waits for an admin's fix, retried slowly), failed
    (refused for good; an admin retries or discards it), discarded (by an admin, with a reason).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    dest_kind: Mapped[str] = mapped_column(String(8))  # "person" or "team"
    dest_id: Mapped[str] = mapped_column(String(64))
    channel_key: Mapped[str] = mapped_column(String(100), index=True)
    update_key: Mapped[str | None] = mapped_column(String(100))  # same key -> edit in place
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    track: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what to stamp when sent
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    lease_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # "parked" (the platform refused until someone fixes something: retried slowly) or
    # "failed" (the platform refused this message for good): what the admin must do, and since
    # when. "discarded": an admin gave up on it with `looplink outbox discard`, for a reason.
    fix: Mapped[str] = mapped_column(Text, default="")
    parked_at: Mapped[datetime | None] = mapped_column()
    discarded_at: Mapped[datetime | None] = mapped_column()
    discard_reason: Mapped[str] = mapped_column(Text, default="")


class PostedMessage(Base):
    """Where a message with an update_key landed on a platform, so it can be edited in place."""

    __tablename__ = "posted_messages"
    update_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    ref: Mapped[dict[str, Any]] = mapped_column(JSON)


class ConversationRef(Base):
    """How to reach a person or a channel proactively (a DM channel, a conversation reference).

    A person's reference belongs to one of their identities: `identity` is the platform user
    id it was made for and `scope` its workspace. It is used only while that identity is still
    the person's (a `PlatformId`), so a conversation can never carry a person's messages to
    anyone else; one without an identity (older rows) is not used for a person.
    """

    __tablename__ = "conversation_refs"
    owner_kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # person / team
    owner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    ref: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column()
    scope: Mapped[str] = mapped_column(String(64), default="")
    identity: Mapped[str] = mapped_column(String(200), default="")


class ConversationState(Base):
    """A half-finished step-by-step conversation, so a restart mid-report loses nothing.

    flow "report": in progress; "sent" or "cancelled": ended (data["item"]: the report sent),
    so a late "send" is told what happened. `version` grows with every change: a draft is
    claimed by one request only (see flows/report.py).
    """

    __tablename__ = "conversation_states"
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flow: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ProcessedDelivery(Base):
    """Inbound delivery ids already handled (Slack retries, Teams redeliveries)."""

    __tablename__ = "processed_deliveries"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    at: Mapped[datetime] = mapped_column()
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LocalMessage(Base):
    """Messages delivered by the local adapter: the playground's DMs and team channels."""

    __tablename__ = "local_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dest_kind: Mapped[str] = mapped_column(String(8))
    dest_id: Mapped[str] = mapped_column(String(64), index=True)
    update_key: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class AgendaItem(Base):
    """Something a member put on a team's standing agenda: a topic or an action item.

    Open items carry forward to every next agenda until someone marks them done.
    """

    __tablename__ = "agenda_items"
    __table_args__ = (Index("ix_agenda_items_team_open", "team_id", "done_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"))
    kind: Mapped[str] = mapped_column(String(16), default="topic")  # "topic" or "action"
    text: Mapped[str] = mapped_column(Text)
    added_by: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"))  # for action items
    created_at: Mapped[datetime] = mapped_column()
    done_at: Mapped[datetime | None] = mapped_column()
    done_by: Mapped[str | None] = mapped_column(String(64))
    due_on: Mapped[date | None] = mapped_column(Date)  # an action item's due date
    reminded_at: Mapped[datetime | None] = mapped_column()  # its owner was reminded


class SelfCheck(Base):
    """One member's answer to one question of a meeting self-check (kind "meeting", round: the
    meeting's date) or of the quarterly protocol pulse (kind "pulse", round: e.g. "2026-Q4").
    Stored per person so each answers once (a new answer replaces theirs); only ever shown
    aggregated (bot/content/selfcheck.py)."""

    __tablename__ = "self_checks"
    __table_args__ = (
        UniqueConstraint("team_id", "kind", "round", "person_id", "question"),
        Index("ix_self_checks_team_kind", "team_id", "kind", "round"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"))
    kind: Mapped[str] = mapped_column(String(16))
    round: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(String(32))
    score: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column()


class ScheduledSend(Base):
    """The scheduler's exactly-once ledger: one row per scheduled run (job, team, fire time) or
    one-time notice (e.g. an item's overdue notice), written in the same transaction as the
    outbox rows it produced. The primary key is the guard against doubles."""

    __tablename__ = "scheduled_sends"
    __table_args__ = (Index("ix_scheduled_sends_team_kind", "team_id", "kind", "scheduled_for"),)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[str | None] = mapped_column(String(64))
    scheduled_for: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime] = mapped_column()
    messages: Mapped[int] = mapped_column(Integer, default=0)


class WebSession(Base):
    """A signed-in browser (dashboard, playground): the cookie holds a random id, this table
    its SHA-256, so the table alone opens nothing. Revoked at sign-out, replaced at sign-in,
    refused after `expires_at` or when idle too long (bot/sessions.py)."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_principal", "principal"),)
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    principal: Mapped[str] = mapped_column(String(200))  # who: "admin", "person:<id>"
    method: Mapped[str] = mapped_column(String(32))  # how they signed in: "admin-token", ...
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None] = mapped_column()


class SignInState(Base):
    """A web sign-in in progress at an OpenID Connect provider (adapters/local/oidc.py): one
    use, ten minutes, bound to the browser that started it. Kept here, not in one process's
    memory, so the provider may send the browser back to any Looplink process."""

    __tablename__ = "signin_states"
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of `state`
    provider: Mapped[str] = mapped_column(String(32))
    browser: Mapped[str] = mapped_column(String(64))  # SHA-256 of the binding cookie
    nonce: Mapped[str] = mapped_column(String(64))
    verifier: Mapped[str] = mapped_column(String(128))  # the PKCE code verifier
    next: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class OrgChange(Base):
    """A change to the organisation (teams, links, members, people, schedules, calendar): made
    in the admin console (`source` "console", one row per save) or by applying the org file
    ("file", one row per apply that changed something). Who (`actor`: a person id, "admin" for
    the admin token), when, what (`entity`, e.g. "team:lincoln", and `changes`: a list of
    [field, before, after]). The console lists the console edits made since the last apply:
    the next apply replaces them (bot/org_changes.py)."""

    __tablename__ = "org_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))  # console / file
    action: Mapped[str] = mapped_column(String(32))  # create / edit / deactivate / apply
    entity: Mapped[str] = mapped_column(String(140))
    changes: Mapped[list[Any]] = mapped_column(JSON, default=list)


class AppInstallation(Base):
    """Looplink installed in one workspace or organisation of a platform (Slack's OAuth
    installs): the platform's installation, tokens included, encrypted (`secret`, see
    bot/secrets.py). `scope` is the workspace (or, for an organisation-wide install, the
    organisation) it covers; `within` the organisation a workspace belongs to. Uninstalling or
    revoking the tokens is recorded (`revoked_at`, `revoked_reason`) and the tokens are
    deleted: nothing is delivered there until it is installed again."""

    __tablename__ = "app_installations"
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    within: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(200), default="")  # the workspace's name
    secret: Mapped[str] = mapped_column(Text)  # the installation as encrypted JSON
    installed_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str] = mapped_column(String(64), default="")


class OAuthState(Base):
    """The `state` of an install flow in progress (one use, expires after ten minutes)."""

    __tablename__ = "oauth_states"
    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SimilarDoc(Base):
    """An item as the similarity index sees it: its feature counts and its group of similar items.

    Written when the item is reported or imported (see bot/similar/store.py); `group_id` is the
    group of similar items it belongs to (NULL: not grouped, e.g. closed long ago).
    """

    __tablename__ = "similar_docs"
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    counts: Mapped[str] = mapped_column(Text)  # "feature:count ..." (bot.similar.model.encode)
    norm: Mapped[float] = mapped_column(Float, default=1.0)  # length of its weights when indexed
    group_id: Mapped[int | None] = mapped_column(Integer, index=True)
    indexed_at: Mapped[datetime] = mapped_column()


class SimilarPosting(Base):
    """The inverted index: which items have a feature. Kept up to date with SimilarDoc."""

    __tablename__ = "similar_postings"
    __table_args__ = ({"sqlite_with_rowid": False},)
    feature: Mapped[str] = mapped_column(String(80), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)


class SimilarMatch(Base):
    """What was found like an item when it arrived: shown on its card and to its reporter."""

    __tablename__ = "similar_matches"
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column()


class SimilarGroup(Base):
    """A group of similar items (a cluster): the sum of its members' vectors, for joining."""

    __tablename__ = "similar_groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer, default=1)
    sum: Mapped[str] = mapped_column(Text, default="")  # "feature:weight ..."; "" for one item
    updated_at: Mapped[datetime] = mapped_column()


class ItemLink(Base):
    """Two items about the same thing: linked by a lead ("link"), or by a reporter adding their
    voice to an earlier item ("voice"). `item_id` is the newer item, `other_id` the one it joins.
    Followers of `other_id` hear its response too."""

    __tablename__ = "item_links"
    __table_args__ = (UniqueConstraint("item_id", "other_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "link" or "voice"
    created_by: Mapped[str | None] = mapped_column(String(64))  # None: anonymous
    created_at: Mapped[datetime] = mapped_column()
