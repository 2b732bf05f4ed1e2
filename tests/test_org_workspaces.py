"""The organisation's own workspaces and tenants in the org file (`workspaces:`), ids inside
them, and applying them: line-numbered errors, ids pinned to a workspace, learnt ids kept,
the file winning over what was learnt, a workspace no longer declared making strangers."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import PlatformId, Workspace
from bot.identity import Caller, Identities
from bot.org_apply import apply_org
from bot.orgfile import OrgFileError, parse_org
from bot.runtime import Runtime
from looplink.platforms import infos
from looplink.server import build_server
from tests.settings_support import make_settings

SLACK, TEAMS = (next(i for i in infos() if i.name == n) for n in ("slack", "teams"))
TENANT_A = "72f988bf-0000-4000-8000-0000000000aa"
TENANT_B = "72f988bf-0000-4000-8000-0000000000bb"

BASE = """\
organization: Test
workspaces:
  - {id: district, slack: T0DISTRICT}
  - {id: agency, teams: 72f988bf-0000-4000-8000-0000000000aa}
people:
  - {id: ann, name: Ann, email: ann@x.example, slack: U0ANN, teams: "29:ann"}
  - {id: ben, name: Ben, email: ben@x.example}
teams:
  - id: top
    name: Top
    channels: {slack: C0TOP, teams: "19:top@thread.tacv2"}
    members: [{person: ann, role: lead}, {person: ben}]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(OrgFileError) as err:
        parse_org(textwrap.dedent(text), infos(), "org.yaml")
    return str(err.value).splitlines()


def test_ids_live_in_the_only_declared_workspace_of_their_platform() -> None:
    spec = parse_org(BASE, infos())
    assert [(w.id, w.platform, w.value) for w in spec.workspaces] == [
        ("district", "slack", "T0DISTRICT"),
        ("agency", "teams", TENANT_A),
    ]
    ann = spec.people[0]
    assert {(i.key, i.scope, i.value) for i in ann.ids} == {
        ("slack", "T0DISTRICT", "U0ANN"),
        ("teams", TENANT_A, "29:ann"),
    }
    assert {(c.platform, c.scope) for c in spec.teams[0].channels} == {
        ("slack", "T0DISTRICT"),
        ("teams", TENANT_A),
    }


def test_several_workspaces_say_which_with_a_mapping() -> None:
    text = BASE.replace(
        "  - {id: agency,", "  - {id: state, slack: E0STATEGRID}\n  - {id: agency,"
    ).replace("slack: U0ANN", "slack: {district: U0ANN, state: W0ANN}")
    text = text.replace("channels: {slack: C0TOP,", "channels: {slack: {state: C0TOP},")
    spec = parse_org(text, infos())
    assert {(i.scope, i.value) for i in spec.people[0].ids if i.platform == "slack"} == {
        ("T0DISTRICT", "U0ANN"),
        ("E0STATEGRID", "W0ANN"),
    }
    assert [c.scope for c in spec.teams[0].channels if c.platform == "slack"] == ["E0STATEGRID"]


def test_workspace_mistakes_name_the_line_and_the_fix() -> None:
    found = problems(
        """\
        organization: Test
        workspaces:
          - {id: district, slack: T0DISTRICT}
          - {id: district, teams: not-a-tenant}
          - {id: again, slack: T0DISTRICT}
          - {id: twice, slack: T0ONE, teams: 72f988bf-0000-4000-8000-0000000000aa}
          - {id: odd, zoom: Z1}
        people:
          - {id: ann, name: Ann, slack: {district: U0ANN}, teams: "29:ann"}
          - {id: ben, name: Ben, slack: {district: U0ANN}}
          - {id: cy, name: Cy, slack: {elsewhere: U0CY}}
        teams:
          - id: top
            name: Top
            members: [{person: ann, role: lead}]
        """
    )
    assert found[0].startswith("org.yaml:4: 'not-a-tenant' is not a Microsoft 365 tenant id")
    assert found[1].startswith("org.yaml:5: Slack workspace 'T0DISTRICT' is declared twice")
    assert found[2].startswith("org.yaml:6: workspace 'twice' must name exactly one platform")
    assert found[3].startswith("org.yaml:7: unknown workspace key 'zoom'")
    assert found[4].startswith(
        "org.yaml:9: person 'ann' has a Microsoft Teams user id, but the file declares no "
        "Microsoft 365 tenant. Fix: declare the organisation's own under 'workspaces:'"
    )
    assert found[5].startswith("org.yaml:10: person 'ben' has the Slack id 'U0ANN' of person 'ann'")
    assert found[6].startswith("org.yaml:11: person 'cy': 'elsewhere' is not a declared Slack")
    assert len(found) == 7


def test_ambiguous_ids_and_channels_must_name_their_workspace() -> None:
    text = BASE.replace("  - {id: agency,", "  - {id: state, slack: E0STATEGRID}\n  - {id: agency,")
    found = problems(text)
    assert found[0].startswith(
        "org.yaml:7: person 'ann' has a Slack user id, but the file declares 2 of them "
        "(district, state): say in which one. Fix: write slack: {district: U0ANN}"
    )
    assert found[1].startswith("org.yaml:12: team 'top' has a Slack channel id, but the file")
    two = BASE.replace("channels: {slack: C0TOP,", "channels: {slack: {district: C0TOP}, x: 1,")
    assert "unknown channel platform 'x'" in problems(two)[0]


def test_one_channel_per_team_per_platform_and_one_team_per_channel() -> None:
    text = (
        BASE.replace("  - {id: agency,", "  - {id: state, slack: T0STATE}\n  - {id: agency,")
        .replace("slack: U0ANN", "slack: {district: U0ANN}")
        .replace("channels: {slack: C0TOP,", "channels: {slack: {district: C0TOP, state: C0TOP2},")
    )
    text += (
        "  - id: low\n    name: Low\n    parent: top\n    channels: {slack: {district: C0TOP}}\n"
        "    members: [{person: ben, role: lead}]\n"
    )
    found = problems(text)
    assert "team 'top' has 2 Slack channels" in found[0]
    assert "team 'low' has the Slack id 'C0TOP' of team 'top'" in found[1]


async def _apply(rt: Runtime, text: str) -> list[str]:
    async with rt.db.transaction() as s:
        report = await apply_org(s, parse_org(text, infos()))
    return report.added + report.changed + report.deactivated


async def _ids(rt: Runtime) -> set[tuple[str, str, str, str, str]]:
    """People's ids: (person, key, workspace, id, origin)."""
    async with rt.db.transaction() as s:
        rows = (await s.scalars(select(PlatformId).where(PlatformId.owner_kind == "person"))).all()
        return {(r.owner_id, r.key, r.scope, r.value, r.origin) for r in rows}


async def _identify(rt: Runtime, caller: Caller) -> str | None:
    async with rt.db.transaction() as s:
        info = SLACK if caller.platform == "slack" else TEAMS
        known = await Identities(s).identify(info, caller)
        return known.person.id if known else None


async def test_learnt_ids_survive_apply_and_the_file_wins(rt: Runtime) -> None:
    assert await _apply(rt, BASE)
    assert await _apply(rt, BASE) == []
    # Ben links by email in the district's workspace; applying the file again keeps it
    ben = Caller("slack", (("slack", "U0BEN"),), scope="T0DISTRICT", email="BEN@x.example")
    assert await _identify(rt, ben) == "ben"
    assert ("ben", "slack", "T0DISTRICT", "U0BEN", "email") in await _ids(rt)
    assert await _apply(rt, BASE) == []
    # the file now gives Ben's id itself: the same id is no change
    with_ben = BASE.replace("email: ben@x.example}", "email: ben@x.example, slack: U0BEN}")
    assert await _apply(rt, with_ben) == []
    # the file gives Ann and Ben each other's Slack ids: they swap, in one apply
    swapped = BASE.replace("slack: U0ANN", "slack: U0BEN").replace(
        "email: ben@x.example}", "email: ben@x.example, slack: U0ANN}"
    )
    assert sorted(await _apply(rt, swapped)) == ["person ann", "person ben"]
    ids = {(o, v) for o, k, _s, v, _o in await _ids(rt) if k == "slack"}
    assert ids == {("ann", "U0BEN"), ("ben", "U0ANN")}


async def test_a_workspace_no_longer_declared_makes_strangers(rt: Runtime) -> None:
    await _apply(rt, BASE)
    ann = Caller("slack", (("slack", "U0ANN"),), scope="T0DISTRICT")
    assert await _identify(rt, ann) == "ann"
    assert await _identify(rt, Caller("slack", (("slack", "U0ANN"),), scope="T0OTHER")) is None
    # an Enterprise Grid organisation declared as a whole: its workspaces are the org's
    grid = BASE.replace("{id: district, slack: T0DISTRICT}", "{id: district, slack: E0GRID}")
    await _apply(rt, grid)
    in_grid = Caller("slack", (("slack", "U0ANN"),), scope="T0ANYWS", within=("E0GRID",))
    assert await _identify(rt, in_grid) == "ann"
    assert await _identify(rt, ann) is None  # T0DISTRICT itself is no longer declared
    async with rt.db.transaction() as s:
        rows = {(w.value, w.active) for w in (await s.scalars(select(Workspace))).all()}
    assert rows == {("T0DISTRICT", False), ("E0GRID", True), (TENANT_A, True)}


async def test_email_links_only_a_person_without_an_identity_there(rt: Runtime) -> None:
    await _apply(rt, BASE)
    second = Caller("teams", (("teams", "29:ann-2"),), scope=TENANT_A, email="ann@x.example")
    assert await _identify(rt, second) is None  # Ann already has a Teams identity there
    elsewhere = Caller("teams", (("teams", "29:ben"),), scope=TENANT_B, email="ben@x.example")
    assert await _identify(rt, elsewhere) is None  # not a declared tenant
    ben = Caller("teams", (("teams", "29:ben"), ("teams_aad", "a-guid")), scope=TENANT_A)
    assert await _identify(rt, ben) is None  # no email: nothing to link by
    assert await _identify(rt, Caller(**{**ben.__dict__, "email": "ben@x.example"})) == "ben"
    assert ("ben", "teams_aad", TENANT_A, "a-guid", "email") in await _ids(rt)
    # once linked, the identity is Ben's, whatever email comes with it later
    other = Caller("teams", (("teams", "29:ben"),), scope=TENANT_A, email="ann@x.example")
    assert await _identify(rt, other) == "ben"
    # an email two people share links neither
    shared = (
        BASE.replace("  - {id: ben, name: Ben, email: ben@x.example}\n", "")
        .replace(
            "people:\n",
            "people:\n  - {id: cy, name: Cy, email: d@x.example}\n"
            "  - {id: di, name: Di, email: D@x.example}\n",
        )
        .replace("{person: ben}", "{person: cy}, {person: di}")
    )
    await _apply(rt, shared)
    both = Caller("slack", (("slack", "U0D"),), scope="T0DISTRICT", email="d@x.example")
    assert await _identify(rt, both) is None


async def test_start_warns_when_a_platform_has_no_declared_workspace(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(
        BASE.replace("  - {id: district, slack: T0DISTRICT}\n", "")
        .replace("slack: U0ANN, ", "")
        .replace("channels: {slack: C0TOP, ", "channels: {")
    )
    settings = make_settings(
        database_url=db_url,
        org_file=org,
        slack_bot_token="xoxb-1",
        slack_signing_secret="s" * 32,
        teams_enabled=True,
        run_scheduler=False,
    )
    with caplog.at_level(logging.WARNING, "looplink.server"):
        server = await build_server(settings)
    await server.rt.db.close()
    said = [r.getMessage() for r in caplog.records if r.name == "looplink.server"]
    assert said == [
        "Slack is enabled but the org file declares no Slack workspace of the organisation's "
        "own (workspaces:, see docs/org-file.md): everyone on Slack is a stranger to Looplink"
    ]
