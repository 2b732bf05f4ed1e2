"""The org file cannot be used to stall or exhaust the process (issue 10, "the org file").

- YAML alias bombs anywhere (a holiday, calendar.weekends, settings, an unknown key) are refused
  by `looplink org validate` and `org apply` with a line-numbered error, never a traceback;
- aliases that loop, nesting too deep, files too large: refused the same way;
- validation and apply are linear in the number of teams (counted in executed lines and SQL
  statements, not in seconds: `bench/org_scale.py` prints the times);
- a chain longer than MAX_CHAIN_LEVELS is refused; the directory walks a stored chain whole.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from sqlalchemy import event

from bot import orgfile
from bot.authority import Authority
from bot.db.models import Membership, Person, Team
from bot.db.session import Database
from bot.directory import Directory
from bot.domain import MAX_CHAIN_LEVELS
from bot.org_apply import apply_org
from bot.orgfile import OrgFileError, parse_org
from bot.yamlload import Lined, YamlLimitError, load
from looplink.platforms import infos

ROOT = Path(__file__).resolve().parent.parent
BOT_DIR = str(ROOT / "bot")

HEAD = """\
organization: Bomb Test
people:
  - {id: ann, name: Ann}
teams:
  - id: top
    name: Top Team
    members:
      - {person: ann, role: lead}
"""


def laughs(indent: str, levels: int = 9) -> str:
    """Anchors of anchors: level k stands for 9**k values (a billion laughs at 9 levels)."""
    out = [f'{indent}- &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for k in range(1, levels):
        out.append(f"{indent}- &l{k} [" + ", ".join([f"*l{k - 1}"] * 9) + "]")
    return "\n".join(out) + "\n"


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# where -> file text; each is refused at the level whose aliases pass the bound (&l5: 9 * 9**5)
BOMBS = {
    "holiday": HEAD + "calendar:\n  holidays:\n" + laughs("    "),
    "weekends": HEAD + "bombs:\n" + laughs("  ") + "calendar:\n  weekends: *l8\n",
    "settings": HEAD + "settings:\n  x:\n" + laughs("    "),
    "unknown key": HEAD + "whatever:\n" + laughs("  "),
}


def _limited() -> None:  # runs in the child: a runaway expansion fails fast instead of swapping
    resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024,) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (30, 30))


def looplink(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOOPLINK_DATABASE_URL": f"sqlite:///{cwd / 'org.db'}"}
    return subprocess.run(
        [sys.executable, "-m", "looplink.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited,
    )


@pytest.mark.slow
@pytest.mark.parametrize("where", sorted(BOMBS))
def test_alias_bombs_are_refused_with_the_line(where: str, tmp_path: Path) -> None:
    text = BOMBS[where]
    line = line_of(text, "&l5 ")
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    for action in ("validate", "apply"):
        done = looplink("org", action, str(path), cwd=tmp_path)
        assert done.returncode == 1, (action, done.stdout, done.stderr[-2000:])
        assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
        assert f"{path}:{line}: aliases stand for more than 100,000 values" in done.stderr
        assert "a YAML alias bomb?" in done.stderr and "Fix: write the values out" in done.stderr


def test_bomb_refused_before_it_is_expanded() -> None:
    """The refusal comes at the first alias over the bound: the laughs of the levels below
    were counted, never expanded (a 9-level file and a 90-level one fail at the same line)."""
    for levels in (9, 90):
        text = HEAD + "settings:\n  x:\n" + laughs("    ", levels)
        with pytest.raises(OrgFileError) as err:
            parse_org(text, infos(), "bomb.yaml")
        assert [p.line for p in err.value.problems] == [line_of(text, "&l5 ")]


def test_small_aliases_still_work() -> None:
    text = textwrap.dedent("""\
        organization: Anchors
        calendar:
          holidays: &days [2026-12-24, 2026-12-25]
        settings:
          closed: *days
        people:
          - {id: ann, name: Ann}
          - {id: ben, name: Ben}
        teams:
          - id: top
            name: Top
            meeting: &weekly {schedule: "0 15 * * tue"}
            members: [{person: ann, role: lead}]
          - id: low
            name: Low
            parent: top
            meeting: *weekly
            members: [{person: ben, role: lead}]
        """)
    spec = parse_org(text, infos())
    assert spec.teams[1].meeting_schedule == "0 15 * * tue"
    assert [d.isoformat() for d in spec.calendar.holidays] == ["2026-12-24", "2026-12-25"]


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("a: &x\n  b: [1, *x]\n", 2, "the alias *x is inside the value it names"),
        ("a: [1, 2]\nb: *nope\n", 2, "the alias *nope names no anchor above it"),
        ("a: " + "[" * 70 + "]" * 70 + "\n", 1, "nested more than 64 levels deep"),
        ("a: 1\n---\nb: 2\n", 2, "more than one YAML document"),
        ("? [1, 2]\n: x\n", 1, "a key must be a single value"),
        ("a: !!python/object:os.system x\n", 1, "is not allowed here"),
        ("a: !!set {x}\n", 1, "is not allowed here"),
    ],
)
def test_yaml_that_cannot_be_an_org_file(text: str, line: int, says: str) -> None:
    with pytest.raises(YamlLimitError) as err:
        load(text)
    assert err.value.line == line and says in err.value.message
    with pytest.raises(OrgFileError) as org_err:
        parse_org(text, infos(), "org.yaml")
    assert str(org_err.value).startswith(f"org.yaml:{line}: ")


def test_loader_keeps_safe_load_meaning_and_lines() -> None:
    text = "a: yes\nb: 2026-12-24\nc: '5'\nd: 5\ne: ~\nf:\ng: [x, {h: 1.5}]\n"
    import yaml

    data = load(text)
    assert data == yaml.safe_load(text)
    assert isinstance(data, Lined) and data.key_lines == {k: i + 1 for i, k in enumerate("abcdefg")}
    assert isinstance(data["g"][1], Lined) and data["g"][1].line == 7


def test_files_over_the_size_limit_are_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(orgfile, "MAX_FILE_BYTES", 1000)
    big = tmp_path / "big.yaml"
    big.write_text(HEAD + "# " + "x" * 2000 + "\n")
    with pytest.raises(OrgFileError) as err:
        orgfile.load_org(big, infos())
    size = big.stat().st_size
    assert f"{big}:1: the file is {size:,} bytes, more than the 1,000 an org file may be" in str(
        err.value
    )
    with pytest.raises(OrgFileError):
        parse_org(big.read_text(), infos())


def test_the_real_size_limit_leaves_room_for_a_large_organisation() -> None:
    # bench/org_scale.py: 5,000 teams and 15,000 people are about 2 MiB of YAML
    assert orgfile.MAX_FILE_BYTES >= 8 * 1024 * 1024


# ---- chains ---------------------------------------------------------------------------------


def chain_org(levels: int, members: int = 1) -> str:
    """A chain of `levels` teams, t0 at the top."""
    out = ["organization: Chain", "people:"]
    out += [f"  - {{id: p{i}, name: P{i}}}" for i in range(levels * members)]
    out.append("teams:")
    for t in range(levels):
        out.append(f"  - id: t{t}\n    name: T{t}")
        if t:
            out.append(f"    parent: t{t - 1}")
        out.append('    meeting: {schedule: "0 15 * * tue"}')
        out.append("    members:")
        out += [
            f"      - {{person: p{t * members + m}, role: {'lead' if m == 0 else 'member'}}}"
            for m in range(members)
        ]
    return "\n".join(out) + "\n"


def test_chain_longer_than_the_directory_walks_is_refused() -> None:
    parse_org(chain_org(MAX_CHAIN_LEVELS), infos())
    text = chain_org(MAX_CHAIN_LEVELS + 5)
    with pytest.raises(OrgFileError) as err:
        parse_org(text, infos(), "org.yaml")
    (problem,) = err.value.problems
    assert problem.message == (
        f"team 't{MAX_CHAIN_LEVELS}' is level {MAX_CHAIN_LEVELS + 1} of its chain (its top team "
        f"is level 1); a chain of linked teams may have at most {MAX_CHAIN_LEVELS} levels"
    )
    assert text.splitlines()[problem.line - 1] == f"    parent: t{MAX_CHAIN_LEVELS - 1}"


async def test_directory_walks_a_stored_chain_whole(db: Database) -> None:
    """A chain stored before the limit (or by hand) is walked to its top: the top lead keeps
    authority over the bottom team (chain_up used to stop after 50 teams)."""
    levels = 60
    async with db.transaction() as s:
        s.add(Person(id="top-lead", name="Top Lead"))
        for t in range(levels):
            s.add(Team(id=f"t{t}", name=f"T{t}", level="building", timezone="UTC"))
        await s.flush()
        for t in range(1, levels):
            (await s.get(Team, f"t{t}")).parent_id = f"t{t - 1}"  # type: ignore[union-attr]
        s.add(Membership(team_id="t0", person_id="top-lead", role="lead", active=True))
    async with db.transaction() as s:
        d = Directory(s)
        chain = await d.chain_up(f"t{levels - 1}")
        assert [t.id for t in chain] == [f"t{t}" for t in reversed(range(levels))]
        assert await Authority(d).decides_for("top-lead", f"t{levels - 1}")
        # a loop in stored links ends the walk instead of spinning
        (await s.get(Team, "t0")).parent_id = f"t{levels - 1}"  # type: ignore[union-attr]
        assert len(await Directory(s).chain_up("t5")) == levels


# ---- linear work ------------------------------------------------------------------------------


def lines_executed(fn: Callable[[], Any]) -> int:
    """Lines of Looplink's own code (bot/) executed by fn(): the work it does, in steps."""
    count = 0

    def local(frame: FrameType, what: str, arg: Any) -> Any:
        nonlocal count
        if what == "line":
            count += 1
        return local

    def tracer(frame: FrameType, what: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(BOT_DIR) else None

    previous = sys.gettrace()  # coverage's tracer, when it measures: put it back after
    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(previous)
    return count


def tree_org(teams: int, fan: int = 10) -> str:
    out = ["organization: Tree", "people:"]
    out += [f"  - {{id: p{i}, name: P{i}}}" for i in range(teams)]
    out.append("teams:")
    for t in range(teams):
        out.append(f"  - id: t{t}\n    name: T{t}")
        if t:
            out.append(f"    parent: t{(t - 1) // fan}")
        out.append(f"    members: [{{person: p{t}, role: lead}}]")
    return "\n".join(out) + "\n"


def validate(text: str) -> None:
    # a chain this long is refused, but only after all the checks ran
    with contextlib.suppress(OrgFileError):
        parse_org(text, infos())


@pytest.mark.parametrize("shape", ["chain", "tree"])
def test_validation_is_linear_in_teams(shape: str) -> None:
    make = chain_org if shape == "chain" else tree_org
    small = lines_executed(lambda: validate(make(300)))
    large = lines_executed(lambda: validate(make(1200)))
    assert large <= 4.4 * small, (shape, small, large)  # 4x the teams: at most ~4x the work


async def test_apply_is_linear_in_teams(tmp_path: Path) -> None:
    """Four times the teams: about four times the statements and the lines of our code."""
    from bot.db.migrate import upgrade

    figures = []
    for n in (100, 400):
        url = f"sqlite:///{tmp_path / f'apply{n}.db'}"
        upgrade(url)
        db = Database(url)
        spec = parse_org(tree_org(n), infos())
        statements = 0

        def count(*args: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            async with db.transaction() as s:
                lines = await lines_awaited(lambda: apply_org(s, spec))  # noqa: B023
            figures.append((n, statements, lines))
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
            await db.close()
    (_, s1, l1), (_, s4, l4) = figures
    assert s4 <= 4.4 * s1 and l4 <= 4.4 * l1, figures


async def lines_awaited(fn: Callable[[], Awaitable[Any]]) -> int:
    """lines_executed, for a coroutine (our code runs on this thread between awaits)."""
    count = 0

    def local(frame: FrameType, what: str, arg: Any) -> Any:
        nonlocal count
        if what == "line":
            count += 1
        return local

    def tracer(frame: FrameType, what: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(BOT_DIR) else None

    previous = sys.gettrace()  # coverage's tracer, when it measures: put it back after
    sys.settrace(tracer)
    try:
        await fn()
    finally:
        sys.settrace(previous)
    return count
