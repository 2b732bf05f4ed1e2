"""Issue 15 in headless Chromium: the reporter kept in the loop and the meeting self-check.

Carol reports a barrier (saying it lies outside her team's control, and how she knows); her
page, never reloaded, hears that Lincoln picked it up and then sent it up to Riverside with the
agreed response date; Dana declines it with a reason; Carol responds once, and the button
goes. Then Alice opens Lincoln's agenda and answers the meeting self-check from its button.
Screenshots go to test-artifacts/reporter/.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.test_browser import CHROMIUM, Live, card, live, new_page, open_as
from tests.web_support import ROOT

SHOTS = ROOT / "test-artifacts" / "reporter"

__all__ = ["live"]  # the fixture, shared with tests/test_browser.py

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not __import__("pathlib").Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"
    ),
]


async def test_reporter_updates_decline_response_and_self_check(live: Live) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    carol = await new_page(live)
    await open_as(carol, live, "carol")
    await carol.evaluate("window.__notReloaded = true")
    await carol.get_by_role("button", name="Report a barrier").click()
    await carol.get_by_label("What is getting in the way?").fill(
        "Substitute cover ends at noon, so afternoon coaching is cancelled"
    )
    await carol.get_by_label("Is this within your team's control?").select_option("outside")
    await carol.get_by_label("How do you know?").fill("Cancelled 6 of the last 8 weeks")
    await carol.get_by_role("button", name="Send to my team").click()
    await expect(carol.locator("#messages li.note.reply").last).to_contain_text(
        "your barrier #1 is with Lincoln Elementary Implementation Team"
    )

    # Alice sees the locus and the evidence on the card, acknowledges, then escalates
    lead = await new_page(live)
    await open_as(lead, live, "alice", "team:lincoln")
    barrier = card(lead, "Barrier #1")
    await expect(barrier).to_contain_text("Outside this team's control")
    await expect(barrier).to_contain_text("Cancelled 6 of the last 8 weeks")
    await barrier.get_by_role("button", name="Acknowledge").click()
    await expect(carol.locator("#messages")).to_contain_text("has picked up your barrier #1")
    await barrier.get_by_role("button", name="Escalate").click()
    note = lead.get_by_label("Why it cannot be solved at this level")
    await expect(lead.locator("#panel")).to_contain_text(
        "The reporter thinks this lies outside this team's control."
    )
    await note.fill("Substitute budgets are set by the district")
    await lead.get_by_role("button", name="Confirm").click()
    await expect(lead.locator("#messages li.note.reply").last).to_contain_text("#1 escalated")
    await lead.screenshot(path=SHOTS / "01-alice-card-with-locus.png", full_page=True)
    sent_up = carol.locator("#messages li.msg").filter(
        has_text=re.compile("up to .*Riverside District Implementation Team")
    )
    await expect(sent_up).to_have_count(1)
    await expect(sent_up).to_contain_text("agreed to respond within 5 working days")
    await expect(sent_up.get_by_role("button", name="Mute these updates")).to_be_visible()
    assert await carol.evaluate("window.__notReloaded === true")
    await carol.screenshot(path=SHOTS / "02-carol-hears-progress.png", full_page=True)

    # Dana declines with a reason; Carol responds once
    await open_as(lead, live, "dana", "team:riverside")
    barrier = card(lead, "Barrier #1")
    await barrier.get_by_role("button", name="Decline").click()
    await lead.get_by_label("Rationale for declining").fill(
        "The substitute pool is fixed by contract until July"
    )
    await lead.get_by_role("button", name="Confirm").click()
    answer = carol.locator("#messages li.msg").filter(has_text="fixed by contract until July")
    await expect(answer).to_have_count(1)
    await answer.get_by_role("button", name="Respond to this decision").click()
    await carol.get_by_label("Your response (you can send one)").fill(
        "Could coaching move to mornings instead?"
    )
    await carol.locator("#panel").get_by_role("button", name="Send", exact=True).click()
    await expect(carol.locator("#messages li.note.reply").last).to_contain_text(
        "Sent to the team: your response on #1"
    )
    await expect(answer.get_by_role("button", name="Respond to this decision")).to_have_count(0)
    await expect(answer).to_contain_text("You said")
    await carol.screenshot(path=SHOTS / "03-carol-responded-once.png", full_page=True)
    await expect(lead.locator("#messages")).to_contain_text(
        "Could coaching move to mornings instead?"
    )

    # The meeting self-check, answered from the agenda's button
    await open_as(lead, live, "alice", "team:lincoln")
    box = lead.get_by_label(re.compile("Write in # Lincoln"))
    await box.fill("agenda")
    await box.press("Enter")
    agenda = lead.locator("#messages li.msg").filter(has_text="Standing agenda")
    await agenda.last.get_by_role("button", name="Answer the meeting self-check").click()
    await lead.get_by_label("Was this a good use of our time?").select_option("4")
    await lead.get_by_label("Is every task tracked with an owner and a date?").select_option("3")
    await lead.get_by_label("Did we do what we said we would last time?").select_option("5")
    await lead.get_by_label("Anything to add? (optional)").fill("We ran ten minutes late")
    await lead.screenshot(path=SHOTS / "04-self-check-form.png", full_page=True)
    await lead.locator("#panel").get_by_role("button", name="Send", exact=True).click()
    await expect(lead.locator("#messages li.note.reply").last).to_contain_text(
        "your self-check for Lincoln Elementary Implementation Team is recorded"
    )
    await lead.screenshot(path=SHOTS / "05-self-check-recorded.png", full_page=True)
