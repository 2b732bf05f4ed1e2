"""Property-based fuzzing of the core's inbound parsers: the org file and chat input.

Whatever arrives, the answer is a clear message or a typed OrgFileError — never a traceback,
never the generic apology (which would mean an unexpected exception), never a half-write.
"""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.local import LocalChat
from bot.orgfile import OrgFileError, parse_org
from flows.events import Inbound
from flows.router import SORRY, handle
from looplink.platforms import infos

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.text(max_size=30),
    st.floats(allow_nan=False),
)
yamlish = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "organization",
                    "timezone",
                    "people",
                    "teams",
                    "id",
                    "name",
                    "parent",
                    "members",
                    "person",
                    "role",
                    "meeting",
                    "schedule",
                    "calendar",
                    "holidays",
                    "weekends",
                    "response_days",
                    "channels",
                    "digest",
                    "agenda_before_minutes",
                    "level",
                    "x",
                ]
            ),  # fmt: skip
            inner,
            max_size=6,
        ),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(yamlish)
def test_org_parser_never_crashes_on_structures(data: object) -> None:
    try:
        parse_org(yaml.safe_dump(data), infos(), "fuzz.yaml")
    except OrgFileError as e:
        assert e.problems and all(p.line >= 1 and p.fix for p in e.problems)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_org_parser_never_crashes_on_text(text: str) -> None:
    try:
        parse_org(text, infos(), "fuzz.yaml")
    except OrgFileError as e:
        assert "fuzz.yaml:" in str(e)


words = st.sampled_from(
    [
        "barrier",
        "success",
        "kudos",
        "mine",
        "status",
        "help",
        "cancel",
        "agenda",
        "@dev",
        "#lincoln",
        "for",
        "send",
        "yes",
        "1",
        "<!channel>",
        "<@U0ALICE>",
        "9",
        "skip",
    ]
)
chat_text = st.one_of(st.text(max_size=200), st.lists(words, max_size=6).map(" ".join))


@FUZZ
@given(text=chat_text)
async def test_typed_text_always_gets_a_clear_answer(chat: LocalChat, text: str) -> None:
    res = await chat.say("carol", text)
    assert SORRY not in res.text()
    assert "Traceback" not in res.text()


@FUZZ
@given(
    kind=st.sampled_from(["command", "action", "submit"]),
    name=st.one_of(
        st.text(max_size=20),
        st.sampled_from(
            [
                "barrier",
                "looplink",
                "decide:resolve",
                "decide",
                "feedback:better",
                "answer",
                "kudos",
                "open:barrier",
                "steps:send",
            ]
        ),
    ),
    value=st.one_of(st.text(max_size=20), st.integers(-3, 5).map(str)),
    values=st.dictionaries(
        st.sampled_from(
            [
                "summary",
                "note",
                "driver",
                "affected",
                "anonymous",
                "target",
                "text",
                "merge_into",
                "owner",
                "urgency",
                "stage",
            ]
        ),
        st.text(max_size=40),
        max_size=5,
    ),
)
async def test_any_event_gets_a_clear_answer(
    chat: LocalChat, kind: str, name: str, value: str, values: dict[str, str]
) -> None:
    ev = Inbound(
        "local", "alice", kind,  # type: ignore[arg-type]
        text=value, command=name, action=name, value=value, form_id=name, values=values,
        context={"item": value, "decision": name.partition(":")[2] or name},
    )  # fmt: skip
    res = await handle(chat.rt, ev)
    assert SORRY not in res.text(), (kind, name, value, values)


async def test_nul_bytes_are_dropped_not_an_error(chat: LocalChat) -> None:
    res = await chat.submit("carol", "barrier", {"summary": "Bus\x00 late", "details": "\x00"})
    assert "Thanks" in res.text()
    from sqlalchemy import select

    from bot.db.models import Item

    async with chat.rt.db.transaction() as s:
        item = (await s.scalars(select(Item))).one()
    assert (item.summary, item.details) == ("Bus late", "")
