"""The directory cache (bot/dircache.py): events stop re-reading who is who, and stay exact.

A change committed anywhere (another process, `org apply`, the console, an identity linked by
email) is seen by the next event, because every such change writes a new directory token and
the cache answers only under the token its transaction read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select, update

from adapters.local import LocalChat
from bot import dircache
from bot.db.models import Person, Setting
from bot.db.session import Database, transaction_control
from bot.domain import MAX_TEXT
from bot.org_apply import apply_org
from bot.orgfile import load_org
from bot.runtime import Runtime
from looplink.platforms import infos
from tests.fakes.serve import EXAMPLE_ORG

DIRECTORY_TABLES = ("people", "teams", "memberships", "platform_ids", "workspaces")


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_c: Any, _cur: Any, sql: str, *_a: Any) -> None:
        seen.append(sql)

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", note)


def reads_directory(sql: str) -> bool:
    head = sql.split("WHERE")[0].lower()
    return head.lstrip().startswith("select") and any(
        f"from {t}" in head or f"join {t}" in head for t in DIRECTORY_TABLES
    )


async def test_a_repeated_command_reads_nothing_of_the_directory(chat: LocalChat) -> None:
    dircache.forget()
    await chat.command("carol", "barrier")  # fills the cache
    with statements(chat.rt.db) as seen:
        res = await chat.command("carol", "barrier")
    assert res.form is not None
    assert [s for s in seen if reads_directory(s)] == []
    # the local sender's dispatcher runs too; SQLite's group commit adds its savepoints
    ours = [s for s in seen if "outbox" not in s and not transaction_control(s)]
    assert len(ours) <= 3  # the delivery check, the directory token, the delivery key


async def test_a_change_committed_elsewhere_is_seen_by_the_next_event(chat: LocalChat) -> None:
    dircache.forget()
    assert (await chat.command("carol", "barrier")).form is not None
    other = Database(chat.rt.db.url)  # another process on the same database
    try:
        async with other.transaction() as s:
            await s.execute(update(Person).where(Person.id == "carol").values(active=False))
            await dircache.directory_changed(s)
    finally:
        await other.close()
    res = await chat.command("carol", "barrier")
    assert res.form is None
    assert "don't know you" in res.text()


async def test_org_apply_writes_a_new_token(org: Runtime) -> None:
    async def token() -> Any:
        async with org.db.transaction() as s:
            return await s.scalar(select(Setting.value).where(Setting.key == dircache.KEY))

    before = await token()
    async with org.db.transaction() as s:
        await apply_org(s, load_org(EXAMPLE_ORG, infos()))
    assert before is not None and await token() not in (None, before)


async def test_an_event_rolled_back_leaves_the_cache_usable(chat: LocalChat) -> None:
    dircache.forget()
    refused = await chat.say("carol", "y" * (MAX_TEXT * 2 + 1))  # fills the cache, rolls back
    assert "too long" in refused.text()
    assert (await chat.command("carol", "barrier")).form is not None
    assert (await chat.command("carol", "barrier")).form is not None


async def test_a_language_chosen_in_chat_is_stored_and_seen_next_time(chat: LocalChat) -> None:
    dircache.forget()
    await chat.command("carol", "barrier")  # carol is in the cache now
    await chat.say("carol", "language es")
    async with chat.rt.db.transaction() as s:
        carol = await s.get(Person, "carol")
        assert carol is not None and carol.chosen_language == "es"
    answer = await chat.say("carol", "language")
    assert "espa" in answer.text().lower(), answer.text()
