"""The catalogs (issue 17): every marked message is in every catalog, translated, not fuzzy.

A message marked in the code or a template but missing from a catalog means `python3 tasks.py
i18n` was not run; an empty or fuzzy one means it was not translated (docs/translating.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot import i18n
from bot.texts import Texts

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = [
    p.parent.parent.name for p in sorted(i18n.LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))
]


def _marked() -> Catalog:
    """What `pybabel extract -F babel.cfg -k N_` finds in the sources, now."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)  # type: ignore[no-untyped-call]  # Babel's
    keywords: dict[str, Any] = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    keywords |= {"pgettext": ((1, "c"), 2)}  # a message with its context
    catalog = Catalog()
    for _file, line, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords, comment_tags=("Translators:",)
    ):
        catalog.add(message, None, [("", line)], auto_comments=comments, context=context)
    return catalog


def _po(lang: str) -> Catalog:
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def test_spanish_is_a_catalog() -> None:
    assert "es" in LANGUAGES
    assert "es" in i18n.languages()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_marked_message_is_translated(lang: str) -> None:
    marked = _marked()
    po = _po(lang)
    assert len(marked) > 20  # the extraction found the sources
    missing = [str(m.id) for m in marked if m.id and po.get(m.id, context=m.context) is None]
    assert not missing, (
        f"{len(missing)} message(s) not in {lang}: run `python3 tasks.py i18n`, then translate "
        f"them in bot/locale/{lang}/LC_MESSAGES/messages.po (docs/translating.md): {missing[:10]}"
    )
    untranslated, fuzzy = [], []
    for m in po:
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if not all(strings):
            untranslated.append(str(m.id))
        if m.fuzzy:
            fuzzy.append(str(m.id))
    assert not untranslated, f"untranslated in {lang}: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy in {lang} (check the translation, then drop the flag): {fuzzy[:10]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_their_placeholders(lang: str) -> None:
    """A translation that drops or renames %(name)s would fail when shown."""
    import re

    wrong = []
    for m in _po(lang):
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        want = set(re.findall(r"%\((\w+)\)", str(ids[-1])))
        for s in strings:
            if s and set(re.findall(r"%\((\w+)\)", str(s))) - want - {"num"}:
                wrong.append(str(m.id))
    assert not wrong, f"placeholders not in the English message ({lang}): {wrong[:10]}"


def test_a_template_speaks_the_readers_language() -> None:
    t = Texts()
    with i18n.speaking("es"):
        es = t.render("help")
    en = t.render("help")
    assert "Looplink" in es and es != en
    assert "report a barrier" in en and "report a barrier" not in es
