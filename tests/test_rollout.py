"""The cross-organisation loop of issue 13, end to end, set up without typing a platform id.

Real Bolt over signed HTTP against the fake Slack Web API serving TWO workspaces (each with its
own token, `oauth.v2.access`, users and channels), and real botbuilder at /api/messages
against the fake Bot Connector serving TWO Microsoft 365 tenants (the state agency's, where
the state team works, and the district's, where the district team has a Teams channel too):

- both Slack workspaces install Looplink through the OAuth redirect;
- the org file has people by name and email only, and no channel ids;
- the admin links each team's channel from inside it (`/looplink link ...` in each Slack
  workspace, `@Looplink link state` in Teams), and `looplink org sync` links everyone else by
  email (`users.lookupByEmail` in each workspace, the roster of the installed team in Teams);
- a barrier reported at Lincoln (workspace A) is escalated to the district (workspace B) and
  on to the state (the Teams tenant), resolved there and relayed down to every channel and the
  reporter; the district's workspace uninstalls Looplink mid-loop: its deliveries stop and wait,
  the others go on, and after it installs again nothing was lost;
- every Slack call carries the token of the workspace it goes to, every Teams post the tenant
  of the conversation it goes to;
- an event from a workspace that never installed is refused; a user of an undeclared
  workspace or tenant with a member's email is a stranger.

`TRANSCRIPT` collects where every message went; the test prints it (pytest -s shows it).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from adapters.slack.platform import SlackPlatform
from bot.clock import FixedClock
from bot.db.models import ConversationRef, Item, Outbox, PlatformId
from looplink.cli import main
from tests.fakes.connector import action, card_text
from tests.fakes.slack_api import TEAM_ID, FakeSlack, SlackUser, Workspace, block_text
from tests.fakes.teams_client import TENANT, TeamsUser, user
from tests.slack_harness import BARRIER, SECRET, SECRET_KEY, Slack, decide, install, report_barrier
from tests.teams_world import World, teams_world

STATE_CHANNEL = "19:state@thread.tacv2"
DISTRICT_CHANNEL = "19:district@thread.tacv2"  # the district's Teams channel, in its own tenant
DISTRICT_TENANT = "d15c0000-0000-4000-8000-00000000d15c"
TENANT_NAMES = {TENANT: "state-agency", DISTRICT_TENANT: "district-m365"}
OTHER_TENANT = "0badc0de-0000-4000-8000-000000000bad"
RESOLUTION = "The state adds screener exports to the data system contract from January."

ORG = f"""\
organization: Riverside rollout
timezone: America/Chicago
workspaces:
  - {{id: lincoln-schools, slack: T0RIVER}}
  - {{id: district-office, slack: T0DISTRICT}}
  - {{id: state-agency, teams: {TENANT}}}
  - {{id: district-m365, teams: {DISTRICT_TENANT}}}
people:
  - {{id: alice, name: Alice Reyes, email: alice@lincoln.example}}
  - {{id: bob, name: Bob Tanaka, email: bob@lincoln.example}}
  - {{id: carol, name: Carol Jensen, email: carol@lincoln.example}}
  - {{id: dana, name: Dana Whitfield, email: dana@district.example}}
  - {{id: grace, name: Grace Okafor, email: grace@state.example}}
  - {{id: kaya, name: Kaya Whitehorse, email: kaya@state.example}}
  - {{id: nina, name: Nina Nowhere, email: nina@nowhere.example}}
admins: [kaya]
teams:
  - id: state
    name: State Implementation Team
    level: state
    members:
      - {{person: grace, role: lead}}
      - {{person: kaya, role: coach}}
  - id: district
    name: District Implementation Team
    level: district
    parent: state
    members:
      - {{person: dana, role: lead}}
      - {{person: nina}}
  - id: lincoln
    name: Lincoln Elementary Implementation Team
    parent: district
    members:
      - {{person: alice, role: lead}}
      - {{person: bob, role: liaison}}
      - {{person: carol}}
"""

GRACE = user("29:grace", "Grace Okafor")
KAYA = user("29:kaya", "Kaya Whitehorse")
KAYA_D = user("29:kaya-district", "Kaya Whitehorse")  # her guest account in the district tenant
DANA_T = user("29:dana", "Dana Whitfield")
MALLORY = user("29:mallory", "Mallory (another tenant)")


class _Http:
    """What SlackUser and `install` need from a test client, against the running server."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base.rstrip("/")

    def post(self, path: str, **kw: Any) -> Any:
        return self.session.post(self.base + path, **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self.session.get(self.base + path, **kw)


@dataclass
class Rollout:
    w: World
    slack: Slack
    http: _Http
    a: Workspace
    b: Workspace
    transcript: list[str]
    pending: list[str] = field(default_factory=list)  # notes for the next step
    chats: dict[str, str] = field(default_factory=dict)  # personal chats opened -> tenant
    _seen_slack: int = 0
    _seen_teams: int = 0

    @property
    def fake(self) -> FakeSlack:
        return self.slack.fake

    async def settle(self) -> None:
        await self.slack.platform.idle()
        await self.w.deliver()

    async def step(self, title: str) -> None:
        """Record where the messages since the last step went (and check the tokens)."""
        self.transcript.append(f"-- {title}")
        async with self.w.server.rt.db.transaction() as s:  # personal chats, by their tenant
            for ref in (await s.scalars(select(ConversationRef))).all():
                conv = ref.ref.get("conversation") or {}
                self.chats[str(conv.get("id"))] = str(conv.get("tenantId"))
        self.transcript += self.pending
        self.pending = []
        names = {ws.team_id: ws.name for ws in self.fake.workspaces.values()}
        channels = {"C0LINCOLN": "T0RIVER", "C0DISTRICT": "T0DISTRICT"}
        for call in self.fake.calls[self._seen_slack :]:
            if call.method not in ("chat.postMessage", "chat.update", "users.lookupByEmail"):
                continue
            where = call.args.get("channel") or call.args.get("email", "")
            expected = channels.get(where, call.team)
            assert call.team == expected, f"{call.method} to {where} with {call.team}'s token"
            assert call.token == next(
                t for t, ws in self.fake.workspaces.items() if ws.team_id == call.team
            )
            said = _first_line(block_text(call.args.get("blocks") or []) or call.args.get("text"))
            self.transcript.append(
                f"   Slack {call.team} ({names.get(call.team or '', '?')}), its own token: "
                f"{call.method} {where}  {said}"
            )
        self._seen_slack = len(self.fake.calls)
        for c in self.w.connector.calls[self._seen_teams :]:
            if c.method not in ("POST", "PUT") or "/activities" not in c.path:
                continue
            tenant = (c.body.get("channelData") or {}).get("tenant", {}).get("id", "")
            tenant = tenant or (c.body.get("conversation") or {}).get("tenantId", "")
            conv = c.conversation_id.split(";", 1)[0]
            expected = {STATE_CHANNEL: TENANT, DISTRICT_CHANNEL: DISTRICT_TENANT}.get(conv)
            assert tenant == (expected or self.chats[conv]) and tenant in TENANT_NAMES, c
            verb = "update" if c.method == "PUT" else "post"
            said = _first_line(_teams_text(c.body))
            self.transcript.append(
                f"   Teams tenant {tenant[:8]}… ({TENANT_NAMES[tenant]}): {verb} {c.conversation_id}"
                f"  {said}"
            )
        self._seen_teams = len(self.w.connector.calls)


def _first_line(text: Any) -> str:
    line = str(text or "").strip().split("\n", 1)[0]
    return (line[:70] + "…") if len(line) > 70 else line


def _teams_text(activity: dict[str, Any]) -> str:
    for att in activity.get("attachments") or []:
        return card_text(att.get("content") or {})
    return str(activity.get("text") or "")


@pytest.fixture
async def rollout(
    db_url: str, clock: FixedClock, fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[Rollout]:
    org = tmp_path / "org.yaml"
    org.write_text(ORG)
    fake = fake_slack
    a = fake.workspaces[fake.token]  # T0RIVER: the schools' workspace
    a.user("U0ALICE", "alice@lincoln.example").user("U0CAROL", "carol@lincoln.example")
    a.user("U0BOB", "bob@lincoln.example").user("U0KAYA", "kaya@state.example")
    b = fake.add_workspace("T0DISTRICT", "District office")
    b.user("U0DANA", "dana@district.example").user("U0KAYAD", "kaya@state.example")
    settings = {
        "org_file": org,
        "slack_client_id": fake.client_id,
        "slack_client_secret": fake.client_secret,
        "slack_signing_secret": SECRET,
        "slack_api_url": fake.api_url,
        "slack_authorize_url": f"{fake.url}/oauth/v2/authorize",
        "secret_keys": (SECRET_KEY,),
        "run_scheduler": False,
    }
    async with teams_world(db_url, clock, **settings) as w, aiohttp.ClientSession() as session:
        platform = next(p for p in w.server.platforms if isinstance(p, SlackPlatform))
        platform._sender.min_interval = 0
        http = _Http(session, w.teams.bot_url.removesuffix("/api/messages"))
        user_a = SlackUser(http, SECRET, fake)  # type: ignore[arg-type]
        slack = Slack(fake, user_a, w.server, platform, clock)
        # the Teams roster of the state team's channel (emails as Microsoft 365 gives them)
        for who, email in ((GRACE, "Grace@State.example"), (KAYA, "kaya@state.example")):
            w.connector.members[who.id] = {
                "id": who.id,
                "objectId": who.aad,
                "email": email,
                "tenantId": TENANT,
            }
        w.connector.rosters[STATE_CHANNEL] = [GRACE.id, KAYA.id]
        for who, email in ((KAYA_D, "kaya@state.example"), (DANA_T, "dana@district.example")):
            w.connector.members[who.id] = {
                "id": who.id,
                "objectId": who.aad,
                "email": email,
                "tenantId": DISTRICT_TENANT,
            }
        w.connector.rosters[DISTRICT_CHANNEL] = [KAYA_D.id, DANA_T.id]
        yield Rollout(w, slack, http, a, b, [])


async def _org_sync(r: Rollout, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """`looplink org sync`, as an administrator runs it, with the server's environment."""
    env = {
        "LOOPLINK_DATABASE_URL": db_url,
        "SLACK_CLIENT_ID": r.fake.client_id,
        "SLACK_CLIENT_SECRET": r.fake.client_secret,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": r.fake.api_url,
        "LOOPLINK_SECRET_KEY": SECRET_KEY,
        "LOOPLINK_TEAMS": "1",
        "LOOPLINK_TEAMS_SERVICE_URLS": r.w.connector.url,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return await asyncio.to_thread(_run_cli, ["org", "sync"])


def _run_cli(argv: list[str]) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    assert code == 0, out.getvalue()
    return out.getvalue()


async def _resolve_in_teams(r: Rollout, who: TeamsUser, iid: int, note: str) -> None:
    cards = [p for p in r.w.connector.to(STATE_CHANNEL) if f"Barrier #{iid}:" in p.text()]
    card = cards[0]
    pressed = await r.w.teams.execute(
        who, action(card.card, "Resolve here"), channel=STATE_CHANNEL, reply_to=card.activity_id
    )
    done = await r.w.teams.execute(
        who,
        action(pressed.card, "Confirm"),
        {"in_note": note},
        channel=STATE_CHANNEL,
        reply_to=card.activity_id,
    )
    assert f"#{iid} resolved" in card_text(done.card), card_text(done.card)


async def _setup_without_ids(r: Rollout, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Install both workspaces, link the channels from inside them, sync the people."""
    for ws in (r.a, r.b):
        said = await install(r.http, r.fake, ws)  # type: ignore[arg-type]
        assert said.startswith("200 ") and f"installed in {ws.name}" in said
    await r.step(
        "Slack workspaces A (T0RIVER) and B (T0DISTRICT) installed through the OAuth redirect"
    )
    in_b = r.slack.user.in_workspace("T0DISTRICT")
    for who, ws_user, channel, team in (
        (r.slack.user, "U0KAYA", "C0LINCOLN", "lincoln"),
        (in_b, "U0KAYAD", "C0DISTRICT", "district"),
    ):
        status, body = await who.command(ws_user, "/looplink", f"link {team}", channel=channel)
        answer = json.loads(body)["text"]
        assert status == 200 and "is now the channel of" in answer, body
        r.pending.append(
            f"   Slack {who.team}: {ws_user} typed /looplink link {team} in {channel}; "
            f"the answer (ephemeral): {_first_line(answer)}"
        )
    assert (await r.w.teams.install_team(KAYA, STATE_CHANNEL)).status == 200
    assert (await r.w.teams.mention(KAYA, STATE_CHANNEL, "link state")).status == 200
    in_d = r.w.teams.in_tenant(DISTRICT_TENANT)
    assert (await in_d.install_team(KAYA_D, DISTRICT_CHANNEL)).status == 200
    assert (await in_d.mention(KAYA_D, DISTRICT_CHANNEL, "link district")).status == 200
    await r.settle()
    await r.step(
        "the admin (kaya) linked #lincoln in A, #district in B, the district's Teams channel "
        "(tenant district-m365) and the state's (tenant state-agency)"
    )
    said = await _org_sync(r, db_url, monkeypatch)
    r.pending += ["   " + line for line in said.strip().splitlines()]
    await r.step("looplink org sync")
    return said


async def test_a_loop_across_two_slack_workspaces_and_a_teams_tenant(
    rollout: Rollout,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    r = rollout
    said = await _setup_without_ids(r, db_url, monkeypatch)
    assert "linked     alice            Slack lincoln-schools (T0RIVER): U0ALICE" in said
    assert "linked     dana             Slack district-office (T0DISTRICT): U0DANA" in said
    assert "linked     grace            Microsoft Teams state-agency" in said
    assert "not found  Slack district-office (T0DISTRICT): alice, bob, carol, grace, nina" in said
    async with r.w.server.rt.db.transaction() as s:
        rows = (await s.scalars(select(PlatformId))).all()
        ids = {(x.owner_id, x.platform, x.scope, x.value) for x in rows}
    assert {
        ("lincoln", "slack", "T0RIVER", "C0LINCOLN"),
        ("district", "slack", "T0DISTRICT", "C0DISTRICT"),
        ("state", "teams", TENANT, STATE_CHANNEL),
        ("carol", "slack", "T0RIVER", "U0CAROL"),
        ("kaya", "slack", "T0DISTRICT", "U0KAYAD"),
        ("grace", "teams", TENANT, GRACE.id),
        ("kaya", "teams", TENANT, KAYA.id),
        ("district", "teams", DISTRICT_TENANT, DISTRICT_CHANNEL),
        ("dana", "teams", DISTRICT_TENANT, DANA_T.id),
        ("kaya", "teams", DISTRICT_TENANT, KAYA_D.id),
    } <= ids
    assert not any(x[0] == "nina" for x in ids)

    # the loop: Carol reports in A, Alice escalates to B, Dana escalates to the state (Teams)
    iid = await report_barrier(r.slack, {**BARRIER, "anonymous": False})
    await r.settle()
    await r.step(f"carol reports barrier #{iid} in workspace A")
    await decide(r.slack, "U0ALICE", "C0LINCOLN", "decide:escalate", "Needs the district contract")
    await r.settle()
    await r.step("alice (lead, A) escalates it to the district")
    in_b = r.slack.user.in_workspace("T0DISTRICT")
    district_card = r.slack.message("C0DISTRICT", 0)
    status, _ = await in_b.click("U0DANA", "C0DISTRICT", district_card, "decide:escalate")
    assert status == 200
    await r.settle()
    status, body = await in_b.submit("U0DANA", r.slack.last_view(), {"note": "Statewide contract"})
    assert status == 200 and json.loads(body)["response_action"] == "update"
    await r.settle()
    await r.step("dana (lead, B) escalates it to the state")
    assert any(f"Barrier #{iid}:" in p.text() for p in r.w.connector.to(STATE_CHANNEL))

    # mid-loop, the district's workspace removes Looplink
    r.fake.revoke(r.b)
    uninstalled = len(r.fake.calls)
    status, _ = await in_b.event({"type": "app_uninstalled", "event_ts": "1795000000.000100"})
    assert status == 200
    await r.step("workspace B uninstalls Looplink (app_uninstalled)")

    await _resolve_in_teams(r, GRACE, iid, RESOLUTION)
    await r.settle()
    await r.step("grace (lead, state, Teams) resolves it; relays go down (B is held back)")
    assert [c for c in r.fake.calls[uninstalled:] if c.team == "T0DISTRICT"] == []
    async with r.w.server.rt.db.transaction() as s:
        waiting = (await s.scalars(select(Outbox).where(Outbox.dest_id == "district"))).all()
        assert waiting and any(o.status == "parked" for o in waiting)
        item = await s.get(Item, iid)
        assert item is not None and item.state == "resolved" and item.reporter_told_at is not None
    assert RESOLUTION in block_text(r.slack.message("C0LINCOLN")["blocks"])
    assert RESOLUTION in block_text(r.slack.message(r.fake.dms["U0CAROL"])["blocks"])

    # B installs again: what waited for it is delivered, with B's token; nothing was lost
    await install(r.http, r.fake, r.b)  # type: ignore[arg-type]
    r.slack.clock.advance(seconds=3600)
    await r.settle()
    await r.step("workspace B installs Looplink again: what waited is delivered")
    district = [m for (ch, _ts), m in r.fake.messages.items() if ch == "C0DISTRICT"]
    assert any(RESOLUTION in block_text(m.get("blocks") or []) for m in district)
    async with r.w.server.rt.db.transaction() as s:
        statuses = {o.status for o in (await s.scalars(select(Outbox))).all()}
    assert statuses == {"sent"}

    with capsys.disabled():
        print("\n" + "\n".join(r.transcript))


async def test_strangers_and_workspaces_that_never_installed(
    rollout: Rollout, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = rollout
    await _setup_without_ids(r, db_url, monkeypatch)
    # an event from a workspace that never installed Looplink is refused
    status, body = await r.slack.user.in_workspace("T0NEVER").dm("U0ALICE", "mine")
    assert status == 200 and "not installed in this workspace" in body
    # an undeclared workspace that installed: a user with Carol's email is a stranger there
    other = r.fake.add_workspace("T0ELSEWHERE", "Elsewhere")
    other.user("U0MALLORY", "carol@lincoln.example")
    await install(r.http, r.fake, other)  # type: ignore[arg-type]
    status, body = await r.slack.user.in_workspace("T0ELSEWHERE").command(
        "U0MALLORY", "/looplink", "mine", channel="C0ELSE"
    )
    assert "I don't know you yet" in json.loads(body)["text"]
    assert r.fake.to("users.info", user="U0MALLORY") == []
    # a user of an undeclared tenant with a member's email is a stranger
    r.w.connector.members[MALLORY.id] = {
        "id": MALLORY.id,
        "email": "grace@state.example",
        "tenantId": OTHER_TENANT,
    }
    elsewhere = r.w.teams.in_tenant(OTHER_TENANT)
    assert (await elsewhere.say(MALLORY, "mine")).status == 200
    assert "I don't know you yet" in r.w.connector.calls[-1].text()
    # the sync says the undeclared workspace is skipped and links nobody there
    said = await _org_sync(r, db_url, monkeypatch)
    assert "skipped    Slack workspace Elsewhere (T0ELSEWHERE): not declared" in said
    async with r.w.server.rt.db.transaction() as s:
        rows = (await s.scalars(select(PlatformId))).all()
    assert not {x.value for x in rows} & {"U0MALLORY", MALLORY.id}
    # a roster Teams cannot give is reported, and the rest of the sync goes on
    r.w.connector.fail(500, methods=("GET",))
    said = await _org_sync(r, db_url, monkeypatch)
    assert "failed     Microsoft Teams state-agency" in said and "the roster of team state" in said
    assert TEAM_ID == "T0RIVER"
