"""Neutral messages and forms rendered as Slack Block Kit, and modal submissions read back.

Every piece of text that reaches a `mrkdwn` field is escaped (`&`, `<`, `>`), so user text can
never ping a channel (`<!channel>`), mention someone (`<@U123>`) or forge a link
(`<https://x|y>`). `plain_text` objects are not parsed by Slack and are only truncated.
The neutral marks `*bold*` and `_italic_` mean the same in mrkdwn and pass through.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.messages import Button, Form, FormField, Message

FORM_CALLBACK = "looplink_form"
NOTICE_CALLBACK = "looplink_notice"
ACTION_SEP = "~"  # action_id = neutral action, plus "~n" when a message repeats an action

# Block Kit limits (https://api.slack.com/reference/block-kit)
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER = 150
MAX_BUTTON_LABEL = 75
MAX_BUTTON_VALUE = 2000
MAX_BUTTONS = 25
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_VIEW_TITLE = 24
MAX_LABEL = 2000
MAX_OPTION_TEXT = 75
MAX_INPUT = 3000
MAX_FALLBACK = 3000
MAX_METADATA = 3000

Block = dict[str, Any]

# Forms that a button can open again (a form offered where no modal can be opened).
REOPENABLE = {"barrier", "success", "kudos"}


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """`text` escaped for mrkdwn and cut (never inside an entity) to at most `limit` chars."""
    out = escape(text)
    if len(out) <= limit:
        return out
    raw = text[: limit - 1]
    while len(escape(raw)) > limit - 1:
        raw = raw[: len(raw) - max(1, len(escape(raw)) - (limit - 1))]
    return escape(raw) + "…"


def plain(text: str, limit: int) -> dict[str, Any]:
    """A plain_text object (not parsed for mentions or links), cut to `limit`."""
    value = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"type": "plain_text", "text": value or " ", "emoji": True}


def _chunks(text: str, limit: int) -> list[str]:
    """Split `text` at line breaks into pieces whose escaped form fits in `limit`."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(escape(candidate)) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while len(escape(line)) > limit:
            cut = limit
            while len(escape(line[:cut])) > limit:
                cut -= max(1, len(escape(line[:cut])) - limit)
            pieces.append(line[:cut])
            line = line[cut:]
        current = line
    if current or not pieces:
        pieces.append(current)
    return pieces


def _section(text: str) -> list[Block]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(chunk)}}
        for chunk in _chunks(text, MAX_SECTION_TEXT)
        if chunk.strip()
    ]


def action_id(action: str, seen: set[str]) -> str:
    aid = action
    n = 1
    while aid in seen:
        n += 1
        aid = f"{action}{ACTION_SEP}{n}"
    seen.add(aid)
    return aid[:255]


def neutral_action(slack_action_id: str) -> str:
    return slack_action_id.split(ACTION_SEP, 1)[0]


def button(b: Button, seen: set[str]) -> Block:
    el: Block = {
        "type": "button",
        "text": plain(b.label, MAX_BUTTON_LABEL),
        "action_id": action_id(b.action, seen),
        "value": b.value[:MAX_BUTTON_VALUE],
    }
    if b.style:
        el["style"] = b.style
    return el


def _buttons(buttons: Sequence[Button], seen: set[str]) -> list[Block]:
    return [
        {"type": "actions", "elements": [button(b, seen) for b in buttons[i : i + MAX_BUTTONS]]}
        for i in range(0, len(buttons), MAX_BUTTONS)
    ]


def form_button(form: Form) -> Button | None:
    """Where a form cannot be opened as a modal, a button that opens it later."""
    if form.form_id not in REOPENABLE:
        return None
    first = form.fields[0].initial if form.fields else ""
    return Button(form.title, f"open:{form.form_id}", first, "primary")


def message_blocks(m: Message, seen: set[str] | None = None) -> list[Block]:
    """One neutral message as blocks: header, text, fields, buttons, footer."""
    seen = set() if seen is None else seen
    blocks: list[Block] = []
    if m.title:
        blocks.append({"type": "header", "text": plain(m.title, MAX_HEADER)})
    if m.text:
        blocks += _section(m.text)
    fields = [
        {"type": "mrkdwn", "text": f"*{fit(k, 200)}*\n{fit(v, MAX_FIELD_TEXT - 210)}"}
        for k, v in m.fields
    ]
    for i in range(0, len(fields), MAX_FIELDS):
        blocks.append({"type": "section", "fields": fields[i : i + MAX_FIELDS]})
    buttons = list(m.buttons)
    cut = any(len(escape(v)) > MAX_FIELD_TEXT - 210 for _, v in m.fields)
    if cut and m.expand is not None:  # the rest is a click away, never silently gone
        buttons.append(m.expand)
    if m.form is not None and (extra := form_button(m.form)) is not None:
        buttons.append(extra)
    blocks += _buttons(buttons, seen)
    if m.footer:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(m.footer, 3000)}]}
        )
    return blocks


def messages_blocks(messages: Iterable[Message], limit: int = MAX_MESSAGE_BLOCKS) -> list[Block]:
    """Several messages one after the other, separated by dividers, within `limit` blocks."""
    blocks: list[Block] = []
    seen: set[str] = set()
    for m in messages:
        part = message_blocks(m, seen)
        if blocks:
            part = [{"type": "divider"}, *part]
        if len(blocks) + len(part) > limit:
            room = limit - len(blocks) - 1
            if room > 0:
                blocks += part[:room]
            blocks.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": "(more not shown)"}],
                }
            )
            break
        blocks += part
    return blocks


def fallback_text(m: Message) -> str:
    """The notification text (shown in notifications and where blocks cannot be)."""
    first = m.title or m.text or (m.fields[0][0] if m.fields else "") or "Looplink"
    return fit(first, MAX_FALLBACK)


def messages_fallback(messages: Sequence[Message]) -> str:
    return fallback_text(messages[0]) if messages else ""


# ---- modals --------------------------------------------------------------------------------


def _option(value: str, label: str) -> Block:
    return {"text": plain(label, MAX_OPTION_TEXT), "value": value[:150]}


def _element(f: FormField, initial_user: str | None) -> Block:
    el: Block
    if f.kind in ("text", "textarea"):
        el = {"type": "plain_text_input", "action_id": f.name, "max_length": MAX_INPUT}
        if f.kind == "textarea":
            el["multiline"] = True
        if f.initial:
            el["initial_value"] = f.initial[:MAX_INPUT]
        return el
    if f.kind in ("select", "multiselect"):
        options = [_option(o.value, o.label) for o in f.options[:100]]
        wanted = [v.strip() for v in f.initial.split(",") if v.strip()]
        chosen = [o for o in options if o["value"] in wanted]
        if f.kind == "select":
            el = {
                "type": "static_select",
                "action_id": f.name,
                "options": options,
                "placeholder": plain(f.placeholder or "Choose…", 150),
            }
            if chosen:
                el["initial_option"] = chosen[0]
        else:
            el = {
                "type": "multi_static_select",
                "action_id": f.name,
                "options": options,
                "placeholder": plain(f.placeholder or "Choose any…", 150),
            }
            if chosen:
                el["initial_options"] = chosen
        return el
    if f.kind == "checkbox":
        option = _option("yes", f.label)
        el = {"type": "checkboxes", "action_id": f.name, "options": [option]}
        if f.initial.strip().lower() in ("yes", "true", "1", "on"):
            el["initial_options"] = [option]
        return el
    # "person": Slack's own people picker; the adapter maps the Slack user back to our person.
    el = {
        "type": "users_select",
        "action_id": f.name,
        "placeholder": plain(f.placeholder or "Choose…", 150),
    }
    if initial_user:
        el["initial_user"] = initial_user
    return el


def form_view(form: Form, initial_users: dict[str, str] | None = None) -> Block:
    """A neutral form as a modal; `private_metadata` carries the form id and its context."""
    users = initial_users or {}
    blocks: list[Block] = []
    for f in form.fields:
        block: Block = {
            "type": "input",
            "block_id": f.name,
            "label": plain(f.label, MAX_LABEL),
            "optional": not f.required,
            "element": _element(f, users.get(f.name)),
        }
        if f.hint:
            block["hint"] = plain(f.hint, MAX_LABEL)
        blocks.append(block)
    metadata = json.dumps({"form_id": form.form_id, "context": form.context})
    if len(metadata) > MAX_METADATA:
        raise ValueError(f"form {form.form_id} carries too much context for a Slack modal")
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "title": plain(form.title, MAX_VIEW_TITLE),
        "submit": plain(form.submit_label, MAX_VIEW_TITLE),
        "close": plain(form.cancel_label, MAX_VIEW_TITLE),
        "private_metadata": metadata,
        "blocks": blocks[:MAX_VIEW_BLOCKS],
    }


def notice_view(
    messages: Sequence[Message],
    title: str = "Looplink",
    words: dict[str, str] | None = None,
) -> Block:
    """A modal that only shows messages (answers to a person where no message can go)."""
    return {
        "type": "modal",
        "callback_id": NOTICE_CALLBACK,
        "title": plain(title, MAX_VIEW_TITLE),
        "close": plain((words or {}).get("close", "Close"), MAX_VIEW_TITLE),
        "blocks": messages_blocks(messages, MAX_VIEW_BLOCKS)
        or [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": (words or {}).get("done", "Done.")},
            }
        ],
    }


def home_view(messages: Sequence[Message]) -> Block:
    return {"type": "home", "blocks": messages_blocks(messages, MAX_VIEW_BLOCKS)}


@dataclass
class Submission:
    form_id: str
    context: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # field name -> picked Slack user id


def read_submission(view: dict[str, Any]) -> Submission:
    """Read a submitted modal: which form, its hidden context, and each field's value.

    Parts of the wrong shape (never sent by Slack) are left out, as if the field were empty;
    the form's own validation then asks for what is missing.
    """
    try:
        meta = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    context = meta.get("context")
    sub = Submission(
        form_id=str(meta.get("form_id") or ""),
        context={str(k): str(v) for k, v in context.items()} if isinstance(context, dict) else {},
    )
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    for block_id, elements in (values if isinstance(values, dict) else {}).items():
        for value in (elements if isinstance(elements, dict) else {}).values():
            if not isinstance(value, dict):
                continue
            kind = value.get("type")
            if kind == "static_select":
                picked = _value(value.get("selected_option"))
            elif kind == "multi_static_select":
                chosen = value.get("selected_options")
                picked = (
                    ",".join(_value(o) for o in chosen if _value(o))
                    if isinstance(chosen, list)
                    else ""
                )
            elif kind == "checkboxes":
                picked = "yes" if value.get("selected_options") else ""
            elif kind == "users_select":
                user = value.get("selected_user")
                picked = user if isinstance(user, str) else ""
                if picked:
                    sub.users[block_id] = picked
            else:
                given = value.get("value")
                picked = given if isinstance(given, str) else ""
            sub.values[block_id] = picked
    return sub


def _value(option: Any) -> str:
    """The value of a selected option, or "" if it is not one."""
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) else ""
