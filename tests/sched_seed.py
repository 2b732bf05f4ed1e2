"""Seeded activity for the scheduler tests, created through the chat like real use.

Starting at the fixture clock (Monday 23 Nov 2026, 08:00 Chicago):
- #1 carol: screener data late (data systems, high) -> Lincoln escalates -> Riverside escalates
  -> held by State;
- #2 dev: no substitute cover (coaching) -> Lincoln escalates -> Riverside resolves;
- #3 erin: fidelity checklist too long -> Lincoln acknowledges (stays open at Lincoln);
- #4 femi, anonymous: newsletter only in English -> new at Lincoln;
- #5 carol: a success;
- kudos: carol -> dev, alice -> erin, dana -> the Lincoln team.
The clock ends two days later (Wednesday 25 Nov, 08:00 Chicago).
"""

from __future__ import annotations

from adapters.local import LocalChat
from bot.clock import FixedClock


def barrier(summary: str, **fields: str) -> dict[str, str]:
    return {"summary": summary, **fields}


async def seed_activity(chat: LocalChat, clock: FixedClock) -> None:
    await chat.submit(
        "carol",
        "barrier",
        barrier(
            "Reading screener data arrives three weeks after testing",
            driver="data_systems",
            affected="students,staff",
            subgroup="English learners",
            urgency="high",
        ),
    )
    await chat.submit(
        "dev",
        "barrier",
        barrier("No substitute cover on coaching days", driver="coaching", affected="staff"),
    )
    await chat.submit(
        "erin",
        "barrier",
        barrier("Fidelity checklist is too long for a 20-minute observation", driver="fidelity"),
    )
    await chat.submit(
        "femi",
        "barrier",
        barrier(
            "Families get the literacy newsletter only in English",
            driver="facilitative_administration",
            affected="families",
            anonymous="yes",
        ),
    )
    clock.advance(hours=2)
    await decide(chat, "alice", 1, "escalate", "The vendor contract is held by the district")
    await decide(chat, "alice", 2, "escalate", "The substitute budget is set by the district")
    await chat.press("alice", "decide:acknowledge", "3")
    clock.advance(days=1)
    await decide(chat, "dana", 1, "escalate", "The statewide data system contract is the state's")
    await decide(chat, "dana", 2, "resolve", "Funded a substitute pool for coaching days")
    await chat.submit(
        "carol", "success", barrier("Paired reading doubled minutes read", driver="coaching")
    )
    await chat.say("carol", "kudos @dev for covering my coaching session")
    await chat.say("alice", "kudos @erin for running the data review")
    await chat.say("dana", "kudos lincoln for raising the screener delay so clearly")
    clock.advance(hours=22)


async def decide(chat: LocalChat, who: str, item: int, decision: str, note: str) -> None:
    result = await chat.submit(
        who, "decide", {"note": note}, {"item": str(item), "decision": decision}
    )
    assert "#" in result.text(), result.text()
