"""Templates cannot read what they must not, nor reach the server (issue 10, "templates").

Every template, ours and an organisation's override (LOOPLINK_TEMPLATES_DIR), runs in Jinja2's
sandbox and sees view models only (bot/views.py): no database object, and never the reporter of
an anonymous item.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jinja2.sandbox import SandboxedEnvironment

from adapters.local import LocalChat
from adapters.local.web import env as web_env
from bot.clock import FixedClock
from bot.db.models import Base, Item
from bot.texts import Sandbox, TemplateRefused, Texts, set_texts, texts
from bot.views import ItemView, template_context
from scheduler.jobs import run_job
from tests.sched_seed import decide, seed_activity

ANON = {"summary": "The newsletter is only in English", "anonymous": "yes"}
REPORTER_ID = "reporter=[{{ item.reporter_id }}]"


@pytest.fixture
def overrides(tmp_path: Path) -> Iterator[Path]:
    """A templates folder to write overrides into; the defaults come back afterwards."""
    set_texts(Texts(tmp_path))
    try:
        yield tmp_path
    finally:
        set_texts(Texts())


async def test_an_override_cannot_print_the_reporter_of_an_anonymous_item(
    chat: LocalChat, overrides: Path
) -> None:
    (overrides / "item_card.j2").write_text("Card. " + REPORTER_ID)
    (overrides / "info_provided.j2").write_text(
        "Answer: {{ answer }}. " + REPORTER_ID + " [{{ reporter.name }}{{ reporter.id }}]"
    )
    (overrides / "kudos.j2").write_text("Kudos from [{{ giver.name }}] " + REPORTER_ID)
    await chat.submit("carol", "barrier", ANON)
    await decide(chat, "alice", 1, "ask_info", "Which families?")
    answer = await chat.press("carol", "answer", "1")
    assert answer.form is not None
    await chat.submit("carol", "answer", {"answer": "Spanish-speaking"}, answer.form.context)
    await chat.say("carol", "kudos @alice for #1 asking the right question")
    seen = [r.message.plain() for r in await chat.channel("lincoln")]
    seen += [r.message.plain() for r in await chat.dms("alice")]
    card = next(t for t in seen if t.startswith("Barrier #1") or "Card." in t)
    assert "reporter=[]" in card, card
    assert any("Answer: Spanish-speaking. reporter=[] []" in t for t in seen), seen
    # giving kudos is not reporting: she is named as any giver is (hiding her only when the
    # kudos is about her own anonymous report would single her out)
    assert any("Kudos from [Carol Jensen] reporter=[]" in t for t in seen), seen
    for text in seen:
        if not text.startswith("Kudos from"):
            assert "carol" not in text.lower(), text


async def test_an_override_still_names_a_reporter_who_is_not_anonymous(
    chat: LocalChat, overrides: Path
) -> None:
    (overrides / "info_provided.j2").write_text("Answer from {{ reporter.name }}: {{ answer }}")
    await chat.submit("carol", "barrier", {"summary": "Coaching is cut"})
    await decide(chat, "alice", 1, "ask_info", "Since when?")
    answer = await chat.press("carol", "answer", "1")
    assert answer.form is not None
    await chat.submit("carol", "answer", {"answer": "October"}, answer.form.context)
    assert any(
        "Answer from Carol Jensen: October" in r.message.text for r in await chat.channel("lincoln")
    )


ESCAPES = [
    "{{ cycler.__init__.__globals__.os.getpid() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ lipsum.__globals__['os'].getpid() }}",
    "{{ item.__class__ }}",
    "{{ 'x' * 1000000000 }}",
    "{{ 10 ** 100000 }}",
    "{% set l = [] %}{{ l.append(1) }}",
]


@pytest.mark.parametrize("escape", ESCAPES)
async def test_an_override_that_reaches_for_the_server_is_refused(
    chat: LocalChat, overrides: Path, escape: str
) -> None:
    (overrides / "report_thanks.j2").write_text(f"Thanks. {escape}")
    with pytest.raises(TemplateRefused) as err:
        await texts_render_thanks(chat)
    message = str(err.value)
    assert message.startswith(f"{overrides / 'report_thanks.j2'}: refused: "), message
    assert str(os.getpid()) not in message
    # through the loop: the report fails politely, the pid is never in any answer
    result = await chat.submit("carol", "barrier", {"summary": "x"})
    assert str(os.getpid()) not in result.text() and "Thanks. " not in result.text()


async def texts_render_thanks(chat: LocalChat) -> str:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    item = Item(
        id=1, kind="barrier", summary="x", anonymous=False, reporter_id="carol", state="new"
    )
    item.created_at = item.updated_at = now
    for name in ("details", "subgroup", "driver", "stage", "tried", "suggestion", "response"):
        setattr(item, name, "")
    item.affected, item.urgency, item.source = [], "normal", "local"
    item.origin_team_id = item.holding_team_id = "lincoln"
    return texts().render("report_thanks", item=item, team=None, weak_anonymity=False, min_team=5)


def test_every_environment_is_a_sandbox() -> None:
    t = Texts("/nonexistent-overrides")
    assert isinstance(t.env, SandboxedEnvironment)
    assert isinstance(t.overrides, SandboxedEnvironment)
    assert isinstance(texts().env, SandboxedEnvironment)
    assert isinstance(web_env(), SandboxedEnvironment)


def test_the_context_is_views_only() -> None:
    item = Item(id=7, anonymous=True, reporter_id="carol", summary="x")
    from bot.db.models import Person

    carol = Person(id="carol", name="Carol Jensen")
    alice = Person(id="alice", name="Alice Reyes")
    ctx = template_context({"item": item, "reporter": carol, "actor": alice, "n": 3})
    assert ctx["reporter"] is None  # the anonymous item's reporter, under any name
    assert ctx["actor"].name == "Alice Reyes" and not hasattr(ctx["actor"], "email")
    assert isinstance(ctx["item"], ItemView)
    assert {f.name for f in dataclasses.fields(ItemView)} & {"reporter_id", "reporter"} == set()
    with pytest.raises(TypeError, match="templates get view models"):
        template_context({"what": object()})
    with pytest.raises(TypeError, match="give it a view model"):
        from bot.db.models import Outbox

        template_context({"row": Outbox(id=1)})


async def test_no_template_ever_touches_a_database_object(
    chat: LocalChat, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every attribute a template reads, over a whole loop and every scheduled message, is
    read through the sandbox and belongs to a view or a plain value."""
    touched: list[type[Any]] = []

    def spying(cls: type[SandboxedEnvironment]) -> None:
        original = cls.getattr

        def spy(self: SandboxedEnvironment, obj: Any, attribute: str) -> Any:
            touched.append(type(obj))
            return original(self, obj, attribute)

        monkeypatch.setattr(cls, "getattr", spy)

    spying(SandboxedEnvironment)
    spying(Sandbox)  # reads a view's own fields without the checks (bot/texts.py)
    clock.set(datetime(2026, 11, 24, 22, 0, tzinfo=UTC))
    await seed_activity(chat, clock)
    await decide(chat, "alice", 4, "ask_info", "Which languages?")
    await decide(chat, "grace", 1, "resolve", "The state now sends data weekly")
    for kind, team, at in [
        ("agenda", "lincoln", datetime(2026, 12, 1, 19, 0, tzinfo=UTC)),
        ("digest", "lincoln", datetime(2026, 11, 30, 14, 0, tzinfo=UTC)),
        ("roundup", "lincoln", datetime(2026, 11, 27, 21, 0, tzinfo=UTC)),
        ("progress", "lincoln", datetime(2026, 12, 1, 15, 0, tzinfo=UTC)),
        ("nudges", "lincoln", datetime(2026, 12, 10, 15, 0, tzinfo=UTC)),
        ("follow_up", "lincoln", datetime(2027, 2, 10, 15, 0, tzinfo=UTC)),
    ]:
        clock.set(at)
        await run_job(chat.rt, kind, team, at)
    await chat.rt.dispatcher.run_once()
    assert len(touched) > 200
    assert not [t for t in touched if issubclass(t, Base)], {t.__name__ for t in touched}


def test_the_web_form_shows_errors_that_belong_to_no_field() -> None:
    """The form macro lists such errors without changing a list (the sandbox forbids it)."""
    from adapters.local.playground_state import OpenForm
    from adapters.local.web import render
    from bot.messages import Form, FormField

    form = Form(form_id="decide", title="Decide", fields=(FormField("note", "Note"),))
    page = render(
        "_panel.html",
        who=None,
        conv=None,
        open_form=OpenForm(form, {}, {"item": "Gone."}),
        form_nonce=lambda: "n",
    )
    assert '<div class="error" role="alert"><p>Gone.</p></div>' in page
