"""Similar barriers in the playground and the dashboard, in headless Chromium.

Ivan (Washington) and then Carol (Lincoln, anonymously) report the same barrier in their own
words: Carol is offered to add her voice and does; Alice sees "Similar: #1" on the Lincoln card
with Merge and Link; Dana types `clusters`, answers the cluster in one form; Carol's page shows
the answer; the dashboard lists the cluster. Screenshots in test-artifacts/browser/.
"""

from __future__ import annotations

from playwright.async_api import expect

from tests.test_browser import (  # noqa: F401 - the fixture and marks of the browser tests
    SHOTS,
    Live,
    assert_accessible_names,
    card,
    new_page,
    open_as,
    pytestmark,
)
from tests.test_browser import live as live

ANSWER = "Substitute PD day on 4 December, paid, for every building"


async def report(page, text: str, anonymous: bool = False) -> None:  # type: ignore[no-untyped-def]
    await page.get_by_role("button", name="Report a barrier").click()
    await page.get_by_label("What is getting in the way?").fill(text)
    if anonymous:
        await page.get_by_role("checkbox", name="Hide my name").check()
    await page.get_by_role("button", name="Send to my team").click()
    await expect(page.locator("#messages li.note.reply").last).to_contain_text("Thanks")
    await expect(page.locator("#panel form")).to_have_count(0, timeout=15_000)


async def test_similar_barriers_by_clicks(live: Live) -> None:
    ivan = await new_page(live)
    await open_as(ivan, live, "ivan")
    await report(ivan, "Substitutes are not trained in the new reading curriculum")

    carol = await new_page(live)
    await open_as(carol, live, "carol")
    await report(
        carol,
        "Subs don't know how to run the literacy lessons, so kids lose the reading block",
        anonymous=True,
    )
    offer = carol.locator("#messages li.msg").filter(has_text="looks like #1")
    await expect(offer).to_have_count(1)
    await expect(offer).to_contain_text("still without your name")
    await carol.screenshot(path=SHOTS / "11-similar-offer.png", full_page=True)
    await offer.get_by_role("button", name="Add my voice to #1").click()
    await expect(carol.locator("#messages li.note.reply").last).to_contain_text(
        "Your voice is added to #1"
    )
    await assert_accessible_names(carol)

    alice = await new_page(live)
    await open_as(alice, live, "alice", "team:lincoln")
    lincoln = card(alice, "Barrier #2")
    await expect(lincoln).to_contain_text("Linked to")
    await expect(lincoln).to_contain_text("#1 (Washington Middle School Implementation Team)")
    await expect(lincoln).to_contain_text("Anonymous")
    await expect(lincoln.get_by_role("button", name="Merge into #1")).to_have_count(1)
    await alice.screenshot(path=SHOTS / "12-similar-card.png", full_page=True)

    washington = await new_page(live)
    await open_as(washington, live, "hana", "team:washington")
    first = card(washington, "Barrier #1")
    await expect(first).to_contain_text("Also raised by")
    await expect(first).to_contain_text("1 more person (Lincoln Elementary Implementation Team)")
    await expect(first).not_to_contain_text("Carol")

    dana = await new_page(live)
    await open_as(dana, live, "dana")
    box = dana.get_by_label("Write to Looplink")
    await box.fill("clusters")
    await box.press("Enter")
    listing = dana.locator("#messages li.msg").filter(
        has_text="Similar barriers across the teams below Riverside"
    )
    await expect(listing).to_contain_text("2 buildings, 2 people")
    await dana.screenshot(path=SHOTS / "13-clusters.png", full_page=True)
    await listing.get_by_role("button", name="Respond to all 2 (#1 …)").click()
    await dana.get_by_label(
        "Your response (it goes to every team these passed and every reporter)"
    ).fill(ANSWER)
    await dana.get_by_role("button", name="Send to all").click()
    await expect(dana.locator("#messages li.note.reply").last).to_contain_text("Resolved 2 items")
    await assert_accessible_names(dana)
    await dana.screenshot(path=SHOTS / "14-cluster-answered.png", full_page=True)

    await expect(carol.locator("#messages li.msg").filter(has_text=ANSWER)).to_have_count(1)
    await expect(ivan.locator("#messages li.msg").filter(has_text=ANSWER)).to_have_count(1)
    await carol.screenshot(path=SHOTS / "15-carol-heard.png", full_page=True)

    # a fresh pair for the dashboard (the first cluster is answered)
    await report(ivan, "Buses arrive late so students miss the start of intervention")
    await report(carol, "Late buses every morning mean kids miss the first-period small groups")
    await dana.goto(f"{live.url}/dashboard#clusters")
    row = dana.locator("table.clusters tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("2 buildings")
    await expect(row).to_contain_text("#3")
    await expect(row).to_contain_text("#4")
    await assert_accessible_names(dana)
    await dana.locator("#clusters").screenshot(path=SHOTS / "16-dashboard-clusters.png")
