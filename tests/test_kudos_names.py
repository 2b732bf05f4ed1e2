"""Kudos (issue 15): names match whatever their case, and the giver hears where it went."""

from __future__ import annotations

from adapters.local import LocalChat


async def test_kudos_names_match_regardless_of_case(chat: LocalChat) -> None:
    for target in ("@Alice", "@ALICE", "Alice Reyes".upper()):
        res = await chat.command("carol", "kudos", f"{target} for running the data review")
        assert "Recognition sent to *Alice Reyes*" in res.text(), (target, res.text())
    team = await chat.command("carol", "kudos", "@Lincoln for a great data meeting")
    assert "Recognition posted in *Lincoln Elementary Implementation Team*'s channel" in team.text()


async def test_kudos_confirmation_says_where_it_was_posted(chat: LocalChat) -> None:
    res = await chat.command("carol", "kudos", "@dana for the substitute budget")
    said = res.text()
    assert "Recognition sent to *Dana" in said and "by direct message" in said
    assert "posted in *Riverside District Implementation Team*'s channel" in said, said
    assert 'Thank you for noticing: "the substitute budget"' in said
    posted = [r.message.text for r in await chat.channel("riverside")]
    assert any("the substitute budget" in t for t in posted)
