"""An organisation adds a language by adding a catalog (issue 17, docs/translating.md): a
`<lang>/LC_MESSAGES/messages.po` in LOOPLINK_LOCALE_DIR is a language Looplink speaks, with
English for whatever it does not translate; a catalog Looplink cannot use is a clear message
at start, not a traceback in the middle of someone's conversation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.local import LocalChat
from bot import i18n
from bot.db.models import Person
from bot.orgfile import OrgFileError, load_org
from looplink.platforms import infos
from tests.conftest import EXAMPLE_ORG
from tests.fakes.serve import serve_until_exit

FRENCH = r"""msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\n"

msgid "Close"
msgstr "Fermer"

msgid "%(figure)s day"
msgid_plural "%(figure)s days"
msgstr[0] "%(figure)s jour"
msgstr[1] "%(figure)s jours"
"""


def catalog(root: Path, language: str, text: str) -> Path:
    po = root / language / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_bytes(text.encode("utf-8", "surrogateescape"))
    return po


@pytest.fixture
def french(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "locale"
    catalog(root, "fr", FRENCH)
    monkeypatch.setenv("LOOPLINK_LOCALE_DIR", str(root))
    yield root
    i18n._catalogs.pop("fr", None)  # the next test may have no French


def test_a_catalog_in_the_folder_is_a_language(french: Path) -> None:
    assert "fr" in i18n.check_catalogs() and "fr" in i18n.languages()
    assert i18n.normalize("fr-CA") == "fr"
    with i18n.speaking("fr"):
        assert i18n._("Close") == "Fermer"
        assert i18n._("Done.") == "Done."  # not in the catalog: English
        assert i18n.days(2) == "2 jours" and i18n.days(1) == "1 jour"


def test_without_the_folder_there_is_no_french(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOOPLINK_LOCALE_DIR", raising=False)
    assert "fr" not in i18n.languages() and i18n.normalize("fr") is None


def test_the_org_file_and_a_person_may_choose_it(
    french: Path,
    tmp_path: Path,
) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(EXAMPLE_ORG.read_text().replace("language: es}", "language: fr}"))
    spec = load_org(org, infos())
    assert {p.language for p in spec.people} >= {"fr"}


def test_the_org_file_refuses_a_language_without_a_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOOPLINK_LOCALE_DIR", raising=False)
    org = tmp_path / "org.yaml"
    org.write_text(EXAMPLE_ORG.read_text().replace("language: es}", "language: fr}"))
    with pytest.raises(OrgFileError, match="fr"):
        load_org(org, infos())


async def test_a_person_chooses_french_in_chat(french: Path, chat: LocalChat) -> None:
    await chat.say("carol", "language fr")
    async with chat.rt.db.transaction() as s:
        carol = await s.get(Person, "carol")
        assert carol is not None and carol.chosen_language == "fr"


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("fr", 'a line that is not a .po line\nmsgid "Close"\nmsgstr "Fermer"\n', "cannot be read"),
        ("fr", FRENCH.replace("Fermer", "Ferm\udcff"), "cannot be read"),  # not UTF-8
        ("xx_nowhere", FRENCH, "not a language code"),
    ],
)
def test_a_broken_catalog_is_a_clear_message_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str, text: str, expected: str
) -> None:
    root = tmp_path / "locale"
    po = catalog(root, language, text)
    monkeypatch.setenv("LOOPLINK_LOCALE_DIR", str(root))
    try:
        with pytest.raises(i18n.CatalogError) as e:
            i18n.check_catalogs()
    finally:
        i18n._catalogs.pop(language, None)
    assert str(po) in str(e.value) and expected in str(e.value)
    assert "docs/translating.md" in str(e.value)


def test_serve_with_a_broken_catalog_exits_with_one_line(tmp_path: Path) -> None:
    """`looplink serve` as run in production: no traceback, a non-zero exit, the message."""
    root = tmp_path / "locale"
    po = catalog(root, "fr", "a line that is not a .po line\n")
    proc = serve_until_exit(f"sqlite:///{tmp_path / 'l.db'}", LOOPLINK_LOCALE_DIR=str(root))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("Configuration problem:") and str(po) in last


def test_a_locale_dir_that_is_not_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPLINK_LOCALE_DIR", str(tmp_path / "missing"))
    with pytest.raises(i18n.CatalogError, match="is not a folder"):
        i18n.check_catalogs()
