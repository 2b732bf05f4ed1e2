"""Job definitions come from the org file: team keys and org-wide settings."""

from __future__ import annotations

from bot.db.models import Team
from bot.org_apply import apply_org
from bot.orgfile import parse_org
from bot.runtime import Runtime
from looplink.platforms import infos
from scheduler.config import desired_jobs, follow_up_weeks, nudge_settings, org_settings
from tests.conftest import EXAMPLE_ORG

LINCOLN_EXTRAS = """    response_days: 3
    nudges: {flag_after_days: 2, remind_before_days: 2}
    follow_up_weeks: 6
    progress: {stage: initial_implementation, schedule: "0 9 * * mon"}
    recognition: {schedule: "30 15 * * thu"}
    measures:
      - {name: "Fidelity (observed)", value: "78%", target: "80%"}
    channels: {slack: C0LINCOLN"""

SETTINGS = """settings:
  follow_up_weeks: 3
  nudges: {schedule: "0 8 * * 1-5", flag_after_days: 4}
  progress: off
people:"""


async def test_schedules_and_timers_come_from_the_org_file(org: Runtime) -> None:
    text = EXAMPLE_ORG.read_text(encoding="utf-8")
    text = text.replace("    response_days: 3\n    channels: {slack: C0LINCOLN", LINCOLN_EXTRAS)
    text = text.replace("people:", SETTINGS, 1)
    text = text.replace("    response_days: 4\n", "    response_days: 4\n    recognition: off\n")
    async with org.db.transaction() as s:
        await apply_org(s, parse_org(text, infos()))
        jobs = {j.id: j for j in await desired_jobs(s)}
        settings = await org_settings(s)
        lincoln = await s.get(Team, "lincoln")
        riverside = await s.get(Team, "riverside")
    assert lincoln is not None and riverside is not None
    assert jobs["progress:lincoln"].cron == "0 9 * * mon"  # the team's own schedule wins
    assert "progress:riverside" not in jobs  # progress is off org-wide
    assert jobs["roundup:lincoln"].cron == "30 15 * * thu"
    assert "roundup:harbor" not in jobs and "roundup:oakgrove" in jobs
    assert jobs["nudges:riverside"].cron == "0 8 * * 1-5"
    assert nudge_settings(lincoln, settings) == (2, 2)
    assert nudge_settings(riverside, settings) == (1, 4)
    assert (follow_up_weeks(lincoln, settings), follow_up_weeks(riverside, settings)) == (6, 3)
