"""Teams behaviour over real HTTP: duplicates, authorisation, retries, authentication, invoke
responses, private answers in channels, proactive conversations, and the fallbacks."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import (
    AuditEvent,
    Base,
    ConversationRef,
    Item,
    Outbox,
    PlatformId,
    PostedMessage,
    ProcessedDelivery,
)
from tests.fakes.connector import action, card_text
from tests.fakes.teams_client import (
    BOT_ID,
    MARA,
    MAYA,
    MILLBROOK,
    OAKGROVE,
    QUINN,
    TENANT,
    TeamsUser,
    user,
)
from tests.teams_world import World, teams_world
from tests.test_teams_loop import (
    BARRIER_INPUTS,
    RESOLUTION,
    install_everywhere,
    item_card,
    report_with_form,
    titles,
)

APP_ID = "0f4d1c1e-5b1c-4e8e-9a55-1b2c3d4e5f60"


async def count(w: World, model: type[Base], *where: ColumnElement[bool]) -> int:
    async with w.server.rt.db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_install_welcome_and_step_by_step_report(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        r = await w.teams.install_personal(QUINN)
        assert r.status == 200
        welcome = w.connector.to(QUINN.personal_conversation)
        assert len(welcome) == 1 and "report a barrier" in welcome[0].text()
        assert await count(w, ConversationRef, ConversationRef.owner_id == "quinn") == 1

        await w.teams.say(QUINN, "barrier The reading screener arrives late")
        answers = [
            "Every benchmark window",
            "students: English learners",
            "4",
            "skip",
            "skip",  # whose control (issue 15)
            "skip",  # how they know (issue 15)
            "skip",
            "Direct access to the dashboard",
            "high",
            "no",
        ]
        for text in answers:
            r = await w.teams.say(QUINN, text)
            assert r.status == 200
        assert (
            "Ready to send this to your team?"
            in w.connector.to(QUINN.personal_conversation)[-1].text()
        )
        await w.teams.say(QUINN, "send")
        assert "is with **Oak Grove" in w.connector.to(QUINN.personal_conversation)[-1].text()
        item = (await w.items())[0]
        assert (item.summary, item.subgroup, item.urgency, item.source) == (
            "The reading screener arrives late",
            "English learners",
            "high",
            "teams",
        )


async def test_duplicate_deliveries_change_nothing(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        await w.teams.say(QUINN, "help")
        help_card = w.connector.to(QUINN.personal_conversation)[-1].card
        form = (await w.teams.execute(QUINN, action(help_card, "Report a barrier"))).card

        # Teams delivers the same submission twice: one report
        first = await w.teams.execute(
            QUINN, action(form, "Send to my team"), BARRIER_INPUTS, activity_id="f:same-submit"
        )
        again = await w.teams.execute(
            QUINN, action(form, "Send to my team"), BARRIER_INPUTS, activity_id="f:same-submit"
        )
        assert "is with" in card_text(first.card)
        assert again.message == "That was already done."
        assert len(await w.items()) == 1
        await w.deliver()

        # ... and the same decision twice: one decision
        card = item_card(w, OAKGROVE, 1)
        for _ in range(2):
            await w.teams.execute(
                MAYA,
                action(card.card, "Acknowledge"),
                channel=OAKGROVE,
                reply_to=card.activity_id,
                activity_id="f:same-ack",
            )
        assert await count(w, AuditEvent, AuditEvent.action == "acknowledge") == 1

        # ... and the same typed message twice: one answer
        await w.deliver()  # Quinn hears her report was picked up (issue 15) before we count
        before = len(w.connector.to(QUINN.personal_conversation))
        for _ in range(2):
            await w.teams.say(QUINN, "mine", activity_id="1700000000999")
        assert len(w.connector.to(QUINN.personal_conversation)) == before + 1


async def test_unauthorised_decision_changes_nothing(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        iid = await report_with_form(w, QUINN, anonymous=False)
        await w.deliver()
        card = item_card(w, OAKGROVE, iid)
        writes, rows = len(w.connector.writes()), len(await w.outbox())

        # Quinn is a member of Oak Grove, not its lead: the card answers her, politely
        r = await w.teams.execute(
            QUINN, action(card.card, "Resolve here"), channel=OAKGROVE, reply_to=card.activity_id
        )
        assert r.status == 200
        shown = card_text(r.card)
        assert "Only the lead or liaison of Oak Grove Elementary Implementation Team" in shown
        assert "Resolve here" in titles(r.card)  # the card itself, unchanged, under the notice

        # someone outside the org entirely
        stranger = user("29:stranger", "Sam Stranger")
        r = await w.teams.execute(
            stranger, action(card.card, "Escalate"), channel=OAKGROVE, reply_to=card.activity_id
        )
        assert "I don't know you yet" in card_text(r.card)

        assert (await w.items())[0].state == "new"
        assert await count(w, AuditEvent, AuditEvent.action != "reported") == 0
        assert len(await w.outbox()) == rows
        assert await w.deliver() == 0
        assert len(w.connector.writes()) == writes


async def test_outbox_retries_429_and_500_then_delivers(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        await report_with_form(w, QUINN, anonymous=False)
        w.connector.fail(429, retry_after="7")
        assert await w.deliver() == 0
        row = next(r for r in await w.outbox() if r.dest_id == "oakgrove")
        assert row.status == "pending" and "429" in row.last_error
        assert row.next_attempt_at == clock.now() + timedelta(seconds=7)  # Retry-After respected

        clock.advance(seconds=5)
        assert await w.deliver() == 0  # not yet
        clock.advance(seconds=3)
        w.connector.fail(500)
        assert await w.deliver() == 0
        row = next(r for r in await w.outbox() if r.dest_id == "oakgrove")
        assert row.status == "pending" and "500" in row.last_error and row.attempts == 2

        clock.advance(seconds=10)
        assert await w.deliver() == 1
        assert len(w.connector.to(OAKGROVE)) == 1  # exactly one card, despite three attempts
        assert [c.method for c in w.connector.calls if c.conversation_id == OAKGROVE] == [
            "POST"
        ] * 3
        row = next(r for r in await w.outbox() if r.dest_id == "oakgrove")
        assert row.status == "sent" and row.last_error == ""

        # 403 (the app is not installed there): parked, retried later, the admin told why
        # (Quinn switched from steps to the form above; her next message is a new command)
        await w.teams.say(QUINN, "kudos @29:maya for the data review")
        assert "Recognition sent" in w.connector.to(QUINN.personal_conversation)[-1].text()
        w.connector.fail(403, times=2)
        await w.deliver()
        parked = [r for r in await w.outbox() if r.status == "parked"]
        assert parked and all("403" in r.last_error and "install" in r.fix for r in parked)
        clock.advance(minutes=1)
        await w.deliver()
        assert {r.status for r in await w.outbox()} == {"sent"}
        # 400 (Teams rejects the card itself): permanent, kept for the admin
        await w.teams.say(QUINN, "kudos @29:maya for the agenda")
        w.connector.fail(400, times=2)
        await w.deliver()
        failed = [r for r in await w.outbox() if r.status == "failed"]
        assert failed and all("400" in r.last_error for r in failed)


async def test_an_app_id_requires_a_valid_token(db_url: str, clock: FixedClock) -> None:
    async with teams_world(
        db_url, clock, teams_app_id=APP_ID, teams_app_password="not-a-real-secret"
    ) as w:
        r = await w.teams.say(QUINN, "barrier the screener is late")
        assert r.status == 401
        w.teams.headers["Authorization"] = "Bearer not.a.token"
        r = await w.teams.say(QUINN, "barrier the screener is late")
        assert r.status == 401
        invoke = await w.teams.execute(
            MAYA, {"type": "Action.Execute", "data": {"looplink": "action", "action": "mine"}}
        )
        assert invoke.status == 401
        assert w.connector.calls == []
        assert await count(w, ProcessedDelivery) == 0
        assert await count(w, ConversationRef) == 0


async def test_invoke_responses_over_http(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        await w.teams.say(QUINN, "help")
        help_card = w.connector.to(QUINN.personal_conversation)[-1].card
        act = action(help_card, "Report a barrier")
        activity = {
            "type": "invoke",
            "name": "adaptiveCard/action",
            "id": "f:raw-1",
            "channelId": "msteams",
            "serviceUrl": w.connector.url,
            "from": {"id": QUINN.id, "name": QUINN.name, "aadObjectId": QUINN.aad},
            "recipient": {"id": BOT_ID, "name": "Looplink"},
            "conversation": {
                "conversationType": "personal",
                "tenantId": TENANT,
                "id": QUINN.personal_conversation,
            },
            "channelData": {"tenant": {"id": TENANT}},
            "value": {
                "action": {"type": "Action.Execute", "verb": act["verb"], "data": act["data"]}
            },
        }
        async with aiohttp.ClientSession() as http:
            async with http.post(w.teams.bot_url, json=activity) as r:
                assert r.status == 200
                assert r.content_type == "application/json"
                body = json.loads(await r.text())
            assert body["statusCode"] == 200
            assert body["type"] == "application/vnd.microsoft.card.adaptive"
            assert body["value"]["type"] == "AdaptiveCard" and body["value"]["version"] == "1.5"

            other = {**activity, "id": "f:raw-2", "name": "task/fetch"}
            async with http.post(w.teams.bot_url, json=other) as r:
                assert r.status == 501
            async with http.post(
                w.teams.bot_url, data="{", headers={"Content-Type": "application/json"}
            ) as r:
                assert r.status == 400
            async with http.post(w.teams.bot_url, data="hello") as r:
                assert r.status == 415


async def test_cancel_shows_the_card_again(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        iid = await report_with_form(w, QUINN, anonymous=False)
        await w.deliver()
        card = item_card(w, OAKGROVE, iid)
        form = await w.teams.execute(
            MAYA, action(card.card, "Decline"), channel=OAKGROVE, reply_to=card.activity_id
        )
        assert "Decline #" in card_text(form.card)
        back = await w.teams.execute(
            MAYA, action(form.card, "Cancel"), channel=OAKGROVE, reply_to=card.activity_id
        )
        assert titles(back.card) == titles(card.card)
        assert f"Barrier #{iid}:" in card_text(back.card)
        assert (await w.items())[0].state == "new"

        # a card is only ever shown again where it belongs: not in another team's channel
        forged = await w.teams.execute(MARA, action(form.card, "Cancel"), channel=MILLBROOK)
        assert card_text(forged.card) == "Cancelled. Nothing was sent."


async def test_channel_commands_are_answered_privately(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        await report_with_form(w, QUINN, anonymous=True)
        thread_before = len(w.connector.to(OAKGROVE))

        # Quinn asks for her reports in the team channel: the list goes to her personal chat
        r = await w.teams.mention(QUINN, OAKGROVE, "mine")
        assert r.status == 200
        mine = w.connector.to(QUINN.personal_conversation)[-1]
        assert "Your reports" in mine.text() and BARRIER_INPUTS["in_summary"] in mine.text()
        thread = w.connector.to(OAKGROVE)[thread_before:]
        assert len(thread) == 1 and "answered you in our personal chat" in thread[0].text()
        assert BARRIER_INPUTS["in_summary"] not in thread[0].text()
        reply = [c for c in w.connector.calls if c.conversation_id.startswith(OAKGROVE + ";")][-1]
        assert reply.activity_id  # a reply in the thread of the message that asked

        # Maya has never opened a personal chat: one is created for her
        r = await w.teams.mention(MAYA, OAKGROVE, "status")
        created = [c for c in w.connector.calls if c.path == "/v3/conversations"]
        assert len(created) == 1
        assert created[0].body["members"] == [{"id": MAYA.id}]
        assert created[0].body["bot"] == {"id": BOT_ID}
        assert created[0].body["tenantId"] == TENANT
        async with w.server.rt.db.transaction() as s:
            ref = await s.get(ConversationRef, ("person", "maya", "teams"))
        assert ref is not None
        maya_chat = ref.ref["conversation"]["id"]
        assert (
            "Oak Grove Elementary Implementation Team: queue"
            in w.connector.to(maya_chat)[-1].text()
        )

        # Mara's personal chat cannot be opened (the app is not installed for her)
        w.connector.fail(403, methods=("POST",))
        await w.teams.mention(MARA, MILLBROOK, "status")
        assert "can't open a personal chat with you yet" in w.connector.to(MILLBROOK)[-1].text()


async def test_action_submit_from_older_clients(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        await w.teams.say(QUINN, "help")
        help_card = w.connector.to(QUINN.personal_conversation)[-1].card
        r = await w.teams.submit(QUINN, action(help_card, "Report a barrier"))
        assert r.status == 200
        form = w.connector.to(QUINN.personal_conversation)[-1].card
        assert "Report a barrier" in card_text(form)
        await w.teams.submit(QUINN, action(form, "Send to my team"), {"in_summary": ""})
        assert (
            "Please say what is getting in the way"
            in w.connector.to(QUINN.personal_conversation)[-1].text()
        )
        await w.teams.submit(QUINN, action(form, "Send to my team"), BARRIER_INPUTS)
        thanks = w.connector.to(QUINN.personal_conversation)[-1]
        assert "is with" in thanks.text()
        assert len(await w.items()) == 1

        # a plain button: its reply is posted once, as a new message
        before = len(w.connector.to(QUINN.personal_conversation))
        await w.teams.submit(QUINN, action(thanks.card, "My reports"))
        chat = w.connector.to(QUINN.personal_conversation)
        assert len(chat) == before + 1 and "Your reports" in chat[-1].text()
        # the same through Action.Execute: posted in the chat, and a short invoke answer
        r = await w.teams.execute(QUINN, action(thanks.card, "My reports"))
        assert r.message == "Done."
        chat = w.connector.to(QUINN.personal_conversation)
        assert len(chat) == before + 2 and "Your reports" in chat[-1].text()


async def test_kudos_with_a_mention_reaches_people_without_a_stored_chat(
    db_url: str, clock: FixedClock
) -> None:
    """No reference for Maya or Oak Grove's channel yet: a personal chat is created for Maya,
    and the channel reference is built from the org file and the newest serviceUrl."""
    async with teams_world(db_url, clock) as w:
        text = "kudos <at>Maya Singh</at> for running the data review so well"
        activity = {
            **w.teams._base(QUINN, w.teams.personal(QUINN)),
            "type": "message",
            "id": w.teams.new_id(),
            "text": text,
            "entities": [
                {
                    "type": "mention",
                    "text": "<at>Maya Singh</at>",
                    "mentioned": {"id": MAYA.id, "name": MAYA.name},
                }
            ],
            "channelData": {"tenant": {"id": TENANT}},
        }
        assert (await w.teams.send(activity)).status == 200
        assert "Recognition sent" in w.connector.to(QUINN.personal_conversation)[-1].text()
        assert await w.deliver() == 2
        created = [c for c in w.connector.calls if c.path == "/v3/conversations"]
        assert len(created) == 1 and created[0].body["members"] == [{"id": MAYA.id}]
        async with w.server.rt.db.transaction() as s:
            maya = await s.get(ConversationRef, ("person", "maya", "teams"))
            team = await s.get(ConversationRef, ("team", "oakgrove", "teams"))
        assert maya is not None and team is not None
        assert team.ref["conversation"]["id"] == OAKGROVE
        for conv in (maya.ref["conversation"]["id"], OAKGROVE):
            assert (
                "Quinn Murphy recognises **Maya Singh**: running the data review so well"
                in w.connector.to(conv)[-1].text()
            )


async def test_no_teams_contact_yet_is_retried_until_teams_has_called(
    db_url: str, clock: FixedClock
) -> None:
    async with teams_world(db_url, clock, local_enabled=True) as w:
        # a report made outside Teams (the local playground) for a team whose channel is in Teams
        chat = LocalChat(w.server.rt)
        await chat.submit("quinn", "barrier", {"summary": "Laptops for the screener"})  # delivers
        local = next(r for r in await w.outbox() if r.platform == "local")
        assert local.status == "sent"
        row = next(r for r in await w.outbox() if r.platform == "teams")
        assert row.status == "parked" and "no serviceUrl known" in row.last_error
        assert "install the Looplink app" in row.fix
        # the app is installed in the team; the retry goes out
        await w.teams.install_team(MAYA, OAKGROVE)
        clock.advance(seconds=60)
        await w.deliver()
        assert "Laptops for the screener" in w.connector.to(OAKGROVE)[-1].text()


async def test_a_deleted_card_is_posted_again(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        iid = await report_with_form(w, QUINN, anonymous=False)
        await w.deliver()
        card = item_card(w, OAKGROVE, iid)
        del w.connector.posted[(OAKGROVE, card.activity_id)]  # someone deleted the message
        await w.teams.execute(
            MAYA, action(card.card, "Acknowledge"), channel=OAKGROVE, reply_to=card.activity_id
        )
        await w.deliver()
        again = item_card(w, OAKGROVE, iid)
        assert again.activity_id != card.activity_id and "Acknowledged" in again.text()
        async with w.server.rt.db.transaction() as s:
            posted = await s.get(PostedMessage, (f"item:{iid}:team:oakgrove", "teams"))
        assert posted is not None and posted.ref["activity_id"] == again.activity_id


async def test_people_are_matched_by_aad_id_or_roster_email(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        # a Teams id the org file does not know, with the Entra object id of a person it does
        async with w.server.rt.db.transaction() as s:
            s.add(
                PlatformId(
                    owner_kind="person",
                    owner_id="jorge",
                    key="teams_aad",
                    scope=TENANT,
                    platform="teams",
                    rank=1,
                    value="5f1c0de0-0000-4000-8000-00000000a0e0",
                )
            )
        jorge = TeamsUser(
            "29:1a2b3c-jorge-new-device", "J. Medina", "5f1c0de0-0000-4000-8000-00000000a0e0"
        )
        await w.teams.say(jorge, "mine")
        assert (
            "You have not reported anything yet"
            in w.connector.to(jorge.personal_conversation)[-1].text()
        )
        # a Teams id the org file does not know, but the roster gives an email: only a person
        # without a Teams identity in this tenant is linked by it (issue 10; test_identity.py)
        other = user("29:1a2b3c-quinn-new-device", "Q. Murphy")
        w.connector.members[other.id] = {"id": other.id, "email": "Quinn.Murphy@millbrook.example"}
        await w.teams.say(other, "mine")
        assert "I don't know you yet" in w.connector.to(other.personal_conversation)[-1].text()
        # nobody at all
        stranger = user("29:stranger", "Sam Stranger")
        await w.teams.say(stranger, "mine")
        assert "I don't know you yet" in w.connector.to(stranger.personal_conversation)[-1].text()


async def test_a_decision_made_outside_teams_is_relayed_back_to_teams(
    db_url: str, clock: FixedClock
) -> None:
    """Cross-platform: reported and escalated in Teams, resolved on another platform (the
    local adapter stands in for Slack here), and the answer reaches the reporter in Teams."""
    async with teams_world(db_url, clock, local_enabled=True) as w:
        await install_everywhere(w)
        iid = await report_with_form(w, QUINN, anonymous=False)
        await w.deliver()
        chat = LocalChat(w.server.rt)
        await chat.submit(
            "maya",
            "decide",
            {"note": "District contract"},
            {"item": str(iid), "decision": "escalate"},
        )
        await chat.submit(
            "mara", "decide", {"note": RESOLUTION}, {"item": str(iid), "decision": "resolve"}
        )
        await w.deliver()
        assert "Resolved by Mara Quispe on" in item_card(w, MILLBROOK, iid).text()
        assert RESOLUTION in w.connector.to(QUINN.personal_conversation)[-1].text()
        async with w.server.rt.db.transaction() as s:
            item = await s.get(Item, iid)
            rows = (await s.scalars(select(Outbox).where(Outbox.dest_kind == "person"))).all()
        assert item is not None and item.reporter_told_at is not None
        assert {r.platform for r in rows if r.dest_id == "quinn"} == {"teams"}


async def test_start_says_whether_requests_are_authenticated(
    db_url: str, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="looplink.teams")
    async with teams_world(db_url, clock):
        pass
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("accepts UNAUTHENTICATED requests" in r.getMessage() for r in warning)
    caplog.clear()
    async with teams_world(db_url, clock, teams_app_id=APP_ID, teams_app_password="x"):
        pass
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"requires Bot Framework tokens for app {APP_ID}" in m for m in messages)
    assert not any("UNAUTHENTICATED" in m for m in messages)


def test_settings_mistakes_are_clear_at_start() -> None:
    from adapters.teams.auth import bot_config
    from adapters.teams.settings import TeamsSettings
    from bot.settings import SettingsError

    for settings, expected in (
        (TeamsSettings(app_id=APP_ID), "MICROSOFT_APP_PASSWORD is not"),
        (
            TeamsSettings(app_id=APP_ID, app_password="x", app_type="SingleTenant"),
            "needs MICROSOFT_APP_TENANT_ID",
        ),
        (TeamsSettings(app_type="Personal"), "use MultiTenant, SingleTenant or UserAssignedMSI"),
    ):
        with pytest.raises(SettingsError, match=expected):
            bot_config(settings, "127.0.0.1")
    ok = bot_config(
        TeamsSettings(
            app_id=APP_ID,
            app_password="x",
            app_type="singletenant",
            tenant_id="t",
        ),
        "127.0.0.1",
    )
    assert ok.APP_TYPE == "SingleTenant"


async def test_asking_the_reporter_and_their_answer(db_url: str, clock: FixedClock) -> None:
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        iid = await report_with_form(w, QUINN, anonymous=True)
        await w.deliver()
        card = item_card(w, OAKGROVE, iid)
        form = await w.teams.execute(
            MAYA, action(card.card, "Ask reporter"), channel=OAKGROVE, reply_to=card.activity_id
        )
        await w.teams.execute(
            MAYA,
            action(form.card, "Confirm"),
            {"in_note": "Which grades does it affect?"},
            channel=OAKGROVE,
            reply_to=card.activity_id,
        )
        await w.deliver()
        question = w.connector.to(QUINN.personal_conversation)[-1]
        assert "Which grades does it affect?" in question.text()
        assert "passed on without your name" in question.text()

        answer_form = await w.teams.execute(QUINN, action(question.card, "Answer"))
        sent = await w.teams.execute(
            QUINN, action(answer_form.card, "Send answer"), {"in_answer": "Grades 1 and 2"}
        )
        assert f"your answer on #{iid} was passed to the team" in card_text(sent.card)
        await w.deliver()
        told = [p for p in w.connector.to(OAKGROVE) if "Grades 1 and 2" in p.text()]
        assert len(told) == 1 and "The reporter of #" in told[0].text()
        assert "Quinn" not in told[0].text()
        assert (await w.items())[0].state == "new"  # back to where it was before the question


async def test_a_team_moved_to_another_channel_is_posted_there(
    db_url: str, clock: FixedClock
) -> None:
    async with teams_world(db_url, clock) as w:
        await install_everywhere(w)
        async with w.server.rt.db.transaction() as s:  # the org file now names a new channel
            channel = await s.get(PlatformId, ("team", "oakgrove", "teams", TENANT))
            assert channel is not None
            channel.value = "19:oakgrove-new@thread.tacv2"
        iid = await report_with_form(w, QUINN, anonymous=False)
        await w.deliver()
        assert w.connector.to(OAKGROVE) == []
        assert item_card(w, "19:oakgrove-new@thread.tacv2", iid)
        async with w.server.rt.db.transaction() as s:
            ref = await s.get(ConversationRef, ("team", "oakgrove", "teams"))
        assert ref is not None and ref.ref["conversation"]["id"] == "19:oakgrove-new@thread.tacv2"
