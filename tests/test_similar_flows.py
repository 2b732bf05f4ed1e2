"""Similar barriers in the loop: the reporter's "add your voice", the card's "Similar" line with
Merge and Link, clusters for leaders (command, digest, agenda) and one response to a cluster,
relayed down every path to every reporter. Anonymous reporters stay anonymous throughout."""

from __future__ import annotations

from sqlalchemy import select

from adapters.local import LocalChat
from bot.content.agenda import build_agenda
from bot.content.digest import build_digest
from bot.db.models import AuditEvent, Item, ItemLink, Team

SUBS = [
    ("carol", "Substitutes are not trained in the new reading curriculum"),  # Lincoln
    ("ivan", "Subs don't know how to run the literacy lessons so kids lose the reading block"),
    ("june", "Substitute teachers were never shown the phonics program"),  # Washington
]


async def report(chat: LocalChat, who: str, summary: str, **extra: str) -> int:
    res = await chat.submit(who, "barrier", {"summary": summary, **extra})
    assert "Thanks" in res.text(), res.text()
    async with chat.rt.db.transaction() as s:
        return int((await s.scalars(select(Item.id).order_by(Item.id.desc()))).first() or 0)


async def card(chat: LocalChat, team: str, iid: int) -> str:
    key = f"item:{iid}:team:{team}"
    async with chat.rt.db.transaction() as s:
        from bot.db.models import LocalMessage

        row = (
            await s.scalars(
                select(LocalMessage).where(LocalMessage.update_key == key).order_by(LocalMessage.id)
            )
        ).all()[-1]
    from bot.messages import Message

    return Message.from_json(row.payload).plain()


async def test_reporter_is_offered_to_add_their_voice_and_stays_anonymous(chat: LocalChat) -> None:
    first = await report(chat, "ivan", SUBS[1][1])  # Washington, named
    await chat.press("hana", "decide:escalate", str(first))
    await chat.submit(
        "hana",
        "decide",
        {"note": "district PD budget"},
        {"item": str(first), "decision": "escalate"},
    )
    second = await report(chat, "carol", SUBS[0][1], anonymous="yes")  # Lincoln, anonymous
    offer = [m.message for m in await chat.dms("carol") if "Add my voice" in m.message.plain()]
    assert len(offer) == 1, [m.message.plain() for m in await chat.dms("carol")]
    text = offer[0].plain()
    assert f"#{second} looks like #{first}" in text
    assert "already with *Riverside District Implementation Team*" in text
    assert "still without your name" in text
    voice = next(b for b in offer[0].buttons if b.action == f"voice:{first}")
    assert voice.value == str(second)

    assert (
        "Only the person who reported this"
        in (await chat.press("alice", voice.action, voice.value)).text()
    )
    res = await chat.press("carol", voice.action, voice.value)
    assert (
        f"Your voice is added to #{first}" in res.text() and "2 people have raised it" in res.text()
    )
    async with chat.rt.db.transaction() as s:
        link = (await s.scalars(select(ItemLink))).one()
        assert (link.item_id, link.other_id, link.kind, link.created_by) == (
            second,
            first,
            "voice",
            None,
        )
        events = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "voice_added"))
        ).all()
        assert [(e.item_id, e.actor_id, e.note) for e in events] == [(second, None, f"#{first}")]
    district = await card(chat, "riverside", first)
    assert "Also raised by: 1 more person (Lincoln Elementary Implementation Team)" in district
    assert "Carol" not in district
    again = await chat.press("carol", voice.action, voice.value)
    assert f"#{second} is already linked to #{first}" in again.text()

    # the answer on the first item reaches the voice too, anonymously
    await chat.submit(
        "dana",
        "decide",
        {"note": "Sub PD on 4 December for every building"},
        {"item": str(first), "decision": "resolve"},
    )
    told = [
        m.message.plain()
        for m in await chat.dms("carol")
        if "Sub PD on 4 December" in m.message.plain()
    ]
    assert len(told) == 1 and f"your barrier #{second} is part of" in told[0]


async def test_no_voice_offered_for_ones_own_earlier_report(chat: LocalChat) -> None:
    await report(chat, "carol", SUBS[0][1])
    await report(chat, "carol", SUBS[1][1])
    assert not [m for m in await chat.dms("carol") if "Add my voice" in m.message.plain()]


async def test_card_shows_similar_items_with_merge_and_link(chat: LocalChat) -> None:
    first = await report(chat, "june", SUBS[2][1])  # Washington
    second = await report(chat, "carol", SUBS[0][1])  # Lincoln
    other = await report(chat, "dev", "The copier is broken again")
    lincoln = await card(chat, "lincoln", second)
    assert f"Similar: #{first} (Washington Middle School Implementation Team)" in lincoln
    assert f"[Merge into #{first}]" in lincoln and f"[Link #{first}]" in lincoln
    assert "Similar" not in await card(chat, "lincoln", other)

    assert (
        "Only the lead or liaison"
        in (await chat.press("carol", f"merge_into:{first}", str(second))).text()
    )
    res = await chat.press("alice", f"link:{first}", str(second))
    assert f"#{second} is linked to #{first}" in res.text()
    lincoln = await card(chat, "lincoln", second)
    assert f"Linked to: #{first} (Washington Middle School Implementation Team)" in lincoln
    assert f"[Link #{first}]" not in lincoln  # linked: no longer offered
    res = await chat.press("alice", f"merge_into:{other}", str(second))
    assert "not the same" not in res.text()  # the copier was never offered, but a lead may merge

    third = await report(chat, "erin", "Subs were never trained on the phonics lessons")
    res = await chat.press("alice", f"merge_into:{first}", str(third))
    assert f"#{third} merged into #{first}" in res.text()
    async with chat.rt.db.transaction() as s:
        merged = await s.get(Item, third)
        assert merged is not None and merged.state == "merged" and merged.merged_into_id == first
    await chat.submit(
        "hana",
        "decide",
        {"note": "Subs get the phonics module"},
        {"item": str(first), "decision": "resolve"},
    )
    told = [
        m.message.plain()
        for m in await chat.dms("erin")
        if "Subs get the phonics module" in m.message.plain()
    ]
    assert len(told) == 1 and f"#{third} is part of" in told[0]


async def test_clusters_for_leaders_and_one_response_for_all(chat: LocalChat) -> None:
    ids = [await report(chat, who, text) for who, text in SUBS]
    ids.append(
        await report(
            chat,
            "maya",
            "Los suplentes no recibieron capacitación en el programa de lectura",
            anonymous="yes",
        )
    )  # Oak Grove (Millbrook)
    await report(chat, "kofi", "The copier is broken again")
    assert "for team leads" in (await chat.command("carol", "clusters")).text()

    res = await chat.command("grace", "clusters")  # the state lead: every building below
    text = res.text()
    assert "Similar barriers across the teams below State Implementation Team" in text
    assert "3 buildings, 4 people" in text and "oldest 0 days" in text
    assert all(f"#{i}" in text for i in ids) and "copier" not in text
    button = res.replies[0].buttons[0]
    assert button.action == "cluster" and sorted(map(int, button.value.split(","))) == sorted(ids)

    replies = (
        await chat.command("dana", "clusters")
    ).replies  # she leads Riverside, is State's liaison
    dana = next(m.plain() for m in replies if "below Riverside" in m.title)
    assert "2 buildings, 3 people" in dana and f"#{ids[3]}" not in dana

    async with chat.rt.db.transaction() as s:
        riverside = await s.get(Team, "riverside")
        lincoln = await s.get(Team, "lincoln")
        assert riverside is not None and lincoln is not None
        digest = await build_digest(s, riverside, chat.rt.clock.now())
        agenda = await build_agenda(s, riverside, chat.rt.clock.now())
        building = await build_agenda(s, lincoln, chat.rt.clock.now())
    assert (
        "Similar barriers across the teams below" in digest.text
        and "2 buildings, 3 people" in digest.text
    )
    assert digest.buttons and digest.buttons[0].action == "cluster"
    assert "Similar barriers across the teams below (1)" in agenda.text
    assert "Similar barriers across the teams below" not in building.text
    assert [b.action for b in building.buttons] == ["selfcheck"]  # no cluster to answer

    form = (await chat.press("dana", "cluster", button.value)).form
    assert form is not None and form.form_id == "cluster_respond"
    res = await chat.submit(
        "dana",
        "cluster_respond",
        {"decision": "resolve", "note": "Substitute PD day on 4 December, paid"},
        form.context,
    )
    assert (
        "Resolved 3 items" in res.text()
        and f"#{ids[3]} not changed: it is held by a team you do not decide for" in res.text()
    )
    for who, iid in zip(["carol", "ivan", "june"], ids[:3], strict=True):
        got = [
            m.message.plain()
            for m in await chat.dms(who)
            if "Substitute PD day" in m.message.plain()
        ]
        assert len(got) == 1 and f"#{iid}" in got[0], who
    assert not [m for m in await chat.dms("maya") if "Substitute PD day" in m.message.plain()]
    for team in ("lincoln", "washington"):
        assert any("Substitute PD day" in m.message.plain() for m in await chat.channel(team))

    res = await chat.submit(
        "grace",
        "cluster_respond",
        {"decision": "decline", "note": "State guidance covers this"},
        form.context,
    )
    assert f"Declined 1 item: #{ids[3]}" in res.text() and "it is already resolved" in res.text()
    got = [
        m.message.plain()
        for m in await chat.dms("maya")
        if "State guidance covers this" in m.message.plain()
    ]
    assert len(got) == 1
    everything = " ".join(m.message.plain() for m in await chat.channel("state"))
    assert "Maya" not in everything
