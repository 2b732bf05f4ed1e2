"""Races: the same item decided several times at the same moment; how many attempts applied.

Each scenario starts the real server (Slack enabled, examples/org.yaml) on a fresh database,
has Carol report a barrier, opens the decision forms (Slack modals) and then submits them all
at once: signed requests into the real Bolt app over loopback HTTP (`asyncio.gather`). It
counts the decisions recorded in the audit log, the answers relayed to the reporter and the
attempts told "already decided by ...". The same is done for the step-by-step report's Send
(`send` typed four times and the button clicked twice). The figure to look for: `applied` is
1 in every round, on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.races                                    # SQLite, 5 rounds
    .venv/bin/python -m bench.races --database postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.races --rounds 20 --parallel 32

With --database, SQLite runs first, then PostgreSQL (a fresh database per round on that
server, dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SAWarning

from bench.common import database, machine, workdir
from bot.clock import FixedClock
from bot.db.models import Item
from tests.conftest import MONDAY
from tests.fakes.slack_api import FakeSlack, block_text
from tests.slack_harness import Slack, running_slack
from tests.test_decision_races import (
    decisions,
    hops,
    open_form,
    reported,
    reporter_answers,
    submit_all,
)
from tests.test_races import draft_at_confirm


@dataclass
class Round:
    attempts: int
    applied: int
    told_already: int  # attempts answered "already decided by ..." / "already sent"
    reporter_answers: int
    hops: str = ""


@dataclass
class Figures:
    scenario: str
    backend: str
    rounds: list[Round] = field(default_factory=list)
    seconds: float = 0.0


Scenario = Callable[[Slack, int], Awaitable[Round]]


async def _decide(slack: Slack, plan: list[tuple[str, str, str]]) -> Round:
    iid = await reported(slack)
    forms = [
        (user, await open_form(slack, user, "C0LINCOLN", act), note) for user, act, note in plan
    ]
    said = await submit_all(slack, forms)
    applied = await decisions(slack, iid)
    return Round(
        attempts=len(plan),
        applied=len(applied),
        told_already=sum("already decided by" in t for t in said),
        reporter_answers=len(await reporter_answers(slack)),
        hops=" → ".join(await hops(slack, iid)),
    )


async def resolve_vs_decline(slack: Slack, _n: int) -> Round:
    return await _decide(
        slack,
        [("U0ALICE", "decide:resolve", "Fixed here"), ("U0BOB", "decide:decline", "Not ours")],
    )


async def resolve_vs_escalate(slack: Slack, _n: int) -> Round:
    return await _decide(
        slack,
        [("U0ALICE", "decide:resolve", "Fixed here"), ("U0BOB", "decide:escalate", "District")],
    )


async def escalate_twice(slack: Slack, _n: int) -> Round:
    return await _decide(
        slack,
        [("U0ALICE", "decide:escalate", "District"), ("U0BOB", "decide:escalate", "District")],
    )


async def identical_resolves(slack: Slack, n: int) -> Round:
    return await _decide(slack, [("U0ALICE", "decide:resolve", "Done")] * n)


async def step_by_step_send(slack: Slack, _n: int) -> Round:
    dm = await draft_at_confirm(slack)
    confirm = slack.message(dm)
    slack.fake.clear()
    attempts = [slack.user.dm("U0CAROL", "send") for _ in range(4)]
    attempts += [slack.user.click("U0CAROL", dm, confirm, "steps:send") for _ in range(2)]
    await asyncio.gather(*attempts)
    await slack.settle()
    said = [block_text(c.args["blocks"]) for c in slack.fake.to("chat.postMessage", channel=dm)]
    return Round(
        attempts=len(attempts),
        applied=await slack.count(Item),
        told_already=sum("already sent" in t for t in said),
        reporter_answers=sum(t.startswith("Thanks") for t in said),
    )


SCENARIOS: list[tuple[str, Scenario]] = [
    ("resolve vs decline", resolve_vs_decline),
    ("resolve vs escalate", resolve_vs_escalate),
    ("escalate twice", escalate_twice),
    ("N identical resolves", identical_resolves),
    ("step-by-step send x6", step_by_step_send),
]


async def one_round(url: str, scenario: Scenario, n: int) -> Round:
    fake = await FakeSlack().start()
    try:
        async with running_slack(url, FixedClock(MONDAY), fake) as slack:
            return await scenario(slack, n)
    finally:
        await fake.stop()


async def run(backend: str, server_url: str | None, rounds: int, n: int) -> list[Figures]:
    out = []
    for name, scenario in SCENARIOS:
        fig = Figures(name.replace("N ", f"{n} "), backend)
        started = time.perf_counter()
        for _ in range(rounds):
            with workdir() as tmp, database(server_url, Path(tmp)) as url:
                fig.rounds.append(await one_round(url, scenario, n))
        fig.seconds = time.perf_counter() - started
        out.append(fig)
    return out


def table(figures: list[Figures]) -> None:
    print(
        f"{'scenario':<24} {'db':<10} {'rounds':>6} {'attempts':>8} {'applied':>9} "
        f"{'told':>6} {'reporter':>8}  hops"
    )
    for f in figures:
        applied = sorted({r.applied for r in f.rounds})
        told = sorted({r.told_already for r in f.rounds})
        answers = sorted({r.reporter_answers for r in f.rounds})
        paths = sorted({r.hops for r in f.rounds if r.hops})
        print(
            f"{f.scenario:<24} {f.backend:<10} {len(f.rounds):>6} {f.rounds[0].attempts:>8} "
            f"{'/'.join(map(str, applied)):>9} {'/'.join(map(str, told)):>6} "
            f"{'/'.join(map(str, answers)):>8}  {' | '.join(paths)}"
        )
    print(
        "\napplied: decisions recorded (reports made, for send) per round, every value seen; "
        "told: attempts answered 'already decided by ...' ('already sent'); reporter: answers "
        "the reporter got (thank-yous, for send); hops: the item's path, every one seen."
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--database", help="postgresql://... (also run there, after SQLite)")
    p.add_argument("--rounds", type=int, default=5, help="rounds per scenario (default 5)")
    p.add_argument("--parallel", type=int, default=16, help="identical attempts (default 16)")
    args = p.parse_args(argv)
    warnings.simplefilter("default", SAWarning)
    print(f"Races — {machine()}\n")
    figures = asyncio.run(run("sqlite", None, args.rounds, args.parallel))
    if args.database:
        figures += asyncio.run(run("postgresql", args.database, args.rounds, args.parallel))
    table(figures)


if __name__ == "__main__":
    main()
