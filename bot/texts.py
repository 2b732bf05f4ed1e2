"""Message wording: Jinja2 templates in bot/templates, overridable from an organisation folder.

Templates render plain text (see bot/messages.py); adapters escape it for their platform.
Set LOOPLINK_TEMPLATES_DIR (or pass `override_dir`) to a folder holding files with the same
names to change any wording without touching code.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined

from bot.domain import DRIVER_LABELS, OUTCOME_LABELS, STAGE_LABELS, Driver, Outcome, Stage


def _when(value: datetime | None, tz: str = "UTC") -> str:
    if value is None:
        return "-"
    return value.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y %H:%M")


def _day(value: datetime | None, tz: str = "UTC") -> str:
    if value is None:
        return "-"
    return value.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y")


def _driver(value: str | None) -> str:
    try:
        return DRIVER_LABELS[Driver(value or "other")]
    except ValueError:
        return str(value)


def _stage(value: str | None) -> str:
    try:
        return STAGE_LABELS[Stage(value)] if value else "-"
    except ValueError:
        return str(value)


def _outcome(value: str | None) -> str:
    try:
        return OUTCOME_LABELS[Outcome(value)] if value else "-"
    except ValueError:
        return str(value)


class Texts:
    def __init__(self, override_dir: str | Path | None = None) -> None:
        override = override_dir or os.environ.get("LOOPLINK_TEMPLATES_DIR")
        loaders: list[Any] = []
        if override:
            loaders.append(FileSystemLoader(str(override)))
        loaders.append(PackageLoader("bot", "templates"))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=False,  # noqa: S701 - plain text; adapters escape for their platform
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters.update(
            when=_when, day=_day, driver=_driver, stage=_stage, outcome=_outcome
        )

    def render(self, name: str, **context: Any) -> str:
        return self.env.get_template(f"{name}.j2").render(**context).strip()


_default: Texts | None = None


def texts() -> Texts:
    global _default
    if _default is None:
        _default = Texts()
    return _default


def set_texts(t: Texts) -> None:
    global _default
    _default = t
