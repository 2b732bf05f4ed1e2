"""Charts as inline SVG, generated here (no chart library, no CDN).

Each chart is an `<svg role="img">` with a title and a description that states the figures,
so a screen reader gets the numbers; the page also shows them as a table. Every bar carries
its number; series differ by fill pattern as well as colour, with a legend; charts are 360
units wide so their text stays readable on a 375 px phone.
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_date
from markupsafe import Markup, escape

from bot import i18n
from bot.i18n import _

INK = "#1f2933"
MUTED = "#52606d"
GRID = "#d9e2ec"
BAR = "#2563a8"
OPENED = "#1f4e8c"
RESOLVED = "#1b7a4b"
FONT = 'font-family="system-ui, sans-serif"'


def _e(value: object) -> str:
    return str(escape(str(value)))


def _fmt(value: float) -> str:
    return i18n.number(value, 0 if float(value).is_integer() else 1)


def _value_text(value: float | None, unit: str, text: str) -> str:
    """The row's own text if it has one, else its value."""
    if text or value is None:
        return text
    return f"{_fmt(value)}{unit}"


def _open(chart_id: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg" '
        'preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-t">{_e(title)}</title>',
        f'<desc id="{chart_id}-d">{_e(desc)}</desc>',
    ]


def hbar(
    chart_id: str, title: str, rows: list[tuple[str, float | None, str]], unit: str = ""
) -> Markup:
    """Horizontal bars, one per row: (label, value or None, text to show instead of the value)."""
    width, row_h, top = 360, 44, 8  # narrow: read at its size on a phone, not shrunk
    height = top + row_h * max(len(rows), 1) + 4
    desc = "; ".join(f"{label}: {_value_text(v, unit, extra)}" for label, v, extra in rows)
    out = _open(chart_id, width, height, title, desc or _("No data yet."))
    top_value = max((v or 0 for _, v, _ in rows), default=0) or 1
    usable = width - 60
    for i, (label, value, extra) in enumerate(rows):
        y = top + i * row_h
        bar = max(2.0, usable * value / top_value) if value else 0
        out.append(
            f'<text x="0" y="{y + 13}" font-size="13" fill="{INK}" {FONT}>{_e(label)}</text>'
        )
        out.append(f'<rect x="0" y="{y + 19}" width="{bar:.1f}" height="16" rx="2" fill="{BAR}"/>')
        text = _value_text(value, unit, extra)
        out.append(
            f'<text x="{bar + 6:.1f}" y="{y + 32}" font-size="12" fill="{MUTED}" {FONT}>'
            f"{_e(text)}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))


def weekly_lines(chart_id: str, title: str, weeks: list[tuple[str, int, int]]) -> Markup:
    """Opened (solid, dark) and resolved (hatched, green) per week, as bars side by side with
    each non-zero count written above its bar: no line hides another, and the legend is
    drawn first."""
    width, height = 360, 230
    left, right, top, bottom = 26, 6, 40, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    desc = "; ".join(
        _(
            "week of %(week)s: %(opened)d opened, %(resolved)d resolved",
            week=_label(w),
            opened=o,
            resolved=r,
        )
        for w, o, r in weeks
    )
    out = _open(chart_id, width, height, title, desc or _("No data yet."))
    out.append(
        f'<defs><pattern id="{chart_id}-hatch" width="4" height="4" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="4" height="4" fill="{RESOLVED}"/>'
        '<line x1="0" y1="0" x2="0" y2="4" stroke="#ffffff" stroke-width="1.5"/></pattern></defs>'
    )
    peak = max([1] + [max(o, r) for _, o, r in weeks])
    step = 1 if peak <= 5 else (2 if peak <= 10 else max(1, round(peak / 5)))
    ticks = list(range(0, peak + step, step))
    scale_top = ticks[-1] or 1
    slot = plot_w / max(len(weeks), 1)
    bar_w = max(3.0, min(14.0, slot / 2 - 2))

    def y(v: int) -> float:
        return top + plot_h - plot_h * v / scale_top

    for t in ticks:
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 5}" y="{y(t) + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="{MUTED}" {FONT}>{t}</text>'
        )
    for i, (w, opened, resolved) in enumerate(weeks):
        mid = left + slot * i + slot / 2
        for value, x0, fill in (
            (opened, mid - bar_w - 1, OPENED),
            (resolved, mid + 1, f"url(#{chart_id}-hatch)"),
        ):
            if value:
                out.append(
                    f'<rect x="{x0:.1f}" y="{y(value):.1f}" width="{bar_w:.1f}" '
                    f'height="{y(0) - y(value):.1f}" fill="{fill}"/>'
                    f'<text x="{x0 + bar_w / 2:.1f}" y="{y(value) - 3:.1f}" font-size="10" '
                    f'text-anchor="middle" fill="{INK}" {FONT}>{value}</text>'
                )
        if (len(weeks) - 1 - i) % 3 == 0 or len(weeks) <= 6:
            out.append(
                f'<text x="{mid:.1f}" y="{height - bottom + 16}" font-size="11" '
                f'text-anchor="middle" fill="{MUTED}" {FONT}>{_e(_label(w))}</text>'
            )
    out.append(  # the legend, above the plot
        f'<rect x="{left}" y="8" width="12" height="12" fill="{OPENED}"/>'
        f'<text x="{left + 17}" y="18" font-size="12" fill="{INK}" {FONT}>{_e(_("Opened"))}</text>'
        f'<rect x="{left + 90}" y="8" width="12" height="12" fill="url(#{chart_id}-hatch)"/>'
        f'<text x="{left + 107}" y="18" font-size="12" fill="{INK}" {FONT}>{_e(_("Resolved"))}</text>'
    )
    out.append("</svg>")
    return Markup("".join(out))


def _label(iso_day: str) -> str:
    try:
        d = date.fromisoformat(iso_day)
    except ValueError:
        return iso_day
    # Translators: a Babel/CLDR pattern for a week's first day on a chart axis, e.g. 3 Feb
    return format_date(d, _("d MMM"), locale=i18n.babel_locale())
