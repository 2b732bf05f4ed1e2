"""Numbers of days in the reader's language (issue 17): the plural form follows the figure as
written and the figure is Babel's in the reader's locale ("1 día", "1.5 días": Spanish in the
US writes numbers the US way, docs/translating.md; "1 day", "1.5 days"), everywhere a figure
becomes words: the digest's resolved items, the loop's median in digests and agendas, the
nudge's flag line, the dashboard (tests/test_web_pages_i18n.py). Before, Spanish read "una
mediana de 1 días" and "en 1.0 días".
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot import i18n
from bot.texts import texts


@pytest.mark.parametrize(
    ("language", "value", "expected"),
    [
        ("en", 1.0, "1 day"),
        ("en", 1.04, "1 day"),
        ("en", 1.5, "1.5 days"),
        ("en", 2.0, "2 days"),
        ("en", 12.25, "12.2 days"),
        ("en", 1234.0, "1,234 days"),
        ("es", 1.0, "1 día"),
        ("es", 1.5, "1.5 días"),
        ("es", 2.0, "2 días"),
        ("es", 0.5, "0.5 días"),
        ("en", None, "-"),
    ],
)
def test_days_as_people_say_them(language: str, value: float | None, expected: str) -> None:
    with i18n.speaking(language):
        assert i18n.days(value) == expected


@dataclass
class Stats:
    median_days_to_response: float | None
    originated: int = 0


MEDIAN = '{% import "_loop_words.j2" as lw %}{{ lw.median(stats) }}'


@pytest.mark.parametrize(
    ("language", "median", "expected"),
    [
        ("es", 1.0, "una mediana de 1 día hasta la respuesta"),
        ("es", 2.5, "una mediana de 2.5 días hasta la respuesta"),
        ("en", 1.0, "a median of 1 day to a response"),
        ("en", 3.0, "a median of 3 days to a response"),
    ],
)
def test_the_loop_median_in_words(language: str, median: float, expected: str) -> None:
    env = texts().env
    with i18n.speaking(language):
        assert env.from_string(MEDIAN).render(stats=Stats(median)).strip() == expected


def test_no_template_writes_a_figure_before_a_fixed_plural() -> None:
    """The class of bug: a number filled into "... %(x)s days" / "... %(x)s días" can only be
    right for some numbers. Every count of days goes through `days` or ngettext."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    bad = []
    for path in [
        *root.glob("bot/templates/*.j2"),
        *root.glob("adapters/local/web_templates/*.html"),
    ]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for m in re.finditer(r'_\("([^"]*)"', line):
                if re.search(r"%\(\w+\)s (working )?days?\b", m.group(1)):
                    bad.append(f"{path.name}:{n}: {m.group(1)}")
    assert not bad, bad
