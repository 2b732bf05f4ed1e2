"""The org file: every kind of mistake gets the file, the line and the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.orgfile import OrgFileError, load_org, parse_org
from looplink.cli import main
from looplink.platforms import infos

GOOD = """\
organization: Test District
timezone: America/Chicago
people:
  - {id: ann, name: Ann}
  - {id: ben, name: Ben}
teams:
  - id: top
    name: Top Team
    level: state
    members:
      - {person: ann, role: lead}
  - id: low
    name: Low Team
    parent: top
    meeting: {schedule: "0 15 * * tue"}
    members:
      - {person: ben, role: lead}
"""


def problems(text: str) -> OrgFileError:
    with pytest.raises(OrgFileError) as err:
        parse_org(textwrap.dedent(text), infos(), "org.yaml")
    return err.value


def test_good_file_parses() -> None:
    spec = parse_org(GOOD, infos())
    assert [t.id for t in spec.teams] == ["top", "low"]
    assert spec.teams[1].parent == "top" and spec.teams[1].digest_schedule == "0 8 * * mon"


def test_example_org_is_valid_and_realistic() -> None:
    spec = load_org(Path(__file__).parent.parent / "examples" / "org.yaml", infos())
    levels = [t.level for t in spec.teams]
    assert (
        levels.count("state") == 1
        and levels.count("district") == 2
        and levels.count("building") == 4
    )
    assert len(spec.people) >= 30


def test_unknown_parent_names_line_and_fix() -> None:
    err = problems(GOOD.replace("parent: top", "parent: topp"))
    assert str(err).startswith("org.yaml:14: team 'low' has unknown parent 'topp'")
    assert "Fix: use the id of a team in this file" in str(err)


def test_cycle_in_links() -> None:
    text = GOOD.replace("    level: state\n", "    level: state\n    parent: low\n")
    err = problems(text)
    assert "the team links form a cycle" in str(err) and "top -> low -> top" in str(err)
    assert err.problems[0].line == 10


def test_self_parent() -> None:
    err = problems(GOOD.replace("parent: top", "parent: low"))
    assert "team 'low' is its own parent" in str(err)


def test_duplicate_ids() -> None:
    err = problems(GOOD.replace("- {id: ben, name: Ben}", "- {id: ann, name: Ben}"))
    assert "org.yaml:5: duplicate person id 'ann' (first on line 4)" in str(err)
    err = problems(GOOD.replace("id: low", "id: top"))
    assert "duplicate team id 'top'" in str(err)


def test_unknown_person_in_members() -> None:
    err = problems(GOOD.replace("{person: ben, role: lead}", "{person: bill, role: lead}"))
    assert "org.yaml:17: unknown person 'bill' in members of team 'low'" in str(err)
    assert "add them under 'people'" in str(err)


def test_bad_cron() -> None:
    err = problems(GOOD.replace('"0 15 * * tue"', '"0 25 * * tue"'))
    assert "org.yaml:15: bad cron '0 25 * * tue'" in str(err)
    err = problems(GOOD.replace('"0 15 * * tue"', '"every tuesday"'))
    assert "expected 5 fields" in str(err)


def test_unknown_timezone() -> None:
    err = problems(GOOD.replace("America/Chicago", "America/Chicagoo"))
    assert "org.yaml:2: unknown timezone 'America/Chicagoo'" in str(err)


def test_team_without_lead() -> None:
    err = problems(GOOD.replace("{person: ben, role: lead}", "{person: ben, role: coach}"))
    assert "team 'low' has no lead" in str(err)


def test_unknown_role_and_bad_response_days() -> None:
    text = GOOD.replace("{person: ben, role: lead}", "{person: ben, role: boss}")
    text = text.replace("    parent: top\n", "    parent: top\n    response_days: lots\n")
    err = problems(text)
    assert "unknown role 'boss'" in str(err)
    assert "response_days must be a whole number" in str(err)


def test_all_problems_reported_at_once() -> None:
    text = GOOD.replace("parent: top", "parent: nowhere").replace("America/Chicago", "Mars/Base")
    assert len(problems(text).problems) == 2


def test_invalid_yaml() -> None:
    err = problems("organization: [unclosed\npeople: x\n")
    assert "not valid YAML" in str(err)


def test_not_a_mapping() -> None:
    assert "must be a mapping" in str(problems("- just\n- a list\n"))


def test_admins_are_people_of_the_file() -> None:
    spec = parse_org(GOOD + "admins: [ben]\n", infos())
    assert spec.admins == ("ben",)
    assert parse_org(GOOD, infos()).admins == ()
    err = problems(GOOD + "admins: [ben, zed, ben]\n")
    assert "org.yaml:18: unknown person 'zed' in admins. Fix: add them under 'people'" in str(err)
    assert "org.yaml:18: 'ben' is listed twice in admins" in str(err)
    err = problems(GOOD + "admins: ben\n")
    assert "org.yaml:18: 'admins' must be a list of person ids" in str(err)
    err = problems(GOOD + "admins: [{person: ben}]\n")
    assert "org.yaml:18: each admin must be a person id" in str(err)


def test_cli_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "org.yaml"
    good.write_text(GOOD)
    assert main(["org", "validate", str(good)]) == 0
    assert "OK — 2 people, 2 teams" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("parent: top", "parent: topp"))
    assert main(["org", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:14: team 'low' has unknown parent 'topp'" in err
    assert "nothing was applied" in err


def test_misspelt_keys_are_errors_with_their_line_and_the_closest_key() -> None:
    """Issue 15: `slak:` and `respons_days:` were accepted silently (and did nothing)."""
    text = GOOD.replace("  - {id: ben, name: Ben}", "  - {id: ben, name: Ben, slak: U0BEN}")
    text = text.replace("    parent: top\n", "    parent: top\n    respons_days: 3\n")
    text = text.replace(
        'meeting: {schedule: "0 15 * * tue"}',
        'meeting: {schedule: "0 15 * * tue", agenda_befor_minutes: 60}',
    )
    text = text.replace("{person: ben, role: lead}", "{person: ben, rol: lead}")
    err = str(problems(text))
    assert "org.yaml:5: unknown key 'slak' in person 'ben'" in err, err
    assert "did you mean 'slack'?" in err
    assert "org.yaml:15: unknown key 'respons_days' in team 'low'" in err, err
    assert "did you mean 'response_days'?" in err
    assert "did you mean 'agenda_before_minutes'?" in err
    assert "did you mean 'role'?" in err
    top = str(problems("organisation: X\n" + GOOD))
    assert "unknown key 'organisation'" in top and "did you mean 'organization'?" in top


def test_every_team_setting_the_code_reads_is_a_known_key() -> None:
    """A key added to a team's settings must be added to TEAM_KEYS too, or files using it
    would be refused as misspelt."""
    from bot.orgfile import TEAM_EXTRA, TEAM_KEYS

    assert set(TEAM_EXTRA) <= TEAM_KEYS
    text = GOOD.replace("    parent: top\n", "    parent: top\n    revisit_weeks: 6\n")
    assert parse_org(text, infos()).teams[1].extra["revisit_weeks"] == 6
