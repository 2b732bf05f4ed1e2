"""Security at Slack's door and beyond: replayed and forged requests, oversized bodies, markup
injection in every free-text field of the loop, and an anonymity audit across Slack, the
local playground, exports and logs (errors included)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.clock import FixedClock
from bot.db.models import AuditEvent, Item, LocalMessage, Outbox, ProcessedDelivery
from bot.export import export_items
from looplink.server import MAX_BODY
from tests.fakes.serve import ServeProcess, slack_env
from tests.fakes.slack_api import TEAM_ID, FakeSlack, block_text, sign
from tests.slack_harness import BARRIER, SECRET, Slack, decide, report_barrier, running_slack

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def slack(db_url: str, clock: FixedClock, fake: FakeSlack) -> AsyncIterator[Slack]:
    async with running_slack(db_url, clock, fake) as running:
        yield running


async def nothing_happened(slack: Slack) -> None:
    await slack.settle()
    assert slack.fake.methods() == []
    assert await slack.count(Item) == 0
    assert await slack.count(ProcessedDelivery) == 0


# ---- replay protection and forged requests -----------------------------------------------


async def test_forged_stale_and_replayed_requests(slack: Slack) -> None:
    body = urlencode(
        {
            "command": "/barrier",
            "text": "x",
            "team_id": TEAM_ID,
            "user_id": "U0CAROL",
            "channel_id": "C0LINCOLN",
            "trigger_id": "1.2.forged",
        }
    )
    now = int(time.time())
    refused: list[tuple[str, int, str, dict[str, str]]] = [
        ("stale by six minutes", now - 360, sign(SECRET, now - 360, body), {}),
        ("six minutes in the future", now + 360, sign(SECRET, now + 360, body), {}),
        ("signed with another secret", now, sign("not-ours", now, body), {}),
        ("signature of another body", now, sign(SECRET, now, body + "&text=y"), {}),
        ("not a signature", now, "v0=" + "0" * 64, {}),
        ("another scheme", now, sign(SECRET, now, body).replace("v0=", "v1="), {}),
    ]
    for why, ts, signature, extra in refused:
        status, _ = await slack.user.post(
            body, FORM, timestamp=ts, signature=signature, headers=extra
        )
        assert status == 401, why
    # headers missing or malformed: refused the same way, never a 500
    for headers in (
        {"X-Slack-Request-Timestamp": "yesterday"},
        {"X-Slack-Request-Timestamp": ""},
        {"X-Slack-Request-Timestamp": "1e3"},
    ):
        resp = await slack.user.client.post(
            "/slack/events",
            data=body.encode(),
            headers={"Content-Type": FORM, "X-Slack-Signature": sign(SECRET, now, body), **headers},
        )
        assert resp.status == 401, headers
    resp = await slack.user.client.post(
        "/slack/events", data=body.encode(), headers={"Content-Type": FORM}
    )
    assert resp.status == 401
    await nothing_happened(slack)

    # a captured, valid request replayed byte for byte inside the five minutes: accepted, but
    # it is the same delivery (trigger id), so it changes nothing the second time
    signature = sign(SECRET, now, body)
    for _ in range(3):
        status, _ = await slack.user.post(body, FORM, timestamp=now, signature=signature)
        assert status == 200
    await slack.settle()
    assert len(slack.fake.to("views.open")) == 1
    assert await slack.count(ProcessedDelivery) == 1


# ---- oversized bodies --------------------------------------------------------------------


async def test_oversized_body_is_refused_before_anything_reads_it(slack: Slack) -> None:
    big = "text=" + "x" * MAX_BODY  # just over the limit, and validly signed
    status, _ = await slack.user.post(big, FORM)
    assert status == 413
    await nothing_happened(slack)

    # just under the limit: read, verified and answered clearly (the text is too long)
    form = {
        "command": "/barrier",
        "team_id": TEAM_ID,
        "user_id": "U0CAROL",
        "trigger_id": "1.2.big",
    }
    text = "x" * (MAX_BODY - len(urlencode(form)) - 100)
    status, body = await slack.user.post(urlencode({**form, "text": text}), FORM)
    assert status == 200
    assert "That message is too long" in block_text(json.loads(body)["blocks"])
    assert await slack.count(Item) == 0


@pytest.mark.slow
async def test_a_huge_streamed_body_is_cut_off_without_buffering_it(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """64 MiB sent chunked (no Content-Length) to `looplink serve`: the server answers 413
    or hangs up after about the limit, its peak memory barely moves, and it keeps serving."""
    db_url = f"sqlite:///{tmp_path / 'looplink.db'}"  # any database: nothing reaches it
    server = ServeProcess(slack_env(db_url, fake_slack), tmp_path / "serve.log").start()
    try:
        before = server.memory()["VmHWM"]
        sent = 0
        chunk = b"x" * 65536

        async def body() -> AsyncIterator[bytes]:
            nonlocal sent
            yield b"text="
            while sent < 64 * 1024 * 1024:
                sent += len(chunk)
                yield chunk

        now = int(time.time())
        headers = {
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": "v0=" + "0" * 64,
        }
        status = 0
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            try:
                async with http.post(
                    f"{server.url}/slack/events", data=body(), headers=headers
                ) as resp:
                    status = resp.status
            except (aiohttp.ClientError, ConnectionError):
                status = -1  # the server hung up while we were still sending: also a refusal
            assert status in (413, -1)
            assert sent < 32 * 1024 * 1024  # cut off long before the end
            grown = server.memory()["VmHWM"] - before
            assert grown < 24 * 1024, f"peak RSS grew by {grown} KiB"
            async with http.get(f"{server.url}/healthz") as health:
                assert health.status == 200
    finally:
        server.stop()


# ---- markup injection --------------------------------------------------------------------

INJECTION = "<!channel> <!here> ping <@U0ALICE> & <#C0STATE> see <https://evil.example|payslip>"
RAW = ("<!channel>", "<!here>", "<@U0ALICE>", "<#C0STATE>", "<https://evil.example|payslip>")


def mrkdwn(value: Any) -> Iterator[str]:
    """Every string Slack would parse as mrkdwn, anywhere in a payload."""
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            yield value["text"]
        for v in value.values():
            yield from mrkdwn(v)
    elif isinstance(value, list):
        for v in value:
            yield from mrkdwn(v)


async def test_no_free_text_field_can_ping_mention_or_forge_links(slack: Slack) -> None:
    """Every field a person types, on every surface the loop reaches: report fields, decision
    notes, the question to the reporter and the answer, kudos; channel posts, in-place edits,
    DMs, modals, ephemeral replies and App Home."""
    fake = slack.fake
    acks: list[Any] = []
    fields = {k: INJECTION for k in ("summary", "details", "subgroup", "tried", "suggestion")}
    await report_barrier(slack, {**BARRIER, **fields})
    await slack.settle()
    acks.append(await decide(slack, "U0ALICE", "C0LINCOLN", "decide:ask_info", INJECTION))
    await slack.settle()
    dm = fake.dms["U0CAROL"]
    status, _ = await slack.user.click("U0CAROL", dm, slack.message(dm), "answer")
    await slack.settle()
    status, body = await slack.user.submit("U0CAROL", slack.last_view(), {"answer": INJECTION})
    acks.append(json.loads(body))
    await slack.settle()
    acks.append(await decide(slack, "U0ALICE", "C0LINCOLN", "decide:escalate", INJECTION))
    await slack.settle()
    acks.append(await decide(slack, "U0DANA", "C0RIVERSIDE", "decide:resolve", INJECTION))
    await slack.settle()
    status, body = await slack.user.command("U0ALICE", "/kudos", f"<@U0CAROL> for {INJECTION}")
    acks.append(json.loads(body))
    await slack.user.dm("U0DANA", f"kudos @carol for {INJECTION}")
    await slack.user.open_home("U0ALICE")
    status, body = await slack.user.command("U0DANA", "/looplink", "status")
    acks.append(json.loads(body))
    await slack.settle()

    surfaces = [c.args for c in fake.calls] + acks
    texts = [t for s in surfaces for t in mrkdwn(s)]
    texts += [
        str(c.args.get("text", ""))
        for c in fake.calls
        if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")
    ]
    joined = "\n".join(texts)
    assert joined.count("&lt;!channel&gt;") >= 8  # the text is there, shown as typed...
    for raw in RAW:  # ...but never as live markup
        assert raw not in joined, raw
    methods = {c.method for c in fake.calls}
    assert {"chat.postMessage", "chat.update", "views.open", "views.publish"} <= methods


# ---- anonymity audit ---------------------------------------------------------------------

CAROL = ("carol", "Carol", "Jensen", "carol.jensen@riverside.example", "U0CAROL")


@pytest.fixture
async def slack_and_local(db_url: str, clock: FixedClock, fake: FakeSlack) -> AsyncIterator[Slack]:
    """Slack and the local playground served together: cards go to both."""
    async with running_slack(db_url, clock, fake, local_enabled=True) as running:
        yield running


async def test_anonymity_audit_slack_local_exports_and_logs(
    slack_and_local: Slack, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Carol reports anonymously and the loop runs its whole course, with errors on the way:
    Slack refusing and rate-limiting her DMs, a click she may not make, a malformed request,
    an internal failure while she answers. Her id, name and email appear nowhere: not in any
    call to Slack (except the one conversations.open that reaches her DM), not in any answer
    to anyone, not in the local playground, the exports, the audit log or the log records."""
    caplog.set_level(logging.DEBUG, logger="looplink")
    caplog.set_level(logging.INFO)
    slack = slack_and_local
    fake = slack.fake
    acks: list[str] = []
    iid = await report_barrier(slack, {**BARRIER, "anonymous": True})
    await slack.settle()

    # Alice asks the reporter; Slack refuses the DM (500), then rate-limits it (429)
    fake.refuse("conversations.open", status=500)
    fake.refuse("chat.postMessage", status=429, retry_after=2)
    acks.append(
        json.dumps(await decide(slack, "U0ALICE", "C0LINCOLN", "decide:ask_info", "Which grades?"))
    )
    for _ in range(6):
        await slack.settle()
        slack.clock.advance(seconds=30)
    dm = fake.dms["U0CAROL"]
    question = slack.message(dm)
    assert "Which grades?" in block_text(question["blocks"])

    # she clicks a decision button on the card (not hers to press), sends a malformed request
    status, body = await slack.user.click(
        "U0CAROL", "C0LINCOLN", slack.message("C0LINCOLN"), "decide:resolve"
    )
    acks.append(body)
    bad = slack.user.click_payload("U0CAROL", dm, question, "answer")
    bad["actions"] = []
    status, body = await slack.user.interact(bad)
    assert status == 400
    acks.append(body)

    # her first answer hits an internal failure; the second goes through
    import bot.engine

    real = bot.engine.Loop.provide_info
    calls = {"n": 0}

    async def failing_once(self: Any, *args: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("storage hiccup")
        return await real(self, *args, **kw)

    monkeypatch.setattr(bot.engine.Loop, "provide_info", failing_once)
    for _ in range(2):
        await slack.user.click("U0CAROL", dm, question, "answer")
        await slack.settle()
        status, body = await slack.user.submit(
            "U0CAROL", slack.last_view(), {"answer": "Grades 3-5"}
        )
        acks.append(body)
    assert calls["n"] == 2
    await slack.settle()

    # escalate, resolve (relayed down and to her), her feedback; queues and homes shown
    acks.append(
        json.dumps(await decide(slack, "U0ALICE", "C0LINCOLN", "decide:escalate", "District"))
    )
    await slack.settle()
    acks.append(json.dumps(await decide(slack, "U0DANA", "C0RIVERSIDE", "decide:resolve", "Done")))
    await slack.settle()
    await slack.user.click("U0CAROL", dm, slack.message(dm), "feedback:better")
    for user in ("U0ALICE", "U0DANA", "U0BOB"):
        await slack.user.open_home(user)
        for args in ("status", "mine"):
            acks.append((await slack.user.command(user, "/looplink", args))[1])
    await slack.settle()

    # the loop really ran, and reached her
    async with slack.server.rt.db.transaction() as s:
        item = await s.get(Item, iid)
        assert item is not None and item.state == "resolved" and item.outcome is not None
        assert item.reporter_told_at is not None
        events = (await s.scalars(select(AuditEvent).where(AuditEvent.item_id == iid))).all()
        local = (await s.scalars(select(LocalMessage))).all()
        outbox_errors = [r.last_error for r in (await s.scalars(select(Outbox))).all()]
        csv_export = await export_items(s, "csv")
        json_export = await export_items(s, "json")
        assert (await s.scalar(select(func.count()).select_from(LocalMessage)) or 0) > 0
    assert {e.action for e in events} >= {"reported", "ask_info", "info_provided", "feedback"}
    opened = [c for c in fake.calls if c.method == "conversations.open"]
    assert [c.args for c in opened if c.ok] == [{"users": "U0CAROL"}]

    # ...and her identity is nowhere else
    def clean(where: str, text: str) -> None:
        for secret in CAROL:
            assert secret not in text, f"{secret!r} in {where}: {text[:400]}"

    for call in fake.calls:
        if call.method != "conversations.open":
            clean(f"Slack {call.method}", call.text())
    for ack in acks:
        clean("an answer to a request", ack)
    for m in local:
        clean(f"local message to {m.dest_kind}", json.dumps(m.payload))
        if m.dest_kind == "team":
            clean("local team message", m.dest_id)
    for e in events:
        assert e.actor_id in (None, "alice", "dana"), e.action  # her steps have no actor
    for error in outbox_errors:
        clean("an outbox error", error)
    clean("CSV export", csv_export)
    clean("JSON export", json_export)
    records = caplog.records
    assert any(r.levelno >= logging.ERROR for r in records)  # the failures were logged...
    for r in records:  # ...without her
        clean(f"log record {r.name}", r.getMessage() + (r.exc_text or ""))
        if r.exc_info:
            clean(f"log traceback {r.name}", logging.Formatter().formatException(r.exc_info))


async def test_the_sender_never_names_a_person_it_cannot_reach(slack: Slack) -> None:
    """A DM to someone with no Slack id and no DM channel fails permanently; the error kept
    in the outbox and logged must not say who it was for (it could be an anonymous reporter
    being told the answer to their report)."""
    from bot.messages import Message
    from bot.outbox import Address, Delivery

    result = await slack.platform._sender.deliver(
        Delivery(7, Address("person", "carol", None, None), Message(text="answer"), None, None)
    )
    assert result.fix and not result.ok
    assert "carol" not in result.error and "carol" not in result.fix
    team = await slack.platform._sender.deliver(
        Delivery(8, Address("team", "lincoln", None, None), Message(text="card"), None, None)
    )
    assert "lincoln" in team.error  # a team's id helps whoever fixes the org file
