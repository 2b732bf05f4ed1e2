"""Unit tests of the Teams translation: Adaptive Cards out, activities in (pure functions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from adapters.teams.cards import (
    ZWSP,
    form_card,
    md,
    message_activity,
    message_card,
    read_action,
    text_blocks,
)
from adapters.teams.connector import ConnectorError, retry_after_seconds
from adapters.teams.inbound import card_action, clean_text, conversation_ref, parse
from bot.domain import Decision
from bot.messages import Button, Form, FormField, Message, Option
from flows.forms import decide_form, kudos_form, report_form
from tests.fakes.connector import card_text

BOT = {"id": "28:bot", "name": "Looplink"}


def texts_of(card: dict[str, Any]) -> list[str]:
    return [b["text"] for b in card["body"] if b.get("type") == "TextBlock"]


def test_user_text_cannot_forge_links_mentions_or_tags() -> None:
    evil = "see [the form](https://evil.example/x) <at>Grace Okafor</at> <https://evil.example> ![i](https://evil.example/i.png)"
    m = Message(title="Barrier #1: " + evil, text=evil, fields=(("Summary", evil),))
    blob = json.dumps(message_card(m), ensure_ascii=False)
    assert "](" not in blob  # no markdown link or image can form
    assert "<at>" not in blob and "<https" not in blob  # no mention or autolink tag
    assert "msteams" in blob and "entities" not in blob  # never a mention entity
    # yet a person reads exactly what was written
    assert evil in card_text(message_card(m))


def test_bold_marks_and_lines() -> None:
    assert md("Thanks — *Oak Grove* has it") == "Thanks — **Oak Grove** has it"
    assert md("3 * 4 * 5") == "3 * 4 * 5"  # not emphasis
    assert md("_why_ it matters") == "_why_ it matters"
    blocks = text_blocks("first line\nsecond line\n\nnew paragraph")
    assert [b["text"] for b in blocks] == ["first line", "second line", "new paragraph"]
    assert [b.get("spacing") for b in blocks] == [None, "None", "Small"]


def test_message_card_buttons_carry_action_value_and_key() -> None:
    m = Message(
        text="x",
        buttons=(
            Button("Escalate", "decide:escalate", "12"),
            Button("Decline", "decide:decline", "12", "danger"),
        ),
    )
    card = message_card(m, key="item:12:team:oakgrove", notice="Only leads can decide.")
    assert card["version"] == "1.5" and card["type"] == "AdaptiveCard"
    assert card["body"][0]["type"] == "Container"  # the notice on top
    escalate, decline = card["actions"]
    assert escalate["type"] == "Action.Execute" and escalate["verb"] == "decide:escalate"
    assert escalate["data"] == {
        "looplink": "action",
        "action": "decide:escalate",
        "value": "12",
        "key": "item:12:team:oakgrove",
    }
    assert decline["style"] == "destructive"
    act = read_action({**escalate["data"], "in_note": "ignored for buttons"})
    assert act is not None and (act.kind, act.action, act.value, act.key) == (
        "action",
        "decide:escalate",
        "12",
        "item:12:team:oakgrove",
    )


def test_every_form_field_kind_and_errors() -> None:
    form = report_form("barrier", "screener late", "Harbor has 3 members.")
    card = form_card(form, errors={"summary": "Please say what is getting in the way."})
    inputs = {b["id"]: b for b in card["body"] if "id" in b}
    assert inputs["in_summary"]["type"] == "Input.Text" and inputs["in_summary"]["isMultiline"]
    assert inputs["in_summary"]["isRequired"] and inputs["in_summary"]["value"] == "screener late"
    assert (
        inputs["in_affected"]["type"] == "Input.ChoiceSet"
        and inputs["in_affected"]["isMultiSelect"]
    )
    assert inputs["in_driver"]["style"] == "compact" and inputs["in_driver"]["value"] == "other"
    assert inputs["in_anonymous"]["type"] == "Input.Toggle"
    assert (inputs["in_anonymous"]["valueOn"], inputs["in_anonymous"]["valueOff"]) == ("yes", "no")
    shown = texts_of(card)
    assert "Please say what is getting in the way." in shown  # the error, on the card
    assert "Harbor has 3 members." in shown  # the hint
    assert [a["title"] for a in card["actions"]] == ["Send to my team", "Cancel"]
    assert card["actions"][1]["associatedInputs"] == "none"  # cancel never validates

    kudos = form_card(kudos_form(target="@maya"))
    target = next(b for b in kudos["body"] if b.get("id") == "in_target")
    assert target["type"] == "Input.Text" and target["value"] == "@maya"


def test_submitted_form_reads_back_with_values_context_and_form() -> None:
    form = decide_form(7, Decision.ESCALATE, "Escalate #7")
    card = form_card(form, key="item:7:team:oakgrove")
    data = {**card["actions"][0]["data"], "in_note": "District contract", "other": "x"}
    act = read_action(json.loads(json.dumps(data)))
    assert act is not None and act.kind == "submit" and act.form_id == "decide"
    assert act.values == {"note": "District contract"}
    assert act.context == {"item": "7", "decision": "escalate"}
    assert act.form == form and act.key == "item:7:team:oakgrove"
    assert read_action({"looplink": "cancel"}).kind == "cancel"  # type: ignore[union-attr]
    assert read_action({"msteams": {"type": "messageBack"}}) is None
    assert read_action("not a dict") is None
    bad = read_action({"looplink": "submit", "form_id": "x", "form": {"nonsense": 1}})
    assert bad is not None and bad.form is None


def test_multiselect_and_toggle_values_become_strings() -> None:
    f = Form("x", "X", (FormField("who", "Who", "multiselect", options=(Option("a", "A"),)),))
    data = {**form_card(f)["actions"][0]["data"], "in_who": ["students", "staff"], "in_flag": True}
    act = read_action(data)
    assert act is not None and act.values == {"who": "students,staff", "flag": "yes"}


def _message(
    text: str, entities: list[dict[str, Any]], conversation: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "type": "message",
        "id": "1700000000001",
        "channelId": "msteams",
        "serviceUrl": "https://smba.trafficmanager.net/amer/",
        "from": {"id": "29:maya", "name": "Maya Singh", "aadObjectId": "aad-maya"},
        "recipient": BOT,
        "conversation": conversation
        or {"conversationType": "personal", "id": "a:1xyz", "tenantId": "t1"},
        "text": text,
        "entities": entities,
        "channelData": {"tenant": {"id": "t1"}},
    }


def test_mentions_are_stripped_or_turned_into_ids() -> None:
    raw = _message(
        "<at>Looplink</at> kudos <at>Noah Begay</at> for&nbsp;the <b>agenda</b>\n",
        [
            {"type": "mention", "text": "<at>Looplink</at>", "mentioned": BOT},
            {"type": "mention", "text": "<at>Noah Begay</at>", "mentioned": {"id": "29:noah"}},
        ],
    )
    assert clean_text(parse(raw)) == "kudos @29:noah for the agenda"


def test_channel_activity_reference_points_at_the_channel() -> None:
    raw = _message(
        "<at>Looplink</at> status",
        [],
        {
            "conversationType": "channel",
            "id": "19:oakgrove@thread.tacv2;messageid=1700000000001",
            "tenantId": "t1",
            "isGroup": True,
        },
    )
    raw["channelData"] = {
        "tenant": {"id": "t1"},
        "team": {"id": "19:general@thread.tacv2"},
        "channel": {"id": "19:oakgrove@thread.tacv2"},
    }
    a = parse(raw)
    assert not a.personal and a.channel_id == "19:oakgrove@thread.tacv2"
    ref = conversation_ref(a)
    assert ref["conversation"] == {
        "id": "19:oakgrove@thread.tacv2",
        "conversationType": "channel",
        "tenantId": "t1",
    }
    assert ref["serviceUrl"] == raw["serviceUrl"] and "user" not in ref
    # the idempotency key is the activity id, scoped to its conversation
    other = parse({**raw, "conversation": {**raw["conversation"], "id": "19:other@thread.tacv2"}})
    assert a.delivery_id is not None
    assert a.delivery_id != other.delivery_id and a.delivery_id.endswith(":1700000000001")
    assert len(parse({**raw, "id": "f:" + "9" * 300}).delivery_id or "") <= 200


def test_card_actions_from_invoke_and_submit() -> None:
    data = {"looplink": "action", "action": "mine", "value": ""}
    invoke = {
        **_message("", []),
        "type": "invoke",
        "name": "adaptiveCard/action",
        "value": {"action": {"type": "Action.Execute", "verb": "mine", "data": data}},
    }
    act = card_action(parse(invoke))
    assert act is not None and act.action == "mine"
    assert card_action(parse({**invoke, "name": "task/fetch"})) is None
    submit = {**_message("", []), "value": data}
    assert card_action(parse(submit)) is not None


def test_retry_after_and_which_failures_are_retried() -> None:
    now = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Mon, 23 Nov 2026 14:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert [ConnectorError(s, "").retryable for s in (429, 500, 503, 0, 400, 403, 404)] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_zero_width_space_is_the_only_change() -> None:
    text = "a [b](c) <d>"
    assert md(text).replace(ZWSP, "") == text


def test_very_long_messages_are_shortened_to_fit_teams() -> None:
    long = "word " * 3000
    m = Message(title="Barrier #1: x", text=long, fields=tuple((f"F{i}", long) for i in range(6)))
    out = message_activity(m)
    assert len(json.dumps(out, ensure_ascii=False).encode()) <= 24_000
    assert "F5" in card_text(out["attachments"][0]["content"])  # every field still there
    short = message_activity(Message(text="short"))
    assert card_text(short["attachments"][0]["content"]) == "short"
