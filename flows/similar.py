"""Similar items: the reporter adds their voice, a lead merges or links from the card, a
leader sees the clusters below their team and answers a whole cluster at once."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.authority import Act
from bot.db.models import ItemLink
from bot.decisions import Decline, Merge, Resolve
from bot.errors import InvalidInput, NotAllowed
from bot.i18n import _
from bot.messages import Form, FormField, Message, Option
from bot.similar.views import MAX_RESPOND, lines_below, respond_buttons
from bot.texts import texts
from flows.events import FlowResult
from flows.registry import Ctx, action, command, form


def _id(raw: str) -> int:
    try:
        return int(raw.strip().lstrip("#"))
    except ValueError as e:
        raise InvalidInput(_("That button is out of date; please use the latest message.")) from e


@action("voice")
async def voice_button(ctx: Ctx, other: str, value: str) -> FlowResult:
    """The reporter of item `value` adds their voice to item `other`."""
    item = await ctx.loop.item(value)
    joined = await ctx.loop.add_voice(ctx.person.id, item.id, _id(other))
    people = await ctx.s.scalar(
        select(func.count(func.distinct(ItemLink.item_id))).where(ItemLink.other_id == joined.id)
    )
    text = texts().render(
        "similar_voice_added", item=item, other=joined, people=int(people or 0) + 1
    )
    return FlowResult(replies=[Message(text=text)])


@action("merge_into")
async def merge_button(ctx: Ctx, other: str, value: str) -> FlowResult:
    """A lead merges item `value` into the similar item `other` (one click: the target is
    known); the reporter hears it and will hear the other's answer."""
    target = _id(other)
    item = await ctx.loop.decide(ctx.person.id, value, Merge(str(target)))
    return FlowResult(replies=[Message(text=f"#{item.id} merged into #{target}.")])


@action("link")
async def link_button(ctx: Ctx, other: str, value: str) -> FlowResult:
    item = await ctx.loop.link(ctx.person.id, value, _id(other))
    linked = await ctx.loop.item(other)
    return FlowResult(
        replies=[Message(text=texts().render("similar_linked", item=item, other=linked))]
    )


@command("clusters", "similar", "grupos", "similares")
async def clusters_command(ctx: Ctx, _args: str) -> FlowResult:
    """Similar barriers across the teams below yours, to answer each cluster at once (leads)."""
    teams = await ctx.loop.authority.teams_where(ctx.person.id, Act.LEAD)
    depth = {t.id: len(await ctx.loop.dir.chain_up(t.id)) for t in teams}
    teams.sort(key=lambda t: -depth[t.id])  # the lowest first: a cluster shows once, there
    if not teams:
        raise NotAllowed(
            _("Clusters are for team leads and liaisons of a team with teams below it.")
        )
    now = ctx.rt.clock.now()
    replies = []
    shown: set[tuple[int, ...]] = set()
    for team in teams:
        found = await lines_below(ctx.s, team, now)
        lines = [c for c in found if c.ids not in shown]  # once, under the lowest team
        shown |= {c.ids for c in found}
        if (found and not lines) or (not found and not await _has_below(ctx, team.id)):
            continue
        text, title = texts().module("clusters", team=team, clusters=lines)
        replies.append(Message(title=title, text=text, buttons=respond_buttons(lines)))
    if not replies:
        raise NotAllowed(
            _("None of your teams has teams below it, so there are no clusters to show.")
        )
    return FlowResult(replies=replies)


async def _has_below(ctx: Ctx, team_id: str) -> bool:
    return bool(await ctx.loop.dir.children(team_id))


def _ids(raw: str) -> list[int]:
    out = []
    for part in raw.split(",")[:MAX_RESPOND]:
        if part.strip():
            out.append(_id(part))
    if not out:
        raise InvalidInput(_("That button is out of date; please use the latest message."))
    return out


def respond_form(ids: list[int], kind: str = "barrier") -> Form:
    t = texts()
    return Form(
        form_id="cluster_respond",
        title=t.render("similar_words", which="respond_title", n=len(ids), kind=kind),
        fields=(
            FormField(
                "decision",
                t.render("similar_words", which="respond_decision"),
                "select",
                required=True,
                options=(
                    Option("resolve", t.render("similar_words", which="resolve")),
                    Option("decline", t.render("similar_words", which="decline")),
                ),
                initial="resolve",
            ),
            FormField(
                "note", t.render("similar_words", which="respond_note"), "textarea", required=True
            ),
        ),
        submit_label=t.render("similar_words", which="send"),
        context={"items": ",".join(str(i) for i in ids)},
    )


@action("cluster")
async def cluster_button(ctx: Ctx, _which: str, value: str) -> FlowResult:
    ids = _ids(value)
    if not await ctx.loop.authority.teams_where(ctx.person.id, Act.LEAD):
        raise NotAllowed(_("Only team leads and liaisons can answer a cluster."))
    return FlowResult(form=respond_form(ids))


@form("cluster_respond")
async def cluster_submit(ctx: Ctx, values: dict[str, str], context: dict[str, str]) -> FlowResult:
    ids = _ids(context.get("items", ""))
    note = str(values.get("note") or "").strip()
    if not note:
        return FlowResult(errors={"note": _("Please write the response every reporter will read.")})
    kind = str(values.get("decision") or "resolve")
    if kind not in ("resolve", "decline"):
        return FlowResult(errors={"decision": _("Choose resolve or decline.")})
    decision = Resolve(note) if kind == "resolve" else Decline(note)
    result = await ctx.loop.respond_to_cluster(ctx.person.id, ids, decision)
    text = texts().render(
        "cluster_response_done", decision=kind, done=result.done, skipped=result.skipped
    )
    return FlowResult(replies=[Message(text=text)])
