"""Property-based fuzzing of the Teams inbound parser over real HTTP (/api/messages).

Activities shaped like Teams' (messages, card invokes, conversation updates) with fields
mutated, missing or of the wrong type, and raw garbage bodies: never a 500, never a traceback
in anything the bot sends back. `serviceUrl` always stays on the loopback fake connector.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import FixedClock
from tests.fakes.teams_client import QUINN, TENANT
from tests.teams_world import World, teams_world

FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**9),
    st.text(max_size=40),
    st.lists(st.text(max_size=5), max_size=3),
)
values = st.one_of(
    junk,
    st.dictionaries(
        st.sampled_from(["action", "verb", "data", "form_id", "context", "in_summary", "in_note", "item", "decision", "looplink"]),
        st.one_of(junk, st.dictionaries(st.sampled_from(["verb", "data", "type", "id"]), junk, max_size=3)),
        max_size=5,
    ),
)  # fmt: skip


@pytest.fixture
async def world(db_url: str, clock: FixedClock) -> AsyncIterator[World]:
    async with teams_world(db_url, clock) as w:
        yield w


def _activity(
    w: World, kind: str, text: Any, name: Any, value: Any, drop: list[str], who: Any
) -> dict[str, Any]:
    act: dict[str, Any] = {
        "type": kind,
        "id": f"fuzz-{w.teams.new_id()}",
        "channelId": "msteams",
        "serviceUrl": w.teams.service_url,
        "from": {"id": QUINN.id, "name": QUINN.name, "aadObjectId": QUINN.aad}
        if who is None
        else who,
        "recipient": {"id": "28:bot", "name": "Looplink"},
        "conversation": {
            "conversationType": "personal",
            "tenantId": TENANT,
            "id": QUINN.personal_conversation,
        },
        "channelData": {"tenant": {"id": TENANT}},
        "text": text,
        "name": name,
        "value": value,
    }
    for key in drop:
        act.pop(key, None)
    return act


@FUZZ
@given(
    kind=st.sampled_from(["message", "invoke", "conversationUpdate", "installationUpdate", "messageReaction", "typing", "x"]),
    text=st.one_of(junk, st.sampled_from(["barrier", "mine", "help", "kudos @maya for x", "cancel", "status"])),
    name=st.one_of(st.none(), st.sampled_from(["adaptiveCard/action", "task/fetch", "composeExtension/query"]), st.text(max_size=20)),
    value=values,
    drop=st.lists(st.sampled_from(["from", "conversation", "id", "text", "value", "type", "recipient", "channelData"]), max_size=3),
    who=st.one_of(st.none(), junk, st.dictionaries(st.sampled_from(["id", "name", "aadObjectId"]), junk, max_size=3)),
)  # fmt: skip
async def test_any_activity_gets_a_clean_answer(
    world: World, kind: str, text: Any, name: Any, value: Any, drop: list[str], who: Any
) -> None:
    reply = await world.teams.send(_activity(world, kind, text, name, value, drop, who))
    # 501 is the Bot Framework's answer to an invoke a bot does not handle; never a 500
    assert reply.status < 500 or (reply.status == 501 and kind == "invoke"), (
        reply.status,
        kind,
        name,
        value,
    )
    assert "Traceback" not in json.dumps(reply.body or {})
    assert "Traceback" not in world.connector.all_json()


@FUZZ
@given(body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
async def test_garbage_bodies_are_refused_cleanly(world: World, body: bytes) -> None:
    async with world.teams.http.post(
        world.teams.bot_url, data=body, headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status < 500
        assert "Traceback" not in await r.text()


async def test_fields_of_the_wrong_shape_get_400_not_500(world: World) -> None:
    """Found by the fuzzer: botbuilder's deserializer raised on `"from": true` (a 500)."""
    act = _activity(world, "message", "help", None, None, [], True)
    reply = await world.teams.send(act)
    assert reply.status == 400
