"""Languages: gettext catalogs (Babel), the reader's language and timezone, dates and numbers.

Every word a person reads is an English message id marked in the source: `_("...")` and
`ngettext(...)` in Python, `{{ _("...") }}` / `{% trans %}` / `ngettext` in templates (Jinja2's
i18n extension, new-style gettext). `python3 tasks.py i18n` extracts them (pybabel, babel.cfg)
into `bot/locale/messages.pot` and updates each language's `bot/locale/<lang>/LC_MESSAGES/
messages.po`; `tests/test_catalogs.py` fails when a message is missing, untranslated or fuzzy.

The `.po` files are the catalogs: they are compiled in memory (Babel's own compiler) the first
time a language is used, so a fresh clone, an editable install and a wheel all speak every
language without a build step, and no compiled file can go stale. An organisation adds a
language by adding a catalog (docs/translating.md), in this folder or in `LOOPLINK_LOCALE_DIR`.

Whose language a message is in is decided where it is addressed: `speaking(reader)` sets the
reader (a locale and a timezone) for the code that builds the message, and `_` reads it when
called. Text built once and sent to several readers is built once per reader.
"""

from __future__ import annotations

import gettext as _gettext
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from babel.numbers import format_decimal, format_percent

SOURCE = "en"  # the language of the message ids
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

# The Babel locale that formats dates and numbers for a language: Spanish in a US school
# district writes 1,234.5 (es_US), not 1.234,5.
FORMAT_LOCALE = {"es": "es_US"}


@dataclass(frozen=True)
class Reader:
    """Who reads the message being built: their language and their timezone."""

    language: str = SOURCE
    timezone: str = "UTC"


_reader: ContextVar[Reader] = ContextVar("looplink_reader", default=Reader())  # noqa: B039 - frozen
_catalogs: dict[str, _gettext.NullTranslations] = {}
_extra: dict[str, tuple[_gettext.NullTranslations, str]] = {}  # registered (tests, plugins)


def N_(message: str) -> str:
    """Mark a message for extraction without translating it now (module-level labels)."""
    return message


def _dirs() -> list[Path]:
    extra = os.environ.get("LOOPLINK_LOCALE_DIR")
    return [*([Path(extra)] if extra else []), LOCALE_DIR]


def _po_path(language: str) -> Path | None:
    for base in _dirs():
        po = base / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        if po.is_file():
            return po
    return None


def compile_po(po: Path, strict: bool = False) -> _gettext.GNUTranslations:
    """A catalog compiled in memory from its .po file (fuzzy and empty entries are skipped);
    `strict`: a malformed entry is an error (PoFileError), not skipped."""
    with po.open("rb") as f:
        catalog = read_po(f, locale=po.parent.parent.name, abort_invalid=strict)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


class CatalogError(ValueError):
    """A catalog Looplink cannot use; the text names the file and what to do."""


def check_catalogs() -> tuple[str, ...]:
    """Compile every catalog found (ours and LOOPLINK_LOCALE_DIR's) once, at start, so that a
    broken one is a clear message then rather than a failure in the middle of someone's
    conversation. Returns the languages."""
    extra = os.environ.get("LOOPLINK_LOCALE_DIR")
    if extra and not Path(extra).is_dir():
        raise CatalogError(
            f"LOOPLINK_LOCALE_DIR={extra} is not a folder. It should hold "
            "<language>/LC_MESSAGES/messages.po files (docs/translating.md)."
        )
    for language in languages():
        po = _po_path(language) if language not in _extra and language != SOURCE else None
        if po is None:
            continue
        try:
            Locale.parse(language)
        except (ValueError, UnknownLocaleError):
            raise CatalogError(
                f"{po}: '{language}' is not a language code Looplink knows (the folder's name "
                "must be one, such as 'fr' or 'pt_BR'). Rename the folder (docs/translating.md)."
            ) from None
        try:
            _catalogs[language] = compile_po(po, strict=True)
        except (PoFileError, OSError, UnicodeDecodeError, ValueError) as e:
            raise CatalogError(
                f"{po}: this catalog cannot be read ({e}). Fix it (check it with "
                f"`pybabel compile --statistics -i {po} -o /dev/null`) or remove it "
                "(docs/translating.md)."
            ) from None
    return languages()


def register(language: str, translations: _gettext.NullTranslations, formats: str = SOURCE) -> None:
    """Add a language from a translations object (the pseudo-locale in tests)."""
    _extra[language] = (translations, formats)
    _catalogs.pop(language, None)


def unregister(language: str) -> None:
    _extra.pop(language, None)
    _catalogs.pop(language, None)


def languages() -> tuple[str, ...]:
    """Every language Looplink can speak: English and each catalog found."""
    found = {SOURCE, *_extra}
    for base in _dirs():
        if base.is_dir():
            found |= {
                p.name for p in base.iterdir() if (p / "LC_MESSAGES" / f"{DOMAIN}.po").is_file()
            }
    return tuple(sorted(found))


def normalize(tag: str | None) -> str | None:
    """A language Looplink speaks for a platform's or a person's tag ('es-MX', 'es_US', 'ES'),
    or None."""
    if not tag:
        return None
    tag = tag.strip().replace("-", "_")
    known = languages()
    for candidate in (tag, tag.lower(), tag.split("_")[0].lower()):
        if candidate in known:
            return candidate
    return None


def translations(language: str) -> _gettext.NullTranslations:
    if language not in _catalogs:
        if language in _extra:
            _catalogs[language] = _extra[language][0]
        else:
            po = _po_path(language) if language != SOURCE else None
            _catalogs[language] = compile_po(po) if po else _gettext.NullTranslations()
    return _catalogs[language]


def reader() -> Reader:
    return _reader.get()


@contextmanager
def speaking(who: Reader | str) -> Iterator[Reader]:
    """Build messages for this reader (a Reader, or a language in the reader's current
    timezone) within the block."""
    if isinstance(who, str):
        who = Reader(who, _reader.get().timezone)
    token = _reader.set(who)
    try:
        yield who
    finally:
        _reader.reset(token)


def _(message: str, **params: Any) -> str:
    """`message` in the reader's language; `%(name)s` filled from params (new-style gettext)."""
    text = translations(_reader.get().language).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    """The singular or plural form for `n` in the reader's language; `%(num)d` is n."""
    text = translations(_reader.get().language).ngettext(singular, plural, n)
    return text % {"num": n, **params}


def pgettext(context: str, message: str, **params: Any) -> str:
    """`message` in the reader's language where the same English means something else
    elsewhere (`context` tells the translator which: "digest heading")."""
    text = translations(_reader.get().language).pgettext(context, message)
    return text % params if params else text


gettext = _


def babel_locale(language: str | None = None) -> Locale:
    lang = language or _reader.get().language
    name = _extra[lang][1] if lang in _extra else FORMAT_LOCALE.get(lang, lang)
    try:
        return Locale.parse(name)
    except (ValueError, UnknownLocaleError):
        return Locale.parse(SOURCE)


def _zone(tz: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(tz or _reader.get().timezone or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def when(value: datetime | None, tz: str | None = None) -> str:
    """A date and time in the reader's language, in `tz` (else the reader's timezone)."""
    if value is None:
        return "-"
    # Translators: a Babel/CLDR date pattern for a date and time, e.g. Tue 03 Feb 2026 14:05
    pattern = _("EEE dd MMM yyyy HH:mm")
    return format_datetime(value, pattern, tzinfo=_zone(tz), locale=babel_locale())


def day(value: datetime | None, tz: str | None = None) -> str:
    """A date in the reader's language, in `tz` (else the reader's timezone)."""
    if value is None:
        return "-"
    # Translators: a Babel/CLDR date pattern for a date, e.g. Tue 03 Feb 2026
    pattern = _("EEE dd MMM yyyy")
    return format_datetime(value, pattern, tzinfo=_zone(tz), locale=babel_locale())


def number(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    fmt = "#,##0" if digits <= 0 else "#,##0." + "#" * digits
    return format_decimal(value, format=fmt, locale=babel_locale())


def days(value: float | None) -> str:
    """A number of days as people say it, in the reader's language: "1 day", "1.5 days",
    "2 days" / "1 día", "1.5 días" (one decimal at most; the plural form by the figure as
    written, so 1.0 is "1 day" and 1.5 is plural)."""
    if value is None:
        return "-"
    figure = round(float(value), 1)
    count = int(figure) if figure == int(figure) else 2
    return ngettext("%(figure)s day", "%(figure)s days", count, figure=number(figure))


def percent(value: float | None) -> str:
    return "-" if value is None else format_percent(value, locale=babel_locale())


def language_name(language: str, in_language: str | None = None) -> str:
    """'Spanish' / 'español': a language's name in the reader's language."""
    try:
        name = Locale.parse(language).get_display_name(babel_locale(in_language))
    except (ValueError, UnknownLocaleError):
        return language
    return name or language
