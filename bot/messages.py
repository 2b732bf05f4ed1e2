"""The neutral message model: what flows produce and adapters render.

Text is plain text with two light marks, `*bold*` and `_italic_`. It never carries platform
markup: adapters escape it for their platform (mrkdwn, Adaptive Card markdown, HTML), so user
text can never ping a channel or forge a link.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FieldKind = Literal["text", "textarea", "select", "multiselect", "checkbox", "person"]


@dataclass(frozen=True)
class Button:
    label: str
    action: str  # e.g. "decide:escalate", "feedback:better", "open:barrier"
    value: str = ""  # e.g. the item id
    style: Literal["primary", "danger", ""] = ""


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: FieldKind = "text"
    required: bool = False
    options: tuple[Option, ...] = ()
    initial: str = ""
    hint: str = ""
    placeholder: str = ""  # of a select or a person picker ("Choose…"), in the reader's language


@dataclass(frozen=True)
class Form:
    form_id: str  # which flow handles the submission, e.g. "barrier", "decide"
    title: str
    fields: tuple[FormField, ...]
    submit_label: str = "Submit"
    context: dict[str, str] = field(default_factory=dict)  # carried back on submit
    # the words a platform adds around a form, in the reader's language (flows/forms.py)
    cancel_label: str = "Cancel"
    required_label: str = "Required"
    check_label: str = "Please check the fields marked below."


@dataclass(frozen=True)
class Message:
    text: str
    title: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    buttons: tuple[Button, ...] = ()
    form: Form | None = None  # a form shown inline (or opened as a modal where the platform can)
    footer: str = ""
    # where a platform has to shorten this message (a field over its limit, a card over its
    # size), the button it adds so nothing is cut silently (e.g. "Show full report")
    expand: Button | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        form = data.get("form")
        return cls(
            text=data.get("text", ""),
            title=data.get("title", ""),
            fields=tuple((str(a), str(b)) for a, b in data.get("fields", ())),
            buttons=tuple(Button(**b) for b in data.get("buttons", ())),
            form=form_from_json(form) if form else None,
            footer=data.get("footer", ""),
            expand=Button(**data["expand"]) if data.get("expand") else None,
        )

    def plain(self) -> str:
        """Everything a person would read, as one string (tests, logs, the terminal chat)."""
        parts = [self.title, self.text]
        parts += [f"{k}: {v}" for k, v in self.fields]
        parts += [f"[{b.label}]" for b in self.buttons]
        if self.form:
            parts.append(f"<form {self.form.title}>")
        if self.footer:
            parts.append(self.footer)
        return "\n".join(p for p in parts if p)


def form_from_json(data: dict[str, Any]) -> Form:
    fields = []
    for f in data.get("fields", ()):
        opts = tuple(Option(**o) for o in f.get("options", ()))
        fields.append(FormField(**{**f, "options": opts}))
    return Form(
        form_id=data["form_id"],
        title=data["title"],
        fields=tuple(fields),
        submit_label=data.get("submit_label", "Submit"),
        context=dict(data.get("context", {})),
        cancel_label=data.get("cancel_label", "Cancel"),
        required_label=data.get("required_label", "Required"),
        check_label=data.get("check_label", "Please check the fields marked below."),
    )
