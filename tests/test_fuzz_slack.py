"""Property-based fuzzing of Slack's inbound side, over real HTTP, with valid signatures.

Slack signs what it sends, so a garbage body with a good signature is the worst input the
request URL can get (a Slack bug, or someone holding the signing secret). Whatever arrives:
never a 5xx, never a traceback or an internal error to the person, always a clear answer (an
ack, a modal, an ephemeral message) or a clean 4xx. Shapes follow Slack's: form-encoded slash
commands, `payload=` JSON for interactivity, JSON envelopes for the Events API; their fields
are sometimes right, sometimes missing, sometimes of the wrong type.

Response URLs are always loopback (the fake Slack, or a closed port): no fuzzed request may
make Looplink call out to the internet.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.platform import SlackPlatform
from bot.clock import FixedClock
from bot.decisions import Escalate
from bot.engine import Loop, ReportInput
from flows.router import SORRY
from looplink.server import Server, build_server
from tests.fakes.slack_api import FakeSlack, SlackUser
from tests.slack_harness import slack_settings

SECRET = "fuzz-signing-secret"
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LEAKS = (
    "Traceback",
    'File "',
    "Exception",
    "KeyError",
    "TypeError",
    "AttributeError",
    "ValueError",
    "sqlalchemy",
    SORRY,  # the generic apology means an unexpected exception inside a flow
)


@dataclass
class Env:
    fake: FakeSlack
    user: SlackUser
    server: Server
    platform: SlackPlatform
    seen: int = 0  # fake Slack calls already checked

    def new_calls(self) -> list[str]:
        calls = self.fake.calls[self.seen :]
        self.seen = len(self.fake.calls)
        return [c.text() for c in calls]


@pytest.fixture
async def env(db_url: str, clock: FixedClock, fake: FakeSlack) -> AsyncIterator[Env]:
    settings_ = slack_settings(db_url, fake, secret=SECRET)
    server = await build_server(settings_, clock=clock)
    server.rt.dispatcher.stop()
    platform = server.platforms[0]
    assert isinstance(platform, SlackPlatform)
    platform._sender.min_interval = 0
    # a few reports to act on: fuzzed buttons and forms name items 1-3 as well as nonsense
    async with server.rt.db.transaction() as s:
        loop = Loop(s, clock, server.rt.fanout)
        await loop.report("carol", ReportInput(summary="Screener data is late"))
        await loop.report("dev", ReportInput(summary="Buses leave early", anonymous=True))
        third = await loop.report("june", ReportInput(summary="No sub coverage"))
        await loop.decide("hana", third.id, Escalate("District question"))
    async with TestClient(TestServer(server.app)) as client:
        yield Env(fake, SlackUser(client, SECRET, fake), server, platform)


async def check(env: Env, status: int, body: str) -> None:
    """One fuzzed request's outcome, and everything it made Looplink send to Slack."""
    assert status < 500, (status, body[:300])
    assert status == 200 or 400 <= status < 500
    for leak in LEAKS:
        assert leak not in body, body[:300]
    await env.platform.idle()
    await env.server.rt.dispatcher.run_once()
    for sent in env.new_calls():
        for leak in LEAKS:
            assert leak not in sent, sent[:300]


# ---- strategies -------------------------------------------------------------------------

words = st.text(max_size=40)
# text the way Slack sends it: entities, mentions, channels, links, specials, unicode
slack_text = st.lists(
    st.one_of(
        st.text(max_size=12),
        st.sampled_from(
            [
                "<@U0CAROL>",
                "<@U0ALICE|alice>",
                "<@UNKNOWN>",
                "<#C0LINCOLN|lincoln>",
                "<#C0NOPE>",
                "<!channel>",
                "<!here|here>",
                "<!subteam^S1|@leads>",
                "<https://example.org|a link>",
                "<mailto:a@b.c>",
                "&amp;",
                "&lt;",
                "&gt;",
                "<",
                ">",
                "<|>",
                "<@>",
                "<#|>",
                "barrier",
                "kudos",
                "mine",
                "status",
                "help",
                "cancel",
                "yes",
                "\n",
                "x" * 3000,
            ]
        ),
    ),
    max_size=6,
).map("".join)
users = st.one_of(
    st.sampled_from(["U0CAROL", "U0ALICE", "U0DANA", "U0GRACE", "U0STRANGER", "", "W0NOBODY"]),
    words,
)
channels = st.one_of(
    st.sampled_from(["C0LINCOLN", "C0RIVERSIDE", "D0CAROL", "D", "C0NOWHERE", ""]), words
)
junk: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 10**12), st.floats(allow_nan=False), words),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(words, inner, max_size=3)),
    max_leaves=8,
)


def maybe(shaped: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually the right shape, sometimes anything at all."""
    return st.one_of(shaped, shaped, junk)


FORMS = ["barrier", "success", "kudos", "decide", "answer", "nope", ""]
ACTIONS = [
    "decide:acknowledge",
    "decide:resolve",
    "decide:escalate",
    "decide:ask_info",
    "decide:decline",
    "decide:nope",
    "open:barrier",
    "open:success",
    "open:kudos",
    "open:nope",
    "feedback:better",
    "feedback:worse",
    "steps:send",
    "steps:cancel",
    "answer",
    "mine",
    "decide:acknowledge~2",
    "nope",
    "",
]


def response_urls(fake: FakeSlack) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            fake.response_url("fuzz"),
            "",
            "not a url",
            "http://127.0.0.1:1/closed-port",
            "ftp://127.0.0.1/x",
        ]
    )


element = st.fixed_dictionaries(
    {
        "type": st.one_of(
            st.sampled_from(
                [
                    "plain_text_input",
                    "static_select",
                    "multi_static_select",
                    "checkboxes",
                    "users_select",
                ]
            ),
            words,
        )
    },
    optional={
        "value": st.one_of(st.none(), slack_text),
        "selected_option": maybe(st.fixed_dictionaries({"value": words})),
        "selected_options": maybe(st.lists(maybe(st.fixed_dictionaries({"value": words})))),
        "selected_user": users,
    },
)
metadata = st.one_of(
    words,
    st.builds(
        lambda form, ctx: json.dumps({"form_id": form, "context": ctx}),
        st.one_of(st.sampled_from(FORMS), words),
        maybe(st.dictionaries(st.sampled_from(["item", "decision", "x"]), words, max_size=2)),
    ),
)
view = st.fixed_dictionaries(
    {},
    optional={
        "id": words,
        "hash": words,
        "type": st.sampled_from(["modal", "home", "x"]),
        "callback_id": st.sampled_from(["looplink_form", "looplink_notice", "x"]),
        "private_metadata": metadata,
        "state": maybe(
            st.fixed_dictionaries(
                {
                    "values": maybe(
                        st.dictionaries(
                            st.one_of(
                                st.sampled_from(["summary", "note", "target", "anonymous"]),
                                words,
                            ),
                            maybe(st.dictionaries(words, maybe(element), max_size=2)),
                            max_size=4,
                        )
                    )
                }
            )
        ),
        "blocks": maybe(st.lists(junk, max_size=3)),
    },
)
action = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["button", "button", "static_select", "x"]),
        "action_id": st.one_of(st.sampled_from(ACTIONS), words),
        "value": st.one_of(st.sampled_from(["1", "2", "999999", "-1", "abc", ""]), words, junk),
        "action_ts": words,
        "block_id": words,
    },
)


def interactions(fake: FakeSlack) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "type": st.one_of(
                st.sampled_from(
                    [
                        "block_actions",
                        "view_submission",
                        "view_closed",
                        "shortcut",
                        "message_action",
                        "block_suggestion",
                    ]
                ),
                words,
            )
        },
        optional={
            "user": maybe(st.fixed_dictionaries({"id": users}, optional={"name": words})),
            "trigger_id": words,
            "response_url": response_urls(fake),
            "actions": maybe(st.lists(maybe(action), max_size=2)),
            "view": maybe(view),
            "channel": maybe(st.fixed_dictionaries({"id": channels})),
            "container": junk,
            "message": maybe(st.fixed_dictionaries({"text": slack_text, "ts": words})),
            "callback_id": st.one_of(
                st.sampled_from(["report_as_barrier", "report_barrier", "share_success"]), words
            ),
            "team": junk,
            "api_app_id": words,
        },
    )


events = st.fixed_dictionaries(
    {
        "type": st.one_of(
            st.sampled_from(["event_callback", "event_callback", "url_verification"]), words
        )
    },
    optional={
        "event": maybe(
            st.fixed_dictionaries(
                {
                    "type": st.one_of(
                        st.sampled_from(["message", "app_home_opened", "app_mention"]), words
                    )
                },
                optional={
                    "user": maybe(users),
                    "channel": maybe(channels),
                    "channel_type": st.sampled_from(["im", "channel", "group", ""]),
                    "text": maybe(slack_text),
                    "subtype": st.sampled_from(["bot_message", "message_changed", ""]),
                    "bot_id": st.sampled_from(["", "B0LOOPBOT"]),
                    "tab": st.sampled_from(["home", "messages", ""]),
                    "ts": words,
                },
            )
        ),
        "event_id": words,
        "challenge": words,
        "team_id": words,
        "api_app_id": words,
        "authorizations": junk,
    },
)


# ---- the fuzz tests ---------------------------------------------------------------------


@FUZZ
@given(data=st.data())
async def test_slash_commands(env: Env, data: st.DataObject) -> None:
    form: dict[str, str] = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "command": st.one_of(
                    st.sampled_from(["/barrier", "/success", "/kudos", "/looplink", "/nope"]),
                    words,
                ),
                "text": slack_text,
                "user_id": users,
                "channel_id": channels,
                "trigger_id": words,
                "response_url": response_urls(env.fake),
                "team_id": words,
                "user_name": words,
                # (a strategy as a key is taken as it is, not drawn)
                words.filter(lambda k: k not in ("payload", "ssl_check")): words,  # type: ignore[dict-item]
            },
        )
    )
    status, body = await env.user.post(urlencode(form), "application/x-www-form-urlencoded")
    await check(env, status, body)


@FUZZ
@given(data=st.data())
async def test_interactivity_payloads(env: Env, data: st.DataObject) -> None:
    payload = data.draw(interactions(env.fake))
    status, body = await env.user.interact(payload)
    await check(env, status, body)


@FUZZ
@given(data=st.data())
async def test_event_envelopes(env: Env, data: st.DataObject) -> None:
    envelope = data.draw(events)
    status, body = await env.user.post(json.dumps(envelope), "application/json")
    await check(env, status, body)


@FUZZ
@given(
    body=st.one_of(
        st.text(max_size=200),
        st.builds(lambda t: "payload=" + t, st.text(max_size=200)),
        st.builds(lambda j: urlencode({"payload": json.dumps(j)}), junk),
        st.builds(json.dumps, junk),
    ),
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "application/json", "text/plain", ""]
    ),
)
async def test_garbage_bodies(env: Env, body: str, content_type: str) -> None:
    status, answer = await env.user.post(body, content_type)
    await check(env, status, answer)


# ---- shapes fuzzing found: each one once, by hand ----------------------------------------

FORM_META = json.dumps({"form_id": "barrier", "context": {}})
WRONG_SHAPES: list[dict[str, Any]] = [
    {"type": "view_submission", "user": {"id": "U0CAROL"}, "view": {"state": {"values": []}}},
    {
        "type": "view_submission",
        "user": {"id": "U0CAROL"},
        "view": {"private_metadata": FORM_META, "state": {"values": {"summary": "text"}}},
    },
    {
        "type": "view_submission",
        "user": {"id": "U0CAROL"},
        "view": {"private_metadata": FORM_META, "state": {"values": {"summary": {"s": 3}}}},
    },
    {
        "type": "view_submission",
        "user": {"id": "U0CAROL"},
        "view": {
            "private_metadata": FORM_META,
            "state": {"values": {"summary": {"summary": {"type": "plain_text_input", "value": 7}}}},
        },
    },
    {
        "type": "view_submission",
        "user": {"id": "U0CAROL"},
        "view": {"private_metadata": FORM_META, "blocks": [1, "x", None], "state": {}},
    },
    {
        "type": "view_submission",
        "user": {"id": "U0CAROL"},
        "view": {"private_metadata": FORM_META, "blocks": {"a": 1}, "state": {"values": {}}},
    },
    {"type": "block_suggestion", "user": {"id": "U0CAROL"}, "action_id": "target", "value": "al"},
    {"type": "block_suggestion", "user": {"id": "U0CAROL"}, "value": ["x"]},
    {"type": "block_suggestion"},
]


@pytest.mark.parametrize("payload", WRONG_SHAPES, ids=range(len(WRONG_SHAPES)))
async def test_wrongly_shaped_interactions_are_answered_cleanly(
    env: Env, payload: dict[str, Any]
) -> None:
    status, body = await env.user.interact(payload)
    await check(env, status, body)
