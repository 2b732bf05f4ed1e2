"""What the playground remembers per person and conversation, in memory only.

Like a chat platform's ephemeral messages, these are for the person who acted and are gone
after a restart: what they typed, the replies only they can see, and a form they have open.
Everything the bot *sends* is stored in the database (LocalMessage) instead.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.messages import Form, Message

NoteKind = Literal["you", "reply", "info", "error"]
MAX_NOTES = 100


@dataclass
class Note:
    seq: int
    kind: NoteKind  # you: what the person typed; reply: only you can see; info/error: playground
    after_id: int  # shown after the stored message with this id (and before the next one)
    at: datetime
    text: str = ""
    message: Message | None = None


@dataclass
class OpenForm:
    form: Form
    values: dict[str, str | list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    nonce: str = field(default_factory=lambda: uuid.uuid4().hex)

    def value(self, name: str, initial: str) -> str | list[str]:
        return self.values.get(name, initial)


Key = tuple[str, str]  # (person id, conversation key)


class Scratch:
    def __init__(self) -> None:
        self._notes: dict[Key, list[Note]] = defaultdict(list)
        self._forms: dict[Key, OpenForm] = {}
        self._seq = itertools.count(1)

    def note(
        self,
        key: Key,
        kind: NoteKind,
        after_id: int,
        at: datetime,
        text: str = "",
        message: Message | None = None,
    ) -> Note:
        n = Note(next(self._seq), kind, after_id, at, text, message)
        notes = self._notes[key]
        notes.append(n)
        del notes[:-MAX_NOTES]
        return n

    def notes(self, key: Key) -> list[Note]:
        return list(self._notes.get(key, ()))

    def open_form(self, key: Key, form: Form) -> OpenForm:
        of = OpenForm(form)
        self._forms[key] = of
        return of

    def form(self, key: Key) -> OpenForm | None:
        return self._forms.get(key)

    def keep_form(self, key: Key, of: OpenForm) -> None:
        self._forms[key] = of

    def close_form(self, key: Key) -> None:
        self._forms.pop(key, None)
