"""Who did what on an item, as every surface shows it: one rule, so that comparing surfaces
(channel posts and cards, the dashboard, exports, digests) never singles out an anonymous
reporter.

The rule depends on the item and the kind of step, never on whether the person who took a
step happens to be the reporter:

- the reporter's own steps (`reported`, `info_provided`, `voice_added`, `confirmed`,
  `reporter_responded`, `withdrawn`, `corrected`) on an anonymous item:
  "the reporter",
  never a name (nobody else can take them);
- the follow-up answer (`feedback`, and taking it back: `feedback_changed`) on an anonymous item: nobody, whoever gave it (the reporter
  or a lead answering for the team); the engine does not even store who;
- every decision (acknowledge, assign, escalate, resolve, decline, ask the reporter, merge):
  the person who decided, by name, always, including when they reported it anonymously: a
  lead acknowledging their own anonymous report looks exactly like any acknowledgement;
- a step without a person (a scheduler flag): Looplink.
"""

from __future__ import annotations

from enum import Enum

REPORTER_STEPS = frozenset(
    {
        "reported",
        "info_provided",
        "voice_added",
        "confirmed",  # "Got it": the answer reached them
        "reporter_responded",  # their one response to an answer
        "withdrawn",
        "corrected",
    }
)
UNATTRIBUTED_WHEN_ANONYMOUS = frozenset({"feedback", "feedback_changed"})


class Shown(Enum):
    PERSON = "person"  # the actor, by name
    REPORTER = "reporter"  # "the reporter" (anonymous item, the reporter's own step)
    NOBODY = "nobody"  # not attributed to anyone
    LOOPLINK = "looplink"  # no person took this step


def stored_actor(anonymous: bool, action: str, person_id: str | None) -> str | None:
    """The actor to record in the audit log for this step."""
    if anonymous and (action in REPORTER_STEPS or action in UNATTRIBUTED_WHEN_ANONYMOUS):
        return None
    return person_id


def shown(anonymous: bool, action: str, actor_id: str | None) -> Shown:
    """How a surface may show the actor of an audit event."""
    if anonymous and action in REPORTER_STEPS:
        return Shown.REPORTER
    if anonymous and action in UNATTRIBUTED_WHEN_ANONYMOUS:
        return Shown.NOBODY
    if actor_id is None:
        return Shown.REPORTER if action in REPORTER_STEPS else Shown.LOOPLINK
    return Shown.PERSON
