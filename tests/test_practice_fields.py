"""The practice, complete (issue 15): intake records the locus (within / outside this team's
control) and the evidence (how they know); the decision prompt and the card show them."""

from __future__ import annotations

from sqlalchemy import select

from adapters.local import LocalChat
from bot.db.models import Item


async def test_locus_and_evidence_are_recorded_shown_and_prompted(chat: LocalChat) -> None:
    opened = await chat.command("carol", "barrier")
    assert opened.form is not None
    names = [f.name for f in opened.form.fields]
    assert "locus" in names and "evidence" in names
    locus = next(f for f in opened.form.fields if f.name == "locus")
    assert [o.value for o in locus.options] == ["within", "outside", "unsure"]
    res = await chat.submit(
        "carol",
        "barrier",
        {
            "summary": "Substitute cover ends at noon",
            "locus": "within",
            "evidence": "Cancelled 6 of the last 8 coaching sessions",
        },
    )
    assert "Thanks" in res.text(), res.text()
    async with chat.rt.db.transaction() as s:
        item = (await s.scalars(select(Item).order_by(Item.id.desc()))).first()
    assert item is not None
    assert (item.locus, item.evidence) == ("within", "Cancelled 6 of the last 8 coaching sessions")
    card = next(r.message for r in await chat.channel("lincoln") if r.message.buttons)
    fields = dict(card.fields)
    assert fields["Whose control"] == "Within this team's control"
    assert fields["How they know"] == "Cancelled 6 of the last 8 coaching sessions"
    form = (await chat.press("alice", "decide:escalate", str(item.id))).form
    assert form is not None
    hint = form.fields[-1].hint
    assert "The reporter thinks this is within this team's control." in hint
    assert "How they know: Cancelled 6 of the last 8" in hint
    assert "Say why it cannot be solved at this level." in hint


async def test_an_unknown_locus_is_refused_with_the_form_kept(chat: LocalChat) -> None:
    res = await chat.submit("carol", "barrier", {"summary": "x", "locus": "nowhere"})
    assert "'nowhere' is not a known answer about whose control this is in" in res.text()
