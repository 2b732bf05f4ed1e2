"""Merge and assign from the card and as commands (issue 15): the engine had them, people
had no way to reach them."""

from __future__ import annotations

from sqlalchemy import select

from adapters.local import LocalChat
from bot.db.models import Item


async def _report(chat: LocalChat, summary: str) -> int:
    await chat.submit("carol", "barrier", {"summary": summary})
    async with chat.rt.db.transaction() as s:
        return int((await s.scalars(select(Item.id).order_by(Item.id.desc()))).first() or 0)


async def _item(chat: LocalChat, iid: int) -> Item:
    async with chat.rt.db.transaction() as s:
        item = await s.get(Item, iid)
        assert item is not None
        return item


async def test_the_card_offers_merge_with_a_picker_and_assign(chat: LocalChat) -> None:
    first = await _report(chat, "Substitutes are not trained on the reading routine")
    second = await _report(chat, "Subs do not know the Tier 2 routine")
    card = (await chat.channel("lincoln"))[-1].message
    labels = [b.label for b in card.buttons]
    assert "Merge into…" in labels and "Assign to…" in labels, labels
    opened = await chat.press("alice", "decide:merge", str(second))
    assert opened.form is not None
    picker = next(f for f in opened.form.fields if f.name == "merge_into")
    assert picker.kind == "select"
    assert [o.value for o in picker.options] == [str(first)]  # the team's other open items
    assert f"#{first} Substitutes are not trained" in picker.options[0].label
    await chat.submit(
        "alice",
        "decide",
        {"merge_into": str(first), "note": "Same barrier"},
        {"item": str(second), "decision": "merge"},
    )
    assert (await _item(chat, second)).merged_into_id == first


async def test_merge_and_assign_as_commands(chat: LocalChat) -> None:
    first = await _report(chat, "Substitutes are not trained on the reading routine")
    second = await _report(chat, "Subs do not know the Tier 2 routine")
    said = (await chat.say("alice", f"assign #{first} to @dev")).text()
    assert f"#{first}" in said and "Dev" in said, said
    assert (await _item(chat, first)).owner_id == "dev"
    said = (await chat.say("alice", f"merge #{second} into #{first}")).text()
    assert "merged" in said, said
    assert (await _item(chat, second)).merged_into_id == first
    refused = (await chat.say("carol", f"assign #{first} to @alice")).text()
    assert "lead" in refused.lower() or "only" in refused.lower(), refused
