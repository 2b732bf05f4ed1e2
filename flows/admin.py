"""What admins do from inside a chat: `link TEAM` makes this channel the team's channel.

`/looplink link lincoln` in Slack or `@Looplink link lincoln` in Teams arrives here as the
command `link` with the channel and the workspace it came from. Only the org file's admins may
do it (`Authority.is_admin`); the channel is stored as the team's, in that workspace (a
`PlatformId` of origin "link", which applying the org file keeps unless the file says
otherwise), and the change is audited (`AdminEvent`).
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from bot import dircache
from bot.authority import Authority
from bot.db.models import AdminEvent, PlatformId, Team
from bot.messages import Message
from bot.platform_info import PlatformInfo
from bot.texts import texts
from flows.events import FlowResult
from flows.registry import Ctx, command

log = logging.getLogger("looplink.admin")


def _answer(outcome: str, info: PlatformInfo | None, **more: str) -> FlowResult:
    platform = info.label if info is not None else ""
    text = texts().render("channel_link", outcome=outcome, platform=platform, **more)
    return FlowResult(replies=[Message(text=text)])


@command("link")
async def link_command(ctx: Ctx, args: str) -> FlowResult:
    """Admins: make this channel a team's channel (link TEAM, typed in the channel)."""
    ev = ctx.ev
    info = ctx.rt.fanout.info(ev.platform)
    if not await Authority(ctx.loop.dir).is_admin(ctx.person.id):
        return _answer("not_admin", info)
    if info is None or info.native_ids or not info.channel_key:
        return _answer("not_needed", info)
    if not ev.channel:
        return _answer("not_in_channel", info)
    given = args.strip()
    if not given:
        return _answer("usage", info)
    team = await ctx.loop.dir.find_team(given)
    if team is None:
        return _answer("unknown_team", info, given=given[:60])
    scope = ctx.places[0] if info.workspace_key and ctx.places else ""
    return await _link(ctx, info, team, ev.channel, scope)


async def _link(ctx: Ctx, info: PlatformInfo, team: Team, channel: str, scope: str) -> FlowResult:
    s = ctx.s
    holder = await s.scalar(
        select(PlatformId).where(
            PlatformId.owner_kind == "team",
            PlatformId.platform == info.name,
            PlatformId.scope == scope,
            PlatformId.value == channel,
        )
    )
    if holder is not None and holder.owner_id == team.id:
        return _answer("already", info, team=team.name)
    if holder is not None:
        other = await ctx.loop.dir.team(holder.owner_id)
        return _answer("taken", info, other=other.name if other else holder.owner_id)
    current = list(
        (
            await s.scalars(
                select(PlatformId).where(
                    PlatformId.owner_kind == "team",
                    PlatformId.owner_id == team.id,
                    PlatformId.platform == info.name,
                )
            )
        ).all()
    )
    from_file = [r for r in current if r.origin == "org"]
    if from_file:
        return _answer("from_file", info, team=team.name, previous=from_file[0].value)
    for row in current:  # one channel per platform: an earlier link moves here
        await s.delete(row)
    await s.flush()
    s.add(
        PlatformId(
            owner_kind="team",
            owner_id=team.id,
            key=info.channel_key,
            scope=scope,
            platform=info.name,
            rank=0,
            value=channel,
            origin="link",
        )
    )
    await dircache.directory_changed(s)
    previous = ", ".join(r.value for r in current)
    s.add(
        AdminEvent(
            at=ctx.rt.clock.now(),
            actor_id=ctx.person.id,
            action="link_channel",
            team_id=team.id,
            platform=info.name,
            scope=scope,
            value=channel,
            note=f"was {previous}" if previous else "",
        )
    )
    await s.flush()
    log.info(
        "admin %s linked %s channel %s in %s to team %s",
        ctx.person.id,
        info.name,
        channel,
        scope or "its only workspace",
        team.id,
    )
    return _answer("linked", info, team=team.name, previous=previous)
