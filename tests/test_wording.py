"""Grammar people read (issue 15): counts through one helper, outcomes and footers as sentences."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from adapters.local import LocalChat
from adapters.local.web import env as web_env
from bot.db.models import Item
from bot.texts import texts

TEMPLATES = Path(__file__).resolve().parent.parent / "bot" / "templates"


async def _report(
    chat: LocalChat, who: str = "carol", summary: str = "Coaching gets cancelled"
) -> int:
    res = await chat.submit(who, "barrier", {"summary": summary})
    assert "Thanks" in res.text(), res.text()
    async with chat.rt.db.transaction() as s:
        return int((await s.scalars(select(Item.id).order_by(Item.id.desc()))).first() or 0)


def test_counts_choose_their_form_in_every_template_environment() -> None:
    tpl = '{{ ngettext("%(num)d member", "%(num)d members", n) }}'
    assert texts().env.from_string(tpl).render(n=1) == "1 member"
    assert texts().env.from_string(tpl).render(n=3) == "3 members"
    assert web_env().from_string(tpl).render(n=0) == "0 members"


def test_no_template_builds_a_plural_by_hand() -> None:
    """Every count-dependent word goes through `ngettext` (bot/i18n.py), never by hand."""
    web = TEMPLATES.parent.parent / "adapters" / "local" / "web_templates"
    for path in [*TEMPLATES.glob("*.j2"), *web.glob("*.html")]:
        text = path.read_text(encoding="utf-8")
        for hand_made in ('"s" if', '"es" if', "t(s)", "job(s)", "message(s)"):
            assert hand_made not in text, f"{path.name} builds a plural by hand: {hand_made}"


async def test_status_counts_one_open_item_in_the_singular(chat: LocalChat) -> None:
    await _report(chat)
    said = (await chat.say("alice", "status")).text()
    assert "1 open item." in said and "entries" not in said, said


async def test_follow_up_answers_read_as_sentences(chat: LocalChat) -> None:
    iid = await _report(chat)
    await chat.submit(
        "alice", "decide", {"note": "Fixed"}, {"item": str(iid), "decision": "resolve"}
    )
    said = (await chat.press("carol", "feedback:goal_met", str(iid))).text()
    assert "the fix met the goal" in said and "made things goal met" not in said, said
    posted = "\n".join(r.message.plain() for r in await chat.channel("lincoln"))
    assert "the reporter says *the fix met the goal*" in posted, posted
