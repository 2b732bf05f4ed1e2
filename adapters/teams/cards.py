"""Neutral messages and forms as Adaptive Cards, and card actions back to neutral events.

Pure functions on JSON; no SDK imports. Every button is an `Action.Execute` (Universal Actions:
Teams sends an `adaptiveCard/action` invoke and shows our invoke response to the person who
acted). Its `data` says what Looplink should do:

    {"looplink": "action", "action": "decide:escalate", "value": "12", "key": UPDATE_KEY?}
    {"looplink": "submit", "form_id": "decide", "context": {...}, "form": {...}, "key": ...?}
    {"looplink": "cancel", "key": ...?}

Teams merges the inputs into `data`; inputs are named `in_<field>` so they cannot collide with
these keys. `key` is the outbox update key of the card the button sits on (item cards in team
channels): it lets the adapter show that card again, current, to the person who acted. `form`
is the form itself, so a submission with errors can be shown again with the errors on it.

User text never becomes markup: each line is its own TextBlock, `*bold*` becomes `**bold**`,
and a zero-width space breaks any link (`](`) or tag (`<`), so nobody can forge a link, an
autolink or an `<at>` mention.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bot.messages import Button, Form, FormField, Message, form_from_json

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
VERSION = "1.5"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
MARK = "looplink"
INPUT_PREFIX = "in_"
ZWSP = "\u200b"
TOGGLE_ON, TOGGLE_OFF = "yes", "no"
MAX_LABEL = 40
MAX_ACTIVITY_BYTES = 24_000  # Teams refuses messages over about 28 KB

_BOLD = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![\w*])")
_STYLES = {"primary": "positive", "danger": "destructive"}

Json = dict[str, Any]


# ---- text --------------------------------------------------------------------------------


def _defuse(text: str) -> str:
    return text.replace("<", "<" + ZWSP).replace("](", "]" + ZWSP + "(")


def md(text: str) -> str:
    """One line of neutral text as Adaptive Card markdown that cannot form a link or a tag."""
    return _BOLD.sub(r"**\1**", _defuse(text))


def plain(text: str) -> str:
    """Neutral text without its marks (summaries, fallback text, invoke messages), defused."""
    return _defuse(_BOLD.sub(r"\1", text))


def text_blocks(text: str, **style: Any) -> list[Json]:
    """One TextBlock per line: markdown line breaks differ between Teams clients."""
    blocks: list[Json] = []
    gap = False
    for line in text.split("\n"):
        if not line.strip():
            gap = bool(blocks)
            continue
        block: Json = {"type": "TextBlock", "text": md(line), "wrap": True, **style}
        if blocks:
            block["spacing"] = "Small" if gap else "None"
        blocks.append(block)
        gap = False
    return blocks


def _first_spacing(blocks: list[Json], spacing: str) -> list[Json]:
    if blocks:
        blocks[0]["spacing"] = spacing
    return blocks


# ---- messages ----------------------------------------------------------------------------


def card(body: list[Json], actions: list[Json] | None = None, fallback: str = "") -> Json:
    out: Json = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "body": body or [{"type": "TextBlock", "text": " ", "wrap": True}],
        "msteams": {"width": "Full"},
    }
    if actions:
        out["actions"] = actions
    if fallback:
        out["fallbackText"] = fallback[:500]
    return out


def attachment(content: Json) -> Json:
    return {"contentType": CARD_TYPE, "content": content}


def button_action(b: Button, key: str | None = None) -> Json:
    data: Json = {MARK: "action", "action": b.action, "value": b.value}
    if key:
        data["key"] = key
    action: Json = {
        "type": "Action.Execute",
        "title": b.label[:MAX_LABEL],
        "verb": b.action,
        "data": data,
        "associatedInputs": "none",
    }
    if b.style in _STYLES:
        action["style"] = _STYLES[b.style]
    return action


def message_body(m: Message) -> list[Json]:
    body: list[Json] = []
    if m.title:
        body += text_blocks(m.title, weight="Bolder", size="Medium")
    if m.text:
        body += _first_spacing(text_blocks(m.text), "Small" if body else "None")
    for label, value in m.fields:
        body.append(
            {
                "type": "TextBlock",
                "text": md(label.replace("\n", " ")),
                "wrap": True,
                "weight": "Bolder",
                "isSubtle": True,
                "spacing": "Small",
            }
        )
        body += _first_spacing(text_blocks(value or "-"), "None")
    if m.footer:
        body += _first_spacing(text_blocks(m.footer, isSubtle=True, size="Small"), "Medium")
    return body


def message_card(m: Message, key: str | None = None, notice: str = "") -> Json:
    """A neutral message as one card; `key` rides on its buttons (see the module docstring)."""
    body: list[Json] = []
    if notice:
        body.append({"type": "Container", "style": "emphasis", "items": text_blocks(notice)})
    body += message_body(m)
    actions = [button_action(b, key) for b in m.buttons]
    if m.form is not None:
        body += _first_spacing(form_body(m.form), "Medium")
        actions += form_actions(m.form, key)
    return card(body, actions, fallback=plain(m.plain()))


def replies_card(replies: list[Message], notice: str = "") -> Json:
    """Several replies in one card (what replaces a submitted form)."""
    body: list[Json] = []
    if notice:
        body += text_blocks(notice, weight="Bolder")
    actions: list[Json] = []
    for i, m in enumerate(replies):
        part = message_body(m)
        if i and part:
            part[0]["separator"] = True
            part[0]["spacing"] = "Medium"
        body += part
        actions += [button_action(b) for b in m.buttons]
    fallback = "\n".join(m.plain() for m in replies)
    return card(body, actions, fallback=plain(fallback))


def activity(content: Json, summary: str = "") -> Json:
    out: Json = {"type": "message", "attachments": [attachment(content)]}
    if summary:
        out["summary"] = plain(summary.split("\n", 1)[0])[:200]
    return out


OUTBOX_MARK = "looplink_outbox"  # a new post's outbox id, in its card's metadata


def marked(act: Json, outbox_id: int) -> Json:
    """The activity with its outbox id in each card's `metadata` (Adaptive Cards ignore what
    they do not know). Teams gives a bot no way to read a conversation's history, so nothing
    looks for the mark yet; it makes a post repeated after a crash recognisable, from the
    posts themselves or from Microsoft Graph (see docs/delivery.md)."""
    attachments = []
    for a in act.get("attachments") or []:
        content = a.get("content")
        if isinstance(content, dict):
            meta = {**(content.get("metadata") or {}), OUTBOX_MARK: str(outbox_id)}
            a = {**a, "content": {**content, "metadata": meta}}
        attachments.append(a)
    return {**act, "attachments": attachments}


def _shorten(m: Message, limit: int) -> Message:
    def cut(text: str) -> str:
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"

    return replace(
        m,
        text=cut(m.text),
        fields=tuple((label, cut(value)) for label, value in m.fields),
        footer=cut(m.footer),
        buttons=m.buttons + ((m.expand,) if m.expand is not None else ()),
        expand=None,
    )


def message_activity(m: Message, key: str | None = None, notice: str = "") -> Json:
    """A message as a Teams activity, shortened if needed to stay under Teams' size limit.
    A message that is only a form is the form's own card."""
    if m.form is not None and not (
        notice or m.title or m.text or m.fields or m.buttons or m.footer
    ):
        return activity(form_card(m.form, key=key), m.form.title)
    out = activity(message_card(m, key, notice), m.title or m.text)
    for limit in (1000, 300):
        if len(json.dumps(out, ensure_ascii=False).encode()) <= MAX_ACTIVITY_BYTES:
            break
        out = activity(message_card(_shorten(m, limit), key, notice), m.title or m.text)
    return out


# ---- forms -------------------------------------------------------------------------------


def _input(f: FormField, value: str, required: str = "Required") -> Json:
    base: Json = {"id": INPUT_PREFIX + f.name, "label": f.label}
    if f.required:
        base["isRequired"] = True
        base["errorMessage"] = required
    if f.kind in ("select", "multiselect"):
        choice: Json = {
            "type": "Input.ChoiceSet",
            **base,
            "choices": [{"title": o.label, "value": o.value} for o in f.options],
            "style": "compact" if f.kind == "select" else "expanded",
        }
        if f.kind == "multiselect":
            choice["isMultiSelect"] = True
        if value:
            choice["value"] = value
        return choice
    if f.kind == "checkbox":
        on = value.strip().lower() in ("yes", "true", "1", "on", "checked", "anonymous")
        return {
            "type": "Input.Toggle",
            **base,
            "title": f.label,
            "valueOn": TOGGLE_ON,
            "valueOff": TOGGLE_OFF,
            "value": TOGGLE_ON if on else TOGGLE_OFF,
        }
    text: Json = {"type": "Input.Text", **base, "maxLength": 4000}
    if f.kind == "textarea":
        text["isMultiline"] = True
    if f.kind == "person":
        text["placeholder"] = "a name, an email address or @id"
    if value:
        text["value"] = value
    return text


def form_body(
    form: Form, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
) -> list[Json]:
    errors = errors or {}
    values = values or {}
    body = text_blocks(form.title, weight="Bolder", size="Medium")
    if errors:
        body += text_blocks(form.check_label, color="Attention")
    for f in form.fields:
        body.append(_input(f, values.get(f.name, f.initial), form.required_label))
        if f.hint:
            body += _first_spacing(text_blocks(f.hint, isSubtle=True, size="Small"), "None")
        if f.name in errors:
            body += _first_spacing(text_blocks(errors[f.name], color="Attention"), "None")
    return body


def form_json(form: Form) -> Json:
    return asdict(form)


def form_actions(form: Form, key: str | None = None) -> list[Json]:
    submit: Json = {MARK: "submit", "form_id": form.form_id, "context": dict(form.context)}
    submit["form"] = form_json(form)
    cancel: Json = {MARK: "cancel"}
    if key:
        submit["key"] = key
        cancel["key"] = key
    return [
        {
            "type": "Action.Execute",
            "title": form.submit_label[:MAX_LABEL],
            "verb": f"submit:{form.form_id}",
            "data": submit,
            "style": "positive",
        },
        {
            "type": "Action.Execute",
            "title": form.cancel_label[:MAX_LABEL],
            "verb": "cancel",
            "data": cancel,
            "associatedInputs": "none",
        },
    ]


def form_card(
    form: Form,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    key: str | None = None,
) -> Json:
    return card(form_body(form, errors, values), form_actions(form, key), fallback=form.title)


# ---- card actions back to neutral ---------------------------------------------------------


@dataclass
class CardAction:
    """What a card action asked for, read from its `data` (plus the merged inputs)."""

    kind: str  # "action", "submit" or "cancel"
    action: str = ""
    value: str = ""
    form_id: str = ""
    context: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    form: Form | None = None
    key: str | None = None


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return TOGGLE_ON if value else TOGGLE_OFF
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def read_action(data: Any) -> CardAction | None:
    """The Looplink action in a card's data, or None when the data is not ours."""
    if not isinstance(data, dict) or data.get(MARK) not in ("action", "submit", "cancel"):
        return None
    kind = str(data[MARK])
    key = data.get("key")
    key = str(key) if isinstance(key, str) and key else None
    if kind == "action":
        return CardAction(
            kind, action=_str(data.get("action")), value=_str(data.get("value")), key=key
        )
    if kind == "cancel":
        return CardAction(kind, key=key)
    context = data.get("context")
    values = {
        k[len(INPUT_PREFIX) :]: _str(v)
        for k, v in data.items()
        if isinstance(k, str) and k.startswith(INPUT_PREFIX)
    }
    form = None
    raw_form = data.get("form")
    if isinstance(raw_form, dict):
        try:
            form = form_from_json(raw_form)
        except (KeyError, TypeError, ValueError):
            form = None
    return CardAction(
        kind,
        form_id=_str(data.get("form_id")),
        context={str(k): _str(v) for k, v in context.items()} if isinstance(context, dict) else {},
        values=values,
        form=form,
        key=key,
    )


# ---- invoke responses ---------------------------------------------------------------------


def card_response(content: Json) -> Json:
    return {"statusCode": 200, "type": CARD_TYPE, "value": content}


def message_response(text: str) -> Json:
    return {
        "statusCode": 200,
        "type": "application/vnd.microsoft.activity.message",
        "value": plain(text)[:1000],
    }
