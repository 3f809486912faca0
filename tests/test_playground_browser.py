"""The playground in a real browser (PRODUCT.md §7.1): headless Chromium from the
machine's own packages (/usr/bin/chromium, installed by .ci/run), driven by
Playwright; never a downloaded browser. Each test starts a fresh playground (the
real bot, its scheduler and Outbox worker, the local Slack) and clicks through
what a new team would try first. Screenshots of every step go to
build/playground-screenshots/<test>/."""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

from bot.runner import Playground  # noqa: E402
from tests.playground_tour import sent_blocks, tour  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parent.parent / "build" / "playground-screenshots"
WAIT_MS = 20_000  # generous: the machine may be busy; a wait ends as soon as the page shows it
MAYA, LEO, SAM, DANA = "UCSM01", "UCSM02", "UCSM04", "UDIR01"  # bot/playground/team.py

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM} (.ci/run installs the chromium package)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


class Session:
    """One person at the page: what they type and click, and a screenshot per step."""

    def __init__(self, page: object, playground: Playground, name: str) -> None:
        self.page = page
        self.pg = playground
        self.dir = SHOTS / name
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.n = 0
        self.requests: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))  # type: ignore[attr-defined]

    def open(self, user: str, channel: str) -> None:
        self.page.goto(f"{self.pg.page_url}?as={user}&c={channel}")  # type: ignore[attr-defined]
        self.page.wait_for_selector("#channel-header:not(:empty)", timeout=WAIT_MS)  # type: ignore[attr-defined]

    def be(self, user: str) -> None:
        self.page.select_option("#you", user)  # type: ignore[attr-defined]

    def go(self, channel_name: str) -> None:
        self.page.click(f".chan:has-text('{channel_name}')")  # type: ignore[attr-defined]

    def type(self, text: str) -> None:
        self.page.fill("#composer-input", text)  # type: ignore[attr-defined]
        self.page.press("#composer-input", "Enter")  # type: ignore[attr-defined]

    def see(self, selector: str, text: str | None = None) -> object:
        loc = self.page.locator(selector)  # type: ignore[attr-defined]
        if text is not None:
            loc = loc.filter(has_text=text)
        loc.first.wait_for(timeout=WAIT_MS)
        return loc.first

    def shot(self, step: str) -> Path:
        """A screenshot of this step; the page must have drawn every block it was given."""
        self.n += 1
        path = self.dir / f"{self.n:02d}-{step}.png"
        self.page.screenshot(path=str(path))  # type: ignore[attr-defined]
        unknown = self.page.locator(".bk-unknown").all_inner_texts()  # type: ignore[attr-defined]
        assert not unknown, f"the page could not draw: {unknown}"
        return path


@pytest.fixture
def person(browser: object, playground: Playground, request: pytest.FixtureRequest) -> Iterator[Session]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        yield Session(page, playground, request.node.name)
    finally:
        context.close()


def test_log_a_touchpoint_then_undo_it(person: Session) -> None:
    person.open(MAYA, "CGENERAL")
    person.type("/cs log Northwind call yesterday walked finance through the export fix +")
    confirmation = person.see(".msg.ephemeral", "Logged a touchpoint")
    assert "Northwind Traders" in confirmation.inner_text()  # type: ignore[attr-defined]
    person.shot("logged")
    confirmation.locator("button", has_text="Undo").click()  # type: ignore[attr-defined]
    person.see(".msg.ephemeral", "Undone")
    person.shot("undone")
    person.type("/cs account Northwind")
    card = person.see(".msg.ephemeral", "Northwind Traders")
    assert "walked finance through the export fix" not in card.inner_text()  # type: ignore[attr-defined]
    person.shot("card-without-it")


def test_escalation_acknowledged_by_its_owner_and_a_missed_sla_pages_the_manager(person: Session) -> None:
    person.open(MAYA, "CGENERAL")
    person.type("/cs escalate Northwind sev1 @leo Exports failing for the finance team")
    person.see(".msg.ephemeral", "Northwind Traders")
    person.type("/cs escalate Stark sev1 @sam Dashboards down since the upgrade")
    person.see(".msg.ephemeral", "Stark Logistics")
    person.shot("opened")

    person.be(LEO)
    person.go("cs-escalations")
    parent = person.see(".msg", "Exports failing for the finance team")
    person.shot("parent-as-owner")
    parent.locator("button", has_text="Acknowledge").click()  # type: ignore[attr-defined]
    changed = person.see(".msg:has(.edited)", "Exports failing for the finance team")
    assert "Acknowledged" in changed.inner_text()  # type: ignore[attr-defined]
    assert changed.locator("button", has_text="Acknowledge").count() == 0  # type: ignore[attr-defined]
    person.shot("acknowledged")

    # Sam never acknowledges Stark: an hour later his manager Dana is paged in its thread.
    person.page.click("#clock button[data-step='hour']")  # type: ignore[attr-defined]
    person.see("#clock-status", "Now")
    stark = person.see(".msg", "Dashboards down since the upgrade")
    stark.locator(".thread-link").click()  # type: ignore[attr-defined]
    page = person.see("#thread .msg", "paging @dana")
    assert "still the owner" in page.inner_text()  # type: ignore[attr-defined]
    person.shot("manager-paged")


def test_home_tab_as_a_csm_and_as_the_director(person: Session) -> None:
    person.open(MAYA, "home")
    desk = person.see(".home", "Your desk")
    assert "Stark Logistics" in desk.inner_text()  # type: ignore[attr-defined]  # Maya's account at risk
    person.shot("home-csm")
    person.be(DANA)
    team = person.see(".home", "Your team today")
    assert "At-risk ARR by CSM" in team.inner_text()  # type: ignore[attr-defined]
    assert person.pg.fake.home_tabs[DANA]["type"] == "home"
    person.shot("home-director")


def test_empty_log_form_shows_the_inline_error(person: Session) -> None:
    person.open(MAYA, "CGENERAL")
    person.type("/cs log")
    modal = person.see(".modal", "Log a touchpoint")
    person.shot("form")
    modal.locator(".modal-submit").click()  # type: ignore[attr-defined]
    error = person.see(".modal .bk-error")
    assert error.inner_text().strip()  # type: ignore[attr-defined]
    person.shot("inline-error")


def test_log_as_touchpoint_on_a_customer_message(person: Session) -> None:
    person.open(MAYA, "CACMESHARED")
    message = person.see(".msg", "reporting exports")
    message.hover()  # type: ignore[attr-defined]
    message.locator(".msg-menu").click()  # type: ignore[attr-defined]
    modal = person.see(".modal", "Log a touchpoint")
    note = modal.locator("textarea")  # type: ignore[attr-defined]
    assert "reporting exports" in note.input_value()
    person.shot("prefilled")
    # The account picker searches the bot (block_suggestion) as the person types.
    modal.locator(".bk-search").fill("Northw")  # type: ignore[attr-defined]
    account = modal.locator("[data-block-id='log_account_block'] select")  # type: ignore[attr-defined]
    account.locator("option", has_text="Northwind Traders").wait_for(state="attached", timeout=WAIT_MS)
    account.select_option(label="Northwind Traders")
    modal.locator("[data-block-id='log_type_block'] select").select_option("email")  # type: ignore[attr-defined]
    modal.locator(".modal-submit").click()  # type: ignore[attr-defined]
    person.see(".msg.ephemeral", "Logged a touchpoint")
    person.shot("logged-from-the-message")


def test_nothing_leaves_this_machine(
    browser: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Every connection the playground's process opens goes to 127.0.0.1 (the bot's Web API
    base URL is the local fake), and the browser only ever asks 127.0.0.1."""
    opened: list[object] = []
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        opened.append(address)
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    pg = Playground(tmp_path, port=0, fresh=True).start()  # a real fresh start, under watch
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    try:
        person = Session(context.new_page(), pg, request.node.name)
        person.open(MAYA, "CALERTS")
        person.see(".msg", "newly at risk")
        person.type("/cs escalate Northwind sev2 @leo exports failing")
        person.see(".msg.ephemeral", "Northwind Traders")
        person.page.click("#clock button[data-step='day']")  # type: ignore[attr-defined]
        person.see("#clock-status", "Now")
        person.shot("after-a-day")
        response = person.page.request.get(pg.page_url)  # type: ignore[attr-defined]
        assert re.search(r"default-src 'self'", response.headers["content-security-policy"])
        hosts = {urlsplit(u).hostname for u in person.requests if not u.startswith(("data:", "about:"))}
        assert hosts == {"127.0.0.1"}
        assert urlsplit(pg.settings.slack_api_url).hostname == "127.0.0.1"
        assert pg.deps.client.base_url == pg.fake.api_url
        assert pg.fake.calls_to("chat.postMessage"), "the bot posted, to the local Slack"
    finally:
        context.close()
        pg.stop()
    assert opened, "the bot's own HTTP calls were seen"
    assert {addr[0] for addr in opened if isinstance(addr, tuple)} <= {"127.0.0.1", "::1"}


def test_the_page_draws_every_block_the_bot_sent_on_a_tour(person: Session) -> None:
    """Each block and element the bot sent on a tour of its surfaces, drawn by the page's
    own script: nothing comes out as an unsupported box."""
    tour(person.pg)
    outputs = sent_blocks(person.pg)
    assert len(outputs) >= 15
    person.open(MAYA, "CGENERAL")
    unknown = person.page.evaluate(  # type: ignore[attr-defined]
        """(outputs) => {
            const ctx = {names: {}, people: [], onAction: () => {}, onOptions: () => {}};
            const box = document.createElement("div");
            for (const blocks of outputs) box.appendChild(BK.blocks(blocks, ctx));
            return [...box.querySelectorAll(".bk-unknown")].map((n) => n.textContent);
        }""",
        outputs,
    )
    assert unknown == []


def test_log_touchpoint_from_an_alert_through_the_form(person: Session) -> None:
    person.open(MAYA, "CALERTS")
    alert = person.see(".msg", "newly at risk")
    alert.locator("button", has_text="Log touchpoint").first.click()  # type: ignore[attr-defined]
    modal = person.see(".modal", "Log a touchpoint")
    account = modal.locator("[data-block-id='log_account_block'] select")  # type: ignore[attr-defined]
    assert account.locator("option:checked").inner_text().strip()  # the alert's account is chosen
    modal.locator("[data-block-id='log_type_block'] select").select_option("qbr")  # type: ignore[attr-defined]
    modal.locator("textarea").fill("Agreed a recovery plan with their VP")  # type: ignore[attr-defined]
    person.shot("filled")
    modal.locator(".modal-submit").click()  # type: ignore[attr-defined]
    person.page.wait_for_selector("#modal-layer", state="hidden", timeout=WAIT_MS)  # type: ignore[attr-defined]
    assert person.pg.fake.wait_for(
        lambda: (
            any(
                "Agreed a recovery plan" in str(c.args) for c in person.pg.fake.calls_to("chat.postEphemeral")
            )
            or any("Agreed a recovery plan" in str(e.blocks) for e in person.pg.workspace.ephemerals)
        ),
        timeout=5,
    )
    person.see(".msg.ephemeral", "Agreed a recovery plan")
    person.shot("confirmed")


def test_next_monday_the_digest_is_in_the_leadership_channel_with_its_chart(person: Session) -> None:
    person.open(DANA, "CLEADERS")
    # Monday's run of this week was missed before the playground started: last week's is there already.
    person.see(".msg", "Weekly digest · 2026-W46")
    person.page.click("#clock button[data-step='monday']")  # type: ignore[attr-defined]
    person.see("#clock-status", "Now")
    digest = person.see(".msg", "Weekly digest · 2026-W47")
    assert "Gross revenue retention" in digest.inner_text()  # type: ignore[attr-defined]
    person.shot("digest")
    digest.locator(".thread-link").click()  # type: ignore[attr-defined]
    chart = person.see("#thread img.file-img")
    person.page.wait_for_function(  # type: ignore[attr-defined]
        "() => [...document.querySelectorAll('#thread img.file-img')]"
        ".some((i) => i.complete && i.naturalWidth > 0)",
        timeout=WAIT_MS,
    )
    assert urlsplit(chart.get_attribute("src") or "").hostname in (None, "127.0.0.1")  # type: ignore[attr-defined]
    chart.scroll_into_view_if_needed()  # type: ignore[attr-defined]
    person.shot("chart-in-thread")
