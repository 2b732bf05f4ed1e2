"""The neutral forms Looplink opens (modals in Slack, Adaptive Cards in Teams, HTML locally).

Built when opened, in the language of the person who opens them (bot/i18n.py)."""

from __future__ import annotations

from dataclasses import replace

from bot.domain import (
    DRIVER_LABELS,
    LOCUS_LABELS,
    NOTE_REQUIRED,
    STAGE_LABELS,
    Affected,
    Decision,
    Urgency,
    affected_word,
    urgency_word,
)
from bot.i18n import _
from bot.messages import Form, FormField, Option


def driver_options() -> tuple[Option, ...]:
    return tuple(Option(d.value, _(label)) for d, label in DRIVER_LABELS.items())


def stage_options() -> tuple[Option, ...]:
    return tuple(Option(s.value, _(label)) for s, label in STAGE_LABELS.items())


def affected_options() -> tuple[Option, ...]:
    return tuple(Option(a.value, affected_word(a.value).capitalize()) for a in Affected)


def urgency_options() -> tuple[Option, ...]:
    return tuple(Option(u.value, urgency_word(u.value).capitalize()) for u in Urgency)


def _form(
    form_id: str, title: str, fields: tuple[FormField, ...], submit: str, **kw: dict[str, str]
) -> Form:
    choose = {"select": _("Choose…"), "person": _("Choose…"), "multiselect": _("Choose any…")}
    fields = tuple(
        replace(f, placeholder=choose[f.kind]) if f.kind in choose and not f.placeholder else f
        for f in fields
    )
    return Form(
        form_id=form_id,
        title=title,
        fields=fields,
        submit_label=submit,
        cancel_label=_("Cancel"),
        required_label=_("Required"),
        check_label=_("Please check the fields marked below."),
        **kw,
    )


def locus_options() -> tuple[Option, ...]:
    return tuple(Option(k.value, _(label)) for k, label in LOCUS_LABELS.items())


def report_form(kind: str, summary: str = "", anonymity_hint: str = "") -> Form:
    barrier = kind == "barrier"
    fields = [
        FormField(
            "summary",
            _("What is getting in the way?") if barrier else _("What worked?"),
            "textarea",
            required=True,
            initial=summary,
        ),
        FormField(
            "details",
            _("Where, when and how often?") if barrier else _("Where, and for whom?"),
            "textarea",
        ),
        FormField("affected", _("Who is affected?"), "multiselect", options=affected_options()),
        FormField(
            "subgroup",
            _("A particular group (optional, for equity)"),
            "text",
            hint=_("e.g. English learners"),
        ),
        FormField(
            "driver",
            _("Implementation driver"),
            "select",
            options=driver_options(),
            initial="other",
        ),
        FormField("stage", _("Stage of implementation"), "select", options=stage_options()),
    ]
    if barrier:
        fields += [
            FormField(
                "locus", _("Is this within your team's control?"), "select", options=locus_options()
            ),
            FormField(
                "evidence",
                _("How do you know?"),
                "textarea",
                hint=_("Data, something you observed, how often it happens"),
            ),
            FormField("tried", _("What have you tried?"), "textarea"),
            FormField("suggestion", _("What might help?"), "textarea"),
            FormField(
                "urgency", _("Urgency"), "select", options=urgency_options(), initial="normal"
            ),
        ]
    fields.append(FormField("anonymous", _("Hide my name"), "checkbox", hint=anonymity_hint))
    return _form(
        kind,
        _("Report a barrier") if barrier else _("Share a success"),
        tuple(fields),
        _("Send to my team"),
    )


def decide_form(
    item_id: int,
    decision: Decision,
    title: str,
    seen: dict[str, str] | None = None,
    note_label: str = "",
    hint: str = "",
    merge_options: tuple[Option, ...] = (),
) -> Form:
    """A decision's form; `seen` (the holding team and the item's version) goes with it, so a
    submission for an item that has moved on since is refused (bot/claims.py). `hint`: what
    the reporter said about control and evidence (decide_prompt.j2)."""
    label = NOTE_REQUIRED.get(decision)
    fields = [
        FormField(
            "note",
            note_label or (_(label) if label else _("Note")),
            "textarea",
            required=decision in NOTE_REQUIRED,
            hint=hint,
        )
    ]
    if decision == Decision.MERGE and merge_options:  # a picker of the team's open items
        picker = FormField("merge_into", _("Merge into"), "select", True, merge_options)
        fields.insert(0, picker)
    elif decision == Decision.MERGE:
        fields.insert(
            0, FormField("merge_into", _("Merge into item number"), "text", required=True)
        )
    if decision == Decision.ASSIGN:
        fields.insert(0, FormField("owner", _("Owner"), "person", required=True))
    return _form(
        "decide",
        title[:60],
        tuple(fields),
        _("Confirm"),
        context={"item": str(item_id), "decision": decision.value, **(seen or {})},
    )


def answer_form(item_id: int) -> Form:
    return _form(
        "answer",
        _("Answer about #%(id)s", id=item_id),
        (FormField("answer", _("Your answer"), "textarea", required=True),),
        _("Send answer"),
        context={"item": str(item_id)},
    )


def kudos_form(target: str = "", text: str = "") -> Form:
    return _form(
        "kudos",
        _("Recognise someone"),
        (
            FormField(
                "target", _("Who (a person or a team)?"), "person", required=True, initial=target
            ),
            FormField(
                "text", _("For what, specifically?"), "textarea", required=True, initial=text
            ),
            FormField("item", _("About item number (optional)"), "text"),
            FormField(
                "driver",
                _("Implementation driver (optional)"),
                "select",
                options=driver_options(),
            ),
        ),
        _("Send recognition"),
    )
