"""The words a platform adds around an answer ("Close", "Done.", "That was already done.")
are in the reader's language on every path (issue 17), not only when a flow ran in the
person's language: a stranger's answer, a refusal (the loop refused; the form's words were
decided outside the person's language), an apology. Before, those answers carried no words
and each adapter fell back to English ("Close" on a Slack modal, "Done." in Teams).
"""

from __future__ import annotations

from adapters.local import LocalChat
from bot import i18n
from bot.db.models import Setting
from flows.events import Inbound
from flows.router import handle, platform_words


def spanish_words() -> dict[str, str]:
    with i18n.speaking("es"):
        return platform_words()


async def test_a_stranger_gets_the_words_in_the_organisations_language(chat: LocalChat) -> None:
    async with chat.rt.db.transaction() as s:
        (await s.get(Setting, "language")).value = "es"  # type: ignore[union-attr]
        from bot import dircache

        await dircache.directory_changed(s)
    result = await handle(chat.rt, Inbound("local", "nobody-here", "text", text="hola"))
    assert "directorio" in result.replies[0].text  # the stranger's answer, in Spanish
    assert result.words == spanish_words() and result.words["close"] != "Close"


async def test_a_stranger_whose_platform_says_spanish(chat: LocalChat) -> None:
    ev = Inbound("local", "nobody-here", "text", text="hola", locale="es-MX")
    assert (await handle(chat.rt, ev)).words == spanish_words()


async def test_a_refusal_carries_the_persons_words(chat: LocalChat) -> None:
    # Lucía reads Spanish (examples/org.yaml); she cannot decide an item that does not exist
    ev = Inbound("local", "lucia", "action", action="decide:resolve", value="999")
    result = await handle(chat.rt, ev)
    assert result.replies, result
    assert result.words == spanish_words()
    # and an English reader's refusal stays English
    ev = Inbound("local", "carol", "action", action="decide:resolve", value="999")
    assert (await handle(chat.rt, ev)).words["close"] == "Close"


async def test_a_platform_language_that_changes_is_followed_below_a_choice(
    chat: LocalChat,
) -> None:
    """Teams sends the user's locale with every activity (`Inbound.locale`): when it changes,
    the next answer follows it, unless the person chose a language or the org file sets one."""

    async def help_for(person: str, locale: str) -> str:
        result = await handle(chat.rt, Inbound("local", person, "text", text="help", locale=locale))
        return result.replies[0].text

    assert "barrera" in (await help_for("carol", "es-MX")).lower()
    assert "barrier" in (await help_for("carol", "en-US")).lower()
    assert "barrera" in (await help_for("carol", "es-US")).lower()
    # Lucía's org-file language (es) wins over what her platform says
    assert "barrera" in (await help_for("lucia", "en-US")).lower()
    # and a language chosen in chat wins over both
    await chat.say("carol", "language en")
    assert "barrera" not in (await help_for("carol", "es-MX")).lower()
