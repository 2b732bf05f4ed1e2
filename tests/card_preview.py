"""Rough HTML previews of what Slack and Teams would draw from our payloads (for screenshots).

Not a faithful renderer: enough of Block Kit (header, section text and fields, actions,
context, divider) and of Adaptive Cards (TextBlock, Container, FactSet, ActionSet,
Action.Execute / Submit / ShowCard / ToggleVisibility) to see a card's length, order and
wording as a person would. Every text is HTML-escaped; Slack's mrkdwn `*bold*` and Adaptive
Card `**bold**` become <b>.
"""

from __future__ import annotations

import html
import re
from typing import Any

Json = dict[str, Any]

_SLACK_BOLD = re.compile(r"\*([^*\n]+)\*")
_MD_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")

STYLE = """
body { font-family: Lato, 'Segoe UI', Arial, sans-serif; margin: 16px; background: #f4f4f4; }
.frame { background: #fff; border-radius: 8px; padding: 14px 18px; width: 640px;
  box-shadow: 0 1px 3px rgba(0,0,0,.2); font-size: 15px; color: #1d1c1d; }
.who { font-weight: 700; margin-bottom: 6px; } .who small { color: #888; font-weight: 400; }
.header { font-size: 18px; font-weight: 800; margin: 4px 0 8px; }
.section { margin: 6px 0; white-space: pre-wrap; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; margin: 8px 0; }
.field { white-space: pre-wrap; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0; }
.btn { border: 1px solid #bbb; border-radius: 4px; padding: 4px 12px; font-weight: 700;
  font-size: 14px; background: #fff; }
.btn.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
.btn.danger { color: #e01e5a; border-color: #e01e5a; }
.btn.positive { background: #6264a7; color: #fff; border-color: #6264a7; }
.btn.destructive { color: #c4314b; border-color: #c4314b; }
.context { color: #616061; font-size: 13px; margin-top: 8px; white-space: pre-wrap; }
.divider { border-top: 1px solid #ddd; margin: 10px 0; }
.teams { font-family: 'Segoe UI', Arial, sans-serif; border-left: 4px solid #6264a7; }
.tb { margin: 2px 0; white-space: pre-wrap; } .tb.subtle { color: #777; }
.tb.bolder { font-weight: 700; } .tb.medium { font-size: 18px; } .tb.small { font-size: 12px; }
.tb.attention { color: #c4314b; }
.showcard { border: 1px dashed #6264a7; padding: 8px; margin: 8px 0; }
.showcard-title { color: #6264a7; font-weight: 700; font-size: 13px; }
.facts td { padding: 2px 8px 2px 0; vertical-align: top; } .facts td:first-child { font-weight: 700; }
.emphasis { background: #f0f0f8; padding: 6px; }
"""


def _page(inner: str, cls: str, who: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{STYLE}</style></head>"
        f"<body><div class='frame {cls}'><div class='who'>Looplink <small>{html.escape(who)}"
        f"</small></div>{inner}</div></body></html>"
    )


def _slack_text(obj: Json | None) -> str:
    if not obj:
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":  # already escaped by Slack's rules (&amp; &lt; &gt;)
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        return _SLACK_BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))
    return html.escape(text, quote=False)


def _slack_button(el: Json) -> str:
    style = str(el.get("style", ""))
    return f"<span class='btn {style}'>{_slack_text(el.get('text'))}</span>"


def _slack_block(b: Json) -> str:
    kind = b.get("type")
    if kind == "header":
        return f"<div class='header'>{_slack_text(b.get('text'))}</div>"
    if kind == "section":
        out = f"<div class='section'>{_slack_text(b.get('text'))}</div>" if b.get("text") else ""
        if b.get("fields"):
            cells = "".join(f"<div class='field'>{_slack_text(f)}</div>" for f in b["fields"])
            out += f"<div class='fields'>{cells}</div>"
        if b.get("accessory"):
            out += f"<div class='actions'>{_slack_button(b['accessory'])}</div>"
        return out
    if kind == "actions":
        return f"<div class='actions'>{''.join(_slack_button(e) for e in b['elements'])}</div>"
    if kind == "context":
        return f"<div class='context'>{' '.join(_slack_text(e) for e in b['elements'])}</div>"
    if kind == "divider":
        return "<div class='divider'></div>"
    return f"<div class='context'>[{html.escape(str(kind))}]</div>"


def blockkit_html(blocks: list[Json], who: str = "APP") -> str:
    return _page("".join(_slack_block(b) for b in blocks), "slack", who)


def _ac_text(text: str) -> str:
    return _MD_BOLD.sub(r"<b>\1</b>", html.escape(text.replace("\u200b", ""), quote=False))


def _ac_action(a: Json) -> str:
    style = str(a.get("style", ""))
    title = html.escape(str(a.get("title", "")))
    if a.get("type") == "Action.ShowCard":
        inner = "".join(_ac_element(e) for e in a.get("card", {}).get("body", []))
        return (
            f"<div class='showcard'><div class='showcard-title'>{title} (opened)</div>{inner}</div>"
        )
    return f"<span class='btn {style}'>{title}</span>"


def _ac_actions(actions: list[Json]) -> str:
    buttons = [a for a in actions if a.get("type") != "Action.ShowCard"]
    shown = [a for a in actions if a.get("type") == "Action.ShowCard"]
    row = "".join(_ac_action(a) for a in buttons)
    row += "".join(
        f"<span class='btn'>{html.escape(str(a.get('title', '')))}</span>" for a in shown
    )
    return f"<div class='actions'>{row}</div>" + "".join(_ac_action(a) for a in shown)


def _ac_element(e: Json) -> str:
    kind = e.get("type")
    if kind == "TextBlock":
        cls = ["tb"]
        if e.get("isSubtle"):
            cls.append("subtle")
        for key in ("weight", "size", "color"):
            if e.get(key):
                cls.append(str(e[key]).lower())
        hidden = " style='display:none'" if e.get("isVisible") is False else ""
        return f"<div class='{' '.join(cls)}'{hidden}>{_ac_text(str(e.get('text', '')))}</div>"
    if kind == "Container":
        hidden = " style='display:none'" if e.get("isVisible") is False else ""
        box = "emphasis" if e.get("style") == "emphasis" else ""
        inner = "".join(_ac_element(x) for x in e.get("items", []))
        return f"<div class='{box}'{hidden}>{inner}</div>"
    if kind == "FactSet":
        rows = "".join(
            f"<tr><td>{_ac_text(str(f.get('title', '')))}</td>"
            f"<td>{_ac_text(str(f.get('value', '')))}</td></tr>"
            for f in e.get("facts", [])
        )
        return f"<table class='facts'>{rows}</table>"
    if kind == "ActionSet":
        return _ac_actions(e.get("actions", []))
    if kind == "ColumnSet":
        cols = "".join(
            "<div>" + "".join(_ac_element(x) for x in c.get("items", [])) + "</div>"
            for c in e.get("columns", [])
        )
        return f"<div class='fields'>{cols}</div>"
    return f"<div class='tb subtle'>[{html.escape(str(kind))}]</div>"


def adaptive_html(card: Json, who: str = "Looplink") -> str:
    inner = "".join(_ac_element(e) for e in card.get("body", []))
    inner += _ac_actions(card.get("actions", []))
    return _page(inner, "teams", who)
