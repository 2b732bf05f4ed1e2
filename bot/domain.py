"""The vocabulary of the practice-to-policy loop (see ../shared/DOMAIN.md)."""

from __future__ import annotations

from enum import StrEnum

from bot.i18n import N_, _, ngettext


class Kind(StrEnum):
    BARRIER = "barrier"
    SUCCESS = "success"


class State(StrEnum):
    NEW = "new"  # waiting for the holding team's decision
    ACKNOWLEDGED = "acknowledged"  # the holding team has it in hand
    NEEDS_INFO = "needs_info"  # waiting on the reporter
    ESCALATED = "escalated"  # sent up; waiting for the (new) holding team's decision
    RESOLVED = "resolved"
    DECLINED = "declined"
    MERGED = "merged"
    WITHDRAWN = "withdrawn"  # the reporter took it back before anyone acted on it


# A state as a word in a sentence ("#12 is already resolved").
STATE_WORDS = {
    State.NEW: N_("new"),
    State.ACKNOWLEDGED: N_("acknowledged"),
    State.NEEDS_INFO: N_("waiting on the reporter"),
    State.ESCALATED: N_("escalated"),
    State.RESOLVED: N_("resolved"),
    State.DECLINED: N_("declined"),
    State.MERGED: N_("merged"),
}


def state_word(state: str) -> str:
    try:
        return _(STATE_WORDS[State(state)])
    except (ValueError, KeyError):  # an unknown state, or one without its word (withdrawn)
        return state.replace("_", " ")


# What was done to an item, as a card's footer says it ("Resolved — resolve by Dana").
ACTION_WORDS = {
    "reported": N_("reported"),
    "acknowledge": N_("acknowledge"),
    "assign": N_("assign"),
    "resolve": N_("resolve"),
    "escalate": N_("escalate"),
    "ask_info": N_("ask info"),
    "info_provided": N_("info provided"),
    "decline": N_("decline"),
    "merge": N_("merge"),
    "feedback": N_("feedback"),
    "linked": N_("linked"),
    "voice_added": N_("voice added"),
    "imported": N_("imported"),
}


def action_word(action: str) -> str:
    word = ACTION_WORDS.get(action)
    return _(word) if word else action.replace("_", " ")


OPEN_STATES = frozenset({State.NEW, State.ACKNOWLEDGED, State.NEEDS_INFO, State.ESCALATED})
CLOSED_STATES = frozenset({State.RESOLVED, State.DECLINED, State.MERGED})


class Decision(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    ASK_INFO = "ask_info"
    DECLINE = "decline"
    MERGE = "merge"


# Decisions that must carry a note, and what the note is called when we ask for it.
# The labels here are English message ids: translate them where shown (`_(label)`).
NOTE_REQUIRED = {
    Decision.RESOLVE: N_("Resolution: what was done or decided"),
    Decision.ESCALATE: N_("Why it cannot be solved at this level"),
    Decision.ASK_INFO: N_("Your question for the reporter"),
    Decision.DECLINE: N_("Rationale for declining"),
}


class Role(StrEnum):
    LEAD = "lead"
    LIAISON = "liaison"
    COACH = "coach"
    DATA = "data"
    FACILITATOR = "facilitator"
    NOTES = "notes"
    MEMBER = "member"


DECIDING_ROLES = frozenset({Role.LEAD, Role.LIAISON})


class Driver(StrEnum):
    SELECTION = "selection"
    TRAINING = "training"
    COACHING = "coaching"
    FIDELITY = "fidelity"
    DATA_SYSTEMS = "data_systems"
    FACILITATIVE_ADMINISTRATION = "facilitative_administration"
    SYSTEMS_INTERVENTION = "systems_intervention"
    LEADERSHIP = "leadership"
    OTHER = "other"


DRIVER_LABELS = {
    Driver.SELECTION: N_("Selection"),
    Driver.TRAINING: N_("Training"),
    Driver.COACHING: N_("Coaching"),
    Driver.FIDELITY: N_("Fidelity assessment"),
    Driver.DATA_SYSTEMS: N_("Decision-support data systems"),
    Driver.FACILITATIVE_ADMINISTRATION: N_("Facilitative administration"),
    Driver.SYSTEMS_INTERVENTION: N_("Systems intervention"),
    Driver.LEADERSHIP: N_("Leadership"),
    Driver.OTHER: N_("Other"),
}


class Stage(StrEnum):
    EXPLORATION = "exploration"
    INSTALLATION = "installation"
    INITIAL = "initial_implementation"
    FULL = "full_implementation"


STAGE_LABELS = {
    Stage.EXPLORATION: N_("Exploration"),
    Stage.INSTALLATION: N_("Installation"),
    Stage.INITIAL: N_("Initial implementation"),
    Stage.FULL: N_("Full implementation"),
}


class Affected(StrEnum):
    STUDENTS = "students"
    FAMILIES = "families"
    STAFF = "staff"


class Locus(StrEnum):
    """Whether the reporter thinks the barrier is within the reporting team's control."""

    WITHIN = "within"  # this team can change it (internal to this level)
    OUTSIDE = "outside"  # it lies outside this team (funding, policy, other agencies, ...)
    UNSURE = "unsure"


LOCUS_LABELS = {
    Locus.WITHIN: N_("Within this team's control"),
    Locus.OUTSIDE: N_("Outside this team's control"),
    Locus.UNSURE: N_("Not sure"),
}


class Urgency(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


AFFECTED_WORDS = {
    Affected.STUDENTS: N_("students"),
    Affected.FAMILIES: N_("families"),
    Affected.STAFF: N_("staff"),
}
URGENCY_WORDS = {Urgency.LOW: N_("low"), Urgency.NORMAL: N_("normal"), Urgency.HIGH: N_("high")}


def affected_word(value: str) -> str:
    try:
        return _(AFFECTED_WORDS[Affected(value)])
    except ValueError:
        return value


def urgency_word(value: str) -> str:
    try:
        return _(URGENCY_WORDS[Urgency(value)])
    except ValueError:
        return value


class Outcome(StrEnum):
    WORSE = "worse"
    NO_CHANGE = "no_change"
    BETTER = "better"
    GOAL_MET = "goal_met"


OUTCOME_LABELS = {
    Outcome.WORSE: N_("Worse"),
    Outcome.NO_CHANGE: N_("No change"),
    Outcome.BETTER: N_("Better, not yet at goal"),
    Outcome.GOAL_MET: N_("Goal met"),
}

# Anonymity in a team smaller than this protects nobody; the reporter is told so.
ANONYMITY_MIN_TEAM = 5
# The most linked teams one chain may hold, bottom to top (the org file refuses more). Real
# systems have three to five levels (building, district, region, state, executive).
MAX_CHAIN_LEVELS = 50

# Longest free text we accept in any one field; longer input is refused politely.
MAX_TEXT = 3000


def level_count(level: str, n: int) -> str:
    """'3 buildings', '1 district': a number of teams of one level (the common levels are
    translated; another level reads as it is written in the org file)."""
    if level == "building":
        return ngettext("%(num)d building", "%(num)d buildings", n)
    if level == "district":
        return ngettext("%(num)d district", "%(num)d districts", n)
    if level == "region":
        return ngettext("%(num)d region", "%(num)d regions", n)
    if level == "state":
        return ngettext("%(num)d state team", "%(num)d state teams", n)
    return f"{n} {level}{'s' if n != 1 else ''}"
