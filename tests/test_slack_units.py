"""The Slack adapter's parts on their own: Block Kit rendering, text translation, the sender
(against the fake Slack over HTTP) and the manifest command."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import (
    MAX_MESSAGE_BLOCKS,
    escape,
    fit,
    form_view,
    message_blocks,
    messages_blocks,
    neutral_action,
    read_submission,
)
from adapters.slack.inbound import to_plain, tokens
from adapters.slack.sender import SlackSender
from bot.domain import Decision
from bot.messages import Button, Form, FormField, Message, Option
from bot.outbox import Address, Delivery
from flows.forms import decide_form, kudos_form, report_form
from looplink.cli import main
from tests.fakes.slack_api import FakeSlack, fill

# ---- rendering ---------------------------------------------------------------------------


def test_escape_defuses_every_slack_control_sequence() -> None:
    assert escape("<!channel> <@U1> <#C1> <https://x|y> a & b") == (
        "&lt;!channel&gt; &lt;@U1&gt; &lt;#C1&gt; &lt;https://x|y&gt; a &amp; b"
    )
    assert escape("&lt;") == "&amp;lt;"  # already-escaped text stays what the person typed


@given(st.text(alphabet="ab&<> \n", max_size=400), st.integers(min_value=2, max_value=120))
def test_fit_never_cuts_an_entity_and_respects_the_limit(text: str, limit: int) -> None:
    out = fit(text, limit)
    assert len(out) <= limit
    core = out.removesuffix("…")
    # no raw control characters, and no half entity at the end
    assert "<" not in core and ">" not in core
    assert core.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").count("&") == 0


def test_long_text_many_fields_and_buttons_fit_block_kit_limits() -> None:
    long = ("line with <tags> & more\n" * 400).strip()
    m = Message(
        title="T" * 400,
        text=long,
        fields=tuple((f"k{i}", "v" * 3000) for i in range(23)),
        buttons=tuple(Button(f"b{i}", "decide:x", str(i)) for i in range(30)),
        footer="f" * 4000,
    )
    blocks = message_blocks(m)
    header = blocks[0]["text"]["text"]
    assert len(header) == 150 and header.endswith("…")
    sections = [b for b in blocks if b["type"] == "section" and "text" in b]
    assert len(sections) > 1 and all(len(b["text"]["text"]) <= 3000 for b in sections)
    joined = "\n".join(b["text"]["text"] for b in sections)
    assert joined == escape(long)  # split at line breaks, nothing lost
    field_blocks = [b for b in blocks if "fields" in b]
    assert [len(b["fields"]) for b in field_blocks] == [10, 10, 3]
    assert all(len(f["text"]) <= 2000 for b in field_blocks for f in b["fields"])
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [len(b["elements"]) for b in actions] == [25, 5]
    ids = [e["action_id"] for b in actions for e in b["elements"]]
    assert len(set(ids)) == 30 and {neutral_action(i) for i in ids} == {"decide:x"}
    assert len(blocks[-1]["elements"][0]["text"]) <= 3000


def test_many_messages_stay_within_the_block_limit() -> None:
    many = [Message(title=f"m{i}", text="x", fields=(("a", "b"),)) for i in range(40)]
    blocks = messages_blocks(many)
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    assert blocks[-1]["elements"][0]["text"] == "(more not shown)"


def test_every_form_round_trips_through_a_modal() -> None:
    form = report_form("barrier", "late data", "Your team is small.")
    view = form_view(form)
    assert view["title"]["text"] == "Report a barrier"
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"]}
    assert kinds["summary"] == "plain_text_input" and kinds["affected"] == "multi_static_select"
    assert kinds["driver"] == "static_select" and kinds["anonymous"] == "checkboxes"
    assert view["blocks"][-1]["hint"]["text"] == "Your team is small."
    driver = next(b for b in view["blocks"] if b["block_id"] == "driver")
    assert driver["element"]["initial_option"]["value"] == "other"
    submitted = {
        **view,
        "state": {
            "values": fill(
                view,
                {"affected": ["students", "families"], "anonymous": True, "urgency": "high"},
            )
        },
    }
    sub = read_submission(submitted)
    assert sub.form_id == "barrier" and sub.context == {}
    assert sub.values["summary"] == "late data"
    assert sub.values["affected"] == "students,families"
    assert sub.values["anonymous"] == "yes" and sub.values["urgency"] == "high"
    assert sub.values["driver"] == "other" and sub.values["stage"] == ""

    decide = form_view(decide_form(7, Decision.ASSIGN, "Assign"))
    assert json.loads(decide["private_metadata"]) == {
        "form_id": "decide",
        "context": {"item": "7", "decision": "assign"},
    }
    owner = decide["blocks"][0]
    assert owner["element"]["type"] == "users_select"
    sub = read_submission({**decide, "state": {"values": fill(decide, {"owner": "U0DEV"})}})
    assert sub.users == {"owner": "U0DEV"}

    kudos = form_view(kudos_form(target="@carol"), {"target": "U0CAROL"})
    assert kudos["blocks"][0]["element"]["initial_user"] == "U0CAROL"


def test_modal_text_limits() -> None:
    form = Form(
        "barrier",
        "A title much longer than Slack allows",
        (
            FormField("a", "L" * 3000, "select", options=(Option("v", "O" * 100),)),
            FormField("b", "B", "textarea", initial="x" * 5000),
        ),
        submit_label="Send it to my whole team now",
    )
    view = form_view(form)
    assert len(view["title"]["text"]) == 24 and len(view["submit"]["text"]) == 24
    assert len(view["blocks"][0]["label"]["text"]) == 2000
    assert len(view["blocks"][0]["element"]["options"][0]["text"]["text"]) == 75
    assert len(view["blocks"][1]["element"]["initial_value"]) == 3000


# ---- inbound text ------------------------------------------------------------------------


def test_slack_markup_becomes_plain_text() -> None:
    text = (
        "thanks <@U0CAROL|carol> and <@U0NOBODY|someone> and <@U0BARE> in <#C0LINCOLN|lincoln>"
        " <!here> <!subteam^S1|@coaches> <https://a.example/x?y=1&amp;z=2|the doc>"
        " <https://b.example> 1 &lt; 2 &amp;&amp; 3 &gt; 2 &amp;lt;"
    )
    assert tokens(text) == ({"U0CAROL", "U0NOBODY", "U0BARE"}, {"C0LINCOLN"})
    out = to_plain(text, {"U0CAROL": "carol"}, {"C0LINCOLN": "lincoln"})
    assert out == (
        "thanks @carol and @someone and @U0BARE in #lincoln @here @coaches"
        " the doc (https://a.example/x?y=1&z=2) https://b.example 1 < 2 && 3 > 2 &lt;"
    )


# ---- the sender --------------------------------------------------------------------------


def delivery(
    dest_kind: str = "team",
    platform_id: str | None = "C0LINCOLN",
    previous: dict[str, str] | None = None,
    ref: dict[str, str] | None = None,
    text: str = "hello",
) -> Delivery:
    return Delivery(
        1,
        Address(dest_kind, "x", platform_id, ref),
        Message(text=text),
        "k" if previous else None,
        previous,
    )


def sender_for(fake: FakeSlack, **kw: object) -> SlackSender:
    client = AsyncWebClient(token=fake.token, base_url=fake.api_url, retry_handlers=[])
    return SlackSender(client, **kw)  # type: ignore[arg-type]


async def test_posts_are_paced_per_channel(fake: FakeSlack) -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    sender = sender_for(fake, monotonic=lambda: now[0], sleep=sleep)
    assert (await sender.deliver(delivery())).ok
    now[0] += 0.25
    assert (await sender.deliver(delivery())).ok  # same channel: waits the rest of a second
    assert (await sender.deliver(delivery(platform_id="C0STATE"))).ok  # another channel: no wait
    now[0] += 5
    assert (await sender.deliver(delivery())).ok  # long enough since the last post
    assert slept == [0.75]
    assert [c.args["channel"] for c in fake.to("chat.postMessage")] == [
        "C0LINCOLN",
        "C0LINCOLN",
        "C0STATE",
        "C0LINCOLN",
    ]


async def test_update_in_place_and_repost_when_the_message_is_gone(fake: FakeSlack) -> None:
    sender = sender_for(fake, min_interval=0)
    first = await sender.deliver(delivery())
    assert first.ok and first.ref is not None
    again = await sender.deliver(delivery(previous=first.ref, text="changed"))
    assert again.ok and again.ref == first.ref
    [update] = fake.to("chat.update")
    assert update.args["ts"] == first.ref["ts"] and update.args["text"] == "changed"
    gone = await sender.deliver(delivery(previous={"channel": "C0LINCOLN", "ts": "1.2"}))
    assert gone.ok and gone.ref is not None and gone.ref["ts"] != "1.2"
    assert len(fake.to("chat.postMessage")) == 2


async def test_dm_opens_the_conversation_once_and_hands_back_the_reference(
    fake: FakeSlack,
) -> None:
    sender = sender_for(fake, min_interval=0)
    r = await sender.deliver(delivery("person", "U0CAROL"))
    assert r.ok and r.conversation == {"channel": fake.dms["U0CAROL"]}
    r2 = await sender.deliver(delivery("person", "U0CAROL", ref=r.conversation))
    assert r2.ok and r2.conversation is None
    assert len(fake.to("conversations.open")) == 1
    nobody = await sender.deliver(delivery("person", None))
    assert not nobody.ok and not nobody.permanent and "org file" in nobody.fix


async def test_error_mapping(fake: FakeSlack) -> None:
    sender = sender_for(fake, min_interval=0)
    fake.refuse("chat.postMessage", status=429, retry_after=7)
    r = await sender.deliver(delivery())
    assert (r.ok, r.retry_after, r.permanent) == (False, 7.0, False)
    fake.refuse("chat.postMessage", status=500)
    r = await sender.deliver(delivery())
    assert (r.ok, r.retry_after, r.permanent) == (False, None, False)
    fake.refuse("chat.postMessage", status=200, error="internal_error")
    assert not (await sender.deliver(delivery())).permanent
    # refusals someone can fix: retried later, with what to fix
    for error in ("channel_not_found", "not_in_channel", "invalid_auth", "is_archived", "odd"):
        fake.refuse("chat.postMessage", status=200, error=error)
        r = await sender.deliver(delivery())
        assert (r.ok, r.permanent) == (False, False) and error in r.error and r.fix
        assert r.platform_wide == (error == "invalid_auth")
    # refusals of the message itself: permanent (kept for the admin)
    for error in ("msg_too_long", "invalid_blocks"):
        fake.refuse("chat.postMessage", status=200, error=error)
        r = await sender.deliver(delivery())
        assert (r.ok, r.permanent) == (False, True) and error in r.error
    bad_token = SlackSender(AsyncWebClient(token="xoxb-wrong", base_url=fake.api_url))
    r = await bad_token.deliver(delivery())
    assert not r.permanent and r.platform_wide and "SLACK_BOT_TOKEN" in r.fix


async def test_network_failure_is_retried_later() -> None:
    client = AsyncWebClient(token="t", base_url="http://127.0.0.1:9/api/", retry_handlers=[])
    r = await SlackSender(client, min_interval=0).deliver(delivery())
    assert not r.ok and not r.permanent and r.error.startswith("network:")


# ---- the manifest ------------------------------------------------------------------------


def test_manifest_command_prints_a_complete_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slack", "manifest", "--url", "https://looplink.example.org/"]) == 0
    m = yaml.safe_load(capsys.readouterr().out)
    url = "https://looplink.example.org/slack/events"
    commands = {c["command"]: c for c in m["features"]["slash_commands"]}
    assert sorted(commands) == [
        "/barrera",
        "/barrier",
        "/exito",
        "/kudos",
        "/looplink",
        "/reconocer",
        "/success",
    ]  # the Spanish ones too (issue 17)
    assert all(c["url"] == url and c["should_escape"] for c in commands.values())
    shortcuts = {s["callback_id"]: s for s in m["features"]["shortcuts"]}
    assert shortcuts["report_as_barrier"]["type"] == "message"
    assert shortcuts["report_as_barrier"]["name"] == "Report as barrier"
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    assert m["features"]["app_home"]["messages_tab_enabled"] is True
    events = m["settings"]["event_subscriptions"]
    assert events["request_url"] == url
    assert events["bot_events"] == [
        "app_home_opened",
        "message.im",
        "app_uninstalled",
        "tokens_revoked",
    ]
    assert m["settings"]["interactivity"] == {
        "is_enabled": True,
        "request_url": url,
        "message_menu_options_url": url,
    }
    assert set(m["oauth_config"]["scopes"]["bot"]) >= {
        "chat:write",
        "commands",
        "im:history",
        "im:write",
        "channels:history",  # to find a post made just before a crash
        "groups:history",
        "users:read",
        "users:read.email",
    }
    # installs in many workspaces: Slack sends installers back here; Grid org-wide installs
    assert m["oauth_config"]["redirect_urls"] == [
        "https://looplink.example.org/slack/oauth_redirect"
    ]
    assert m["settings"]["org_deploy_enabled"] is True


def test_manifest_needs_a_public_https_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slack", "manifest", "--url", "http://localhost:3978"]) == 2
    assert "https" in capsys.readouterr().err
    assert main(["slack", "manifest", "--socket-mode"]) == 0
    m = yaml.safe_load(capsys.readouterr().out)
    assert m["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in m["settings"]["event_subscriptions"]
