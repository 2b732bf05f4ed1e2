"""The neutral forms Looplink opens (modals in Slack, Adaptive Cards in Teams, HTML locally)."""

from __future__ import annotations

from bot.domain import DRIVER_LABELS, NOTE_REQUIRED, STAGE_LABELS, Affected, Decision, Urgency
from bot.messages import Form, FormField, Option

DRIVER_OPTIONS = tuple(Option(d.value, label) for d, label in DRIVER_LABELS.items())
STAGE_OPTIONS = tuple(Option(s.value, label) for s, label in STAGE_LABELS.items())
AFFECTED_OPTIONS = tuple(Option(a.value, a.value.capitalize()) for a in Affected)
URGENCY_OPTIONS = tuple(Option(u.value, u.value.capitalize()) for u in Urgency)


def report_form(kind: str, summary: str = "", anonymity_hint: str = "") -> Form:
    barrier = kind == "barrier"
    fields = [
        FormField(
            "summary",
            "What is getting in the way?" if barrier else "What worked?",
            "textarea",
            required=True,
            initial=summary,
        ),
        FormField(
            "details",
            "Where, when and how often?" if barrier else "Where, and for whom?",
            "textarea",
        ),
        FormField("affected", "Who is affected?", "multiselect", options=AFFECTED_OPTIONS),
        FormField(
            "subgroup",
            "A particular group (optional, for equity)",
            "text",
            hint="e.g. English learners",
        ),
        FormField(
            "driver", "Implementation driver", "select", options=DRIVER_OPTIONS, initial="other"
        ),
        FormField("stage", "Stage of implementation", "select", options=STAGE_OPTIONS),
    ]
    if barrier:
        fields += [
            FormField("tried", "What have you tried?", "textarea"),
            FormField("suggestion", "What might help?", "textarea"),
            FormField("urgency", "Urgency", "select", options=URGENCY_OPTIONS, initial="normal"),
        ]
    fields.append(FormField("anonymous", "Hide my name", "checkbox", hint=anonymity_hint))
    return Form(
        form_id=kind,
        title="Report a barrier" if barrier else "Share a success",
        fields=tuple(fields),
        submit_label="Send to my team",
    )


def decide_form(
    item_id: int, decision: Decision, title: str, seen: dict[str, str] | None = None
) -> Form:
    """A decision's form; `seen` (the holding team and the item's version) goes with it, so a
    submission for an item that has moved on since is refused (bot/claims.py)."""
    fields = [
        FormField(
            "note",
            NOTE_REQUIRED.get(decision, "Note"),
            "textarea",
            required=decision in NOTE_REQUIRED,
        )
    ]
    if decision == Decision.MERGE:
        fields.insert(0, FormField("merge_into", "Merge into item number", "text", required=True))
    if decision == Decision.ASSIGN:
        fields.insert(0, FormField("owner", "Owner", "person", required=True))
    return Form(
        form_id="decide",
        title=title[:60],
        fields=tuple(fields),
        submit_label="Confirm",
        context={"item": str(item_id), "decision": decision.value, **(seen or {})},
    )


def answer_form(item_id: int) -> Form:
    return Form(
        form_id="answer",
        title=f"Answer about #{item_id}",
        fields=(FormField("answer", "Your answer", "textarea", required=True),),
        submit_label="Send answer",
        context={"item": str(item_id)},
    )


def kudos_form(target: str = "", text: str = "") -> Form:
    return Form(
        form_id="kudos",
        title="Recognise someone",
        fields=(
            FormField(
                "target", "Who (a person or a team)?", "person", required=True, initial=target
            ),
            FormField("text", "For what, specifically?", "textarea", required=True, initial=text),
            FormField("item", "About item number (optional)", "text"),
            FormField(
                "driver", "Implementation driver (optional)", "select", options=DRIVER_OPTIONS
            ),
        ),
        submit_label="Send recognition",
    )
