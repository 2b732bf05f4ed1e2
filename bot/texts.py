"""Message wording: Jinja2 templates in bot/templates, overridable from an organisation folder.

Templates render plain text (see bot/messages.py); adapters escape it for their platform.
Set LOOPLINK_TEMPLATES_DIR (or pass `override_dir`) to a folder holding files with the same
names to change any wording without touching code.

Every template, ours and an organisation's, runs in Jinja2's sandbox (no attributes starting
with `_`, no unsafe calls, no changing what it was given, no huge repetitions) and sees only
view models (`bot.views.template_context`): an override cannot read who reported an anonymous
item, nor reach the server. What the sandbox refuses is a `TemplateRefused` naming the file.
"""

from __future__ import annotations

import dataclasses
import os
from collections import deque
from collections.abc import MutableMapping, MutableSequence, MutableSet
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChainableUndefined,
    ChoiceLoader,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    Template,
    Undefined,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot import i18n
from bot.domain import (
    DRIVER_LABELS,
    OUTCOME_LABELS,
    STAGE_LABELS,
    Driver,
    Outcome,
    Stage,
    action_word,
    affected_word,
    level_count,
    state_word,
    urgency_word,
)
from bot.i18n import _
from bot.views import template_context

MAX_REPEAT = 100_000  # longest text or list a template may build with `*` (or `**`)


class TemplateRefused(Exception):
    """A template tried something templates may not do (the sandbox stopped it)."""


_MISSING = object()
_MUTABLE = (list, dict, set, deque, MutableMapping, MutableSequence, MutableSet)


_FIELDS: dict[type, frozenset[str]] = {}


def _data_fields(cls: type) -> frozenset[str]:
    """The public fields of a dataclass that is not a container (none for any other type)."""
    found = _FIELDS.get(cls)
    if found is None:
        plain = dataclasses.is_dataclass(cls) and not issubclass(cls, _MUTABLE)
        names = dataclasses.fields(cls) if plain else ()
        found = _FIELDS[cls] = frozenset(f.name for f in names if not f.name.startswith("_"))
    return found


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's sandbox, plus a bound on `"x" * n` and `n ** m` (memory and CPU)."""

    intercepted_binops = frozenset(["*", "**"])

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """Refuse at once (the default is an Undefined, which prints as nothing in a lenient
        template: the attempt would go unnoticed)."""
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
        )

    def getattr(self, obj: Any, attribute: str) -> Any:
        """A view model's own data field directly (what the checks of `super().getattr` would
        let through anyway: a public field of a plain dataclass, not a method, not a mutable
        container's); anything else through the sandbox's checks. Rendering a digest reads
        thousands of fields, and the checks were a third of its time (bench/README.md, 2)."""
        if attribute in _data_fields(type(obj)):
            value = getattr(obj, attribute, _MISSING)
            if value is not _MISSING and not callable(value):
                return value
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:  # noqa: ARG002 - Jinja's signature
        if operator == "**":
            bits = abs(left).bit_length() if isinstance(left, int) else 64
            if isinstance(right, int | float) and (abs(right) > 64 or bits * abs(right) > 4096):
                raise SecurityError("'**' may build numbers of at most 4,096 bits")
            return left**right
        for seq, n in ((left, right), (right, left)):
            sized = isinstance(seq, str | list | tuple) and isinstance(n, int)
            if sized and len(seq) * n > MAX_REPEAT:
                raise SecurityError(f"'*' may build at most {MAX_REPEAT:,} items")
        return left * right


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _driver(value: str | None) -> str:
    try:
        return _(DRIVER_LABELS[Driver(value or "other")])
    except ValueError:
        return str(value)


def _stage(value: str | None) -> str:
    try:
        return _(STAGE_LABELS[Stage(value)]) if value else "-"
    except ValueError:
        return str(value)


def _outcome(value: str | None) -> str:
    try:
        return _(OUTCOME_LABELS[Outcome(value)]) if value else "-"
    except ValueError:
        return str(value)


def _levels(level: str, n: int) -> str:
    return level_count(str(level), int(n))


def _pgettext(context: str, message: str) -> str:
    return i18n.translations(i18n.reader().language).pgettext(context, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    # Jinja's new-style wrapper fills %(num)s and the other variables itself
    return i18n.translations(i18n.reader().language).ngettext(singular, plural, n)


class Texts:
    """Our templates (strict: an unknown name is an error, caught by the tests) and, when an
    organisation overrides one, theirs (lenient: an unknown name prints as nothing, so a typo
    in an override, or an attempt to print what its view does not hold, shows nothing)."""

    def __init__(self, override_dir: str | Path | None = None) -> None:
        override = override_dir or os.environ.get("LOOPLINK_TEMPLATES_DIR")
        ours = PackageLoader("bot", "templates")
        self.env = self._sandbox(ours, StrictUndefined)
        self.overrides: Sandbox | None = None
        self.override_dir = Path(override) if override else None
        if self.override_dir is not None:
            theirs = ChoiceLoader([FileSystemLoader(str(self.override_dir)), ours])
            self.overrides = self._sandbox(theirs, ChainableUndefined)

    @staticmethod
    def _sandbox(loader: BaseLoader, undefined: type[Undefined]) -> Sandbox:
        env = Sandbox(
            loader=loader,
            autoescape=False,
            undefined=undefined,
            finalize=_finalize,  # None prints as nothing
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        env.filters.update(
            when=i18n.when,
            day=i18n.day,
            number=i18n.number,
            days=i18n.days,
            percent=i18n.percent,
            driver=_driver,
            stage=_stage,
            outcome=_outcome,
            action=action_word,
            state=state_word,
            affected=affected_word,
            urgency=urgency_word,
            levels=_levels,
        )
        # Jinja2's i18n extension, new-style: {{ _("Hello %(name)s", name=x) }} escapes and
        # fills in one step; {% trans %} blocks are trimmed like babel.cfg extracts them.
        env.add_extension("jinja2.ext.i18n")
        env.policies["ext.i18n.trimmed"] = True
        env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the extension
            gettext=i18n.gettext, ngettext=_ngettext, newstyle=True, pgettext=_pgettext
        )
        return env

    def template(self, name: str) -> Template:
        file = f"{name}.j2"
        theirs = self.override_dir is not None and (self.override_dir / file).is_file()
        if theirs and self.overrides is not None:
            return self.overrides.get_template(file)
        return self.env.get_template(file)

    def render(self, name: str, **context: Any) -> str:
        template = self.template(name)
        try:
            return template.render(**template_context(context)).strip()
        except SecurityError as e:
            raise TemplateRefused(f"{template.filename or name}: refused: {e}") from e

    def module(self, name: str, **context: Any) -> tuple[str, str]:
        """The rendered text and the template's top-level `title` variable, if any."""
        template = self.template(name)
        try:
            module = template.make_module(template_context(context))
            return str(module).strip(), str(getattr(module, "title", "") or "").strip()
        except SecurityError as e:
            raise TemplateRefused(f"{template.filename or name}: refused: {e}") from e


_default: Texts | None = None


def texts() -> Texts:
    global _default
    if _default is None:
        _default = Texts()
    return _default


def set_texts(t: Texts) -> None:
    global _default
    _default = t
