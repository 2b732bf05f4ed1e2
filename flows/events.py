"""Neutral inbound events (what a person did) and flow results (what to show them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.identity import Identity
from bot.messages import Form, Message

InboundKind = Literal["text", "command", "action", "submit"]


@dataclass
class Inbound:
    platform: str  # the platform's name (PlatformInfo.name)
    user_id: str  # the platform's user id (a native-id platform's: the person id)
    kind: InboundKind
    text: str = ""  # typed text, or the arguments of a command
    command: str = ""  # for kind "command": barrier, success, kudos, looplink, ...
    action: str = ""  # for kind "action": e.g. "decide:escalate"
    value: str = ""  # for kind "action": e.g. the item id
    form_id: str = ""  # for kind "submit"
    values: dict[str, str] = field(default_factory=dict)  # submitted form values
    context: dict[str, str] = field(default_factory=dict)  # the form's hidden context
    channel: str | None = None  # platform channel id; None for a direct message
    delivery_id: str | None = None  # idempotency key (Slack event id, Teams activity id)
    email: str | None = None  # the user's email, as the platform gives it (links by email)
    scope: str = ""  # the workspace or tenant the event came from ("" when not known)
    within: tuple[str, ...] = ()  # larger places `scope` belongs to (an Enterprise Grid org)
    alt_ids: tuple[tuple[str, str], ...] = ()  # the user's other ids: (org-file key, id)
    locale: str | None = None  # the user's language as the platform reports it ('es-MX')


@dataclass
class FlowResult:
    replies: list[Message] = field(default_factory=list)  # for the person who acted
    form: Form | None = None  # open this form (a modal where the platform has them)
    errors: dict[str, str] = field(default_factory=dict)  # per-field errors: keep the form open
    duplicate: bool = False  # this delivery was already handled
    person_id: str | None = None  # who acted, once known
    identity: Identity | None = None  # the identity that says so (its workspace and user id)
    # a stranger from one of the organisation's workspaces, and the event had no email: the
    # adapter may ask the platform for it and handle the event again (it may link them)
    unknown: bool = False
    queued: bool = False  # the replies were queued in the outbox with the change (see handle)
    # the words a platform adds around an answer ("close", "done"), in the actor's language
    words: dict[str, str] = field(default_factory=dict)
    # the replies are a long read (a whole report): shown in a window of their own where the
    # platform has one (a Slack modal), else like any reply
    show_apart: bool = False

    def text(self) -> str:
        return "\n\n".join(m.plain() for m in self.replies)
