"""The review console in a real headless Chromium against a real ``signoff serve`` process.

One server and one browser for the module; the tests run in file order and share the seeded
workspace (the review clocks of the first test run while the later ones work).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from signoff.bootstrap import build
from signoff.config import load_settings
from signoff.services import identities
from signoff.testing import FakeClock
from tests.conftest import ADMIN, make_world, prepare
from tests.e2e.console_workspace import Live, history, start, submit, wait_for_status

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "correct horse battery staple"
# Screenshots go to a scratch folder so a test run leaves the tree clean; refresh the README's
# pictures with SIGNOFF_SCREENSHOT_DIR=docs/img python -m pytest tests/e2e/test_console_browser.py
IMG = Path(os.environ.get("SIGNOFF_SCREENSHOT_DIR")
           or Path(tempfile.gettempdir()) / "signoff-screenshots")

HOSTILE_SUMMARY = (
    '<script>window.__pwned = 1; alert("script")</script>'
    '<img src=x onerror="window.__pwned = 2; alert(2)">'
    '<a href="javascript:window.__pwned = 3">click me</a>'
    '<svg onload="window.__pwned = 4"></svg>'
    '" onmouseover="window.__pwned = 5" x="'
    " Pay the invoice\u202egnp.exe now. "
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("SIGNOFF_REQUIRE_BROWSER"):  # CI: the browser tests must run
            pytest.fail("SIGNOFF_REQUIRE_BROWSER is set but /usr/bin/chromium is missing")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    data_dir = tmp_path_factory.mktemp("console") / "data"
    url = f"sqlite:///{data_dir.parent / 'signoff.db'}"
    prepare(data_dir, url)
    # Two days of history on a hand-moved clock, so the dashboard has something to measure.
    app = build(load_settings(data_dir=data_dir, database_url=url),
                clock=FakeClock(datetime.now(UTC) - timedelta(days=2)))
    try:
        world = make_world(app)
        for p in (world.owner, world.rita, world.sid, world.agent_owner):
            identities.update_user(app.ctx, ADMIN, p.id, password=PASSWORD)
        identities.create_user(app.ctx, ADMIN, email="ada@example.com", name="Ada Admin",
                               roles=["admin", "auditor"], password=PASSWORD)
        _, mail_token = identities.create_agent(
            app.ctx, ADMIN, name="mail-bot", owner_email="ash@example.com",
            scopes={"workflows": ["prod-deploys"], "kinds": ["email.*", "draft.*"]})
        forgotten = history(app, world)
    finally:
        app.close()
    server = start(data_dir, url)
    live = Live(server=server, db_url=url, agent_token=world.agent_token, mail_token=mail_token)
    try:
        wait_for_status(live, forgotten, "expired")   # the sweeper's first pass is done
        live.ids["deploy"] = submit(
            live, world.agent_token, workflow="prod-deploys", kind="deploy.release",
            target="prod/api", params={"version": "2.4.1", "replicas": 6},
            summary="Release api 2.4.1 to prod/api with 6 replicas.",
            inputs=[{"source": "ci", "ref": "build-981", "excerpt": "all 412 tests passed"}],
            impact={"reversible": True, "external": True,
                    "description": "customers see the new version"})["id"]
        live.ids["iam"] = submit(
            live, world.agent_token, workflow="prod-deploys", kind="iam.grant",
            target="role/prod-admin", params={"user": "eve@example.com", "role": "admin"},
            summary="Grant bob@example.com the prod-admin role.")["id"]
        live.ids["secret"] = submit(
            live, world.agent_token, workflow="prod-deploys", kind="secrets.rotate",
            target="vault/db-password", params={"path": "vault/db-password"},
            summary="Rotate the database password.")["id"]
        live.ids["mail"] = submit(
            live, mail_token, workflow="prod-deploys", kind="email.send",
            target="customers", params={"template": "outage", "count": 1200},
            summary="Tell customers about the outage.")["id"]
        sampled = submit(live, world.agent_token, workflow="prod-deploys", kind="draft.note",
                          target="wiki/notes", params={"text": "release notes"},
                          summary="Draft the release notes.")
        live.ids["sampled"] = sampled["id"]
        engine = sa.create_engine(url)
        with engine.begin() as conn:   # pick it for post-action review (a 2 % sample)
            conn.execute(sa.text("UPDATE actions SET post_review = 1 WHERE id = :id"),
                         {"id": sampled["id"]})
        engine.dispose()
        yield live
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(live: Live) -> Iterator[Any]:
    with playwright_sync.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def pages(live: Live, browser: Any) -> dict[str, Any]:
    return {}


def _page(browser: Any, pages: dict[str, Any], live: Live, email: str) -> Any:
    if email in pages:
        return pages[email]
    page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    page.set_default_timeout(90_000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    page.goto(live.server.url + "/console/inbox")
    assert "/console/login" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/inbox")
    pages[email] = page
    return page


def test_sign_in_refuses_a_wrong_password_then_opens_the_inbox(live: Live, browser: Any,
                                                                pages: dict[str, Any]) -> None:
    page = browser.new_context().new_page()
    page.set_default_timeout(90_000)
    page.goto(live.server.url + "/console/login")
    page.fill("input[name=email]", "rita@example.com")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert "email or password is wrong" in page.locator(".alert.bad").inner_text()
    cookies = page.context.cookies()
    assert not any(c["name"] == "signoff_session" for c in cookies)
    page.context.close()

    rita = _page(browser, pages, live, "rita@example.com")
    session = next(c for c in rita.context.cookies() if c["name"] == "signoff_session")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    rows = rita.locator("table.inbox tbody tr")
    assert rows.count() == 4
    assert "critical" in rows.nth(0).inner_text()          # most urgent first
    assert rita.locator("#count-pending").inner_text() == "4"
    assert rita.locator("#count-post").inner_text() == "1"
    high = rita.locator("table.inbox tbody tr .tier-high").count()
    assert high >= 1
    rita.select_option("select[name=tier]", "high")
    rita.click(".filters button")
    assert rita.locator("table.inbox tbody tr").count() == high
    rita.goto(live.server.url + "/console/inbox")
    IMG.mkdir(parents=True, exist_ok=True)
    rita.screenshot(path=str(IMG / "console-inbox.png"), full_page=True)
    # Open everything rita will decide, so the server's review clocks start now.
    sid = _page(browser, pages, live, "sid@example.com")
    for who, key in ((rita, "deploy"), (rita, "iam"), (rita, "secret"), (sid, "secret")):
        who.goto(f"{live.server.url}/console/actions/{live.ids[key]}")
    live.started = time.monotonic()   # every review clock started before this instant


def test_approving_before_the_countdown_is_refused_by_the_server(
        live: Live, browser: Any, pages: dict[str, Any]) -> None:
    rita = _page(browser, pages, live, "rita@example.com")
    rita.goto(f"{live.server.url}/console/actions/{live.ids['deploy']}")
    countdown = rita.locator("#countdown")
    assert "you may decide in" in countdown.inner_text()
    assert int(countdown.get_attribute("data-seconds-left")) > 0
    rita.fill("textarea[name=rationale]", "CI is green and the change is small.")
    rita.click("#approve")
    error = rita.locator("#decision-error")
    assert "review for at least 15s" in error.inner_text()
    assert "seconds left" in error.inner_text()
    assert "Approving meets the quorum" in rita.locator(".effect").inner_text()


def test_post_action_review_flag_reaches_the_owner_dashboard(
        live: Live, browser: Any, pages: dict[str, Any]) -> None:
    rita = _page(browser, pages, live, "rita@example.com")
    rita.goto(live.server.url + "/console/post-review")
    card = rita.locator(f"#post-{live.ids['sampled']}")
    card.locator("input[name=note]").fill("notes mention an unreleased feature")
    card.locator("button[value=flag]").click()
    assert "flag" in rita.locator("#post-done").inner_text()
    assert rita.locator(f"#post-{live.ids['sampled']}").count() == 0


def test_suspend_an_agent_with_confirmation(live: Live, browser: Any,
                                            pages: dict[str, Any]) -> None:
    ash = _page(browser, pages, live, "ash@example.com")
    ash.goto(f"{live.server.url}/console/actions/{live.ids['mail']}")
    ash.click("#suspend-link")
    assert "Suspend agent mail-bot?" in ash.locator("h1").inner_text()
    assert "1 pending action" in ash.locator("main").inner_text()
    ash.fill("input[name=reason]", "sending to the wrong list")
    ash.click("#confirm-suspend")
    assert "1 pending action(s) cancelled" in ash.locator("#suspended").inner_text()
    r = httpx.get(f"{live.server.url}/v1/actions/{live.ids['mail']}",
                  headers={"Authorization": f"Bearer {live.mail_token}"})
    assert r.json()["status"] == "cancelled"


def _wait_for_countdown(page: Any) -> None:
    """Sleep through the review time the server still asks of this reviewer (the tier's)."""
    countdown = page.locator("#countdown")
    time.sleep(int(countdown.get_attribute("data-seconds-left") or 0) + 1)
    page.reload()


def _wait_until(live: Live, seconds: float) -> None:
    left = live.started + seconds - time.monotonic()
    if left > 0:
        time.sleep(left)


def test_approve_with_rationale_issues_the_grant(live: Live, browser: Any,
                                                 pages: dict[str, Any]) -> None:
    _wait_until(live, 16)
    rita = _page(browser, pages, live, "rita@example.com")
    rita.goto(f"{live.server.url}/console/actions/{live.ids['deploy']}")
    rita.fill("textarea[name=rationale]", "CI is green and the change is small.")
    rita.click("#approve")
    done = rita.locator("#decision-done").inner_text()
    assert "quorum is met" in done and "grant was issued" in done
    assert "issued" in rita.locator("#grant").inner_text()
    assert "1 of 1" in rita.locator("#quorum").inner_text()
    rita.screenshot(path=str(IMG / "console-action.png"), full_page=False)


def test_reject_another(live: Live, browser: Any, pages: dict[str, Any]) -> None:
    rita = _page(browser, pages, live, "rita@example.com")
    rita.goto(f"{live.server.url}/console/actions/{live.ids['iam']}")
    assert rita.locator("#mismatch-warning").count() == 1     # bob in summary, eve in params
    _wait_for_countdown(rita)
    rita.fill("textarea[name=rationale]", "The summary names bob, the payload eve.")
    rita.click("#reject")
    assert "rejected" in rita.locator("#decision-done").inner_text()


def test_critical_needs_two_and_shows_the_quorum(live: Live, browser: Any,
                                                 pages: dict[str, Any]) -> None:
    _wait_until(live, 31)
    url = f"{live.server.url}/console/actions/{live.ids['secret']}"
    rita = _page(browser, pages, live, "rita@example.com")
    rita.goto(url)
    rita.fill("textarea[name=rationale]", "Scheduled rotation, runbook followed.")
    rita.click("#approve")
    assert "still short by 1" in rita.locator("#decision-done").inner_text()
    assert "1 of 2" in rita.locator("#quorum").inner_text()
    sid = _page(browser, pages, live, "sid@example.com")
    sid.goto(url)
    sid.fill("textarea[name=rationale]", "Second pair of eyes: fine.")
    sid.click("#approve")
    assert "grant was issued" in sid.locator("#decision-done").inner_text()
    assert "2 of 2" in sid.locator("#quorum").inner_text()


def test_owner_dashboard_shows_flags_and_reviewers(live: Live, browser: Any,
                                                   pages: dict[str, Any]) -> None:
    olivia = _page(browser, pages, live, "olivia@example.com")
    olivia.goto(live.server.url + "/console/dashboard")
    text = olivia.locator("main").inner_text()
    assert "notes mention an unreleased feature" in text
    assert "rita@example.com" in text and "prod-deploys" in text
    assert olivia.locator("svg.chart rect").count() >= 1
    stamp = olivia.locator("#rubber-stamp").inner_text()       # sid approves in 16 s
    assert "sid@example.com approved 100% of 13 decisions" in stamp   # 12 + the critical one
    olivia.screenshot(path=str(IMG / "console-dashboard.png"), full_page=True)
    # The flag also reached olivia, the workflow's owner, as a notification.
    assert olivia.locator("#unread-notices").inner_text() == "1"
    olivia.click("#notices-link")
    row = olivia.locator("table.notices tr.unread")
    assert "notes mention an unreleased feature" in row.inner_text()
    row.locator("button.ack").click()
    assert olivia.locator("#ack-done").count() == 1
    assert olivia.locator("#unread-notices").count() == 0


def test_hostile_text_never_runs_and_is_flagged(live: Live, browser: Any,
                                                pages: dict[str, Any]) -> None:
    summary = HOSTILE_SUMMARY + "A" * 1_000_000
    params = {"note": "<script>window.__pwned = 6</script>",
              "link": "javascript:window.__pwned = 7",
              "html": '<img src=x onerror="window.__pwned = 8">',
              "name": "p\u0430ypal.com", "bidi": "abc\u202edef\u2066x\u2069",
              "zw": "a\u200bb", "big": "B" * 60_000}
    hostile = submit(live, live.agent_token, workflow="prod-deploys", kind="deploy.release",
                      target='prod/"><script>window.__pwned=9</script>', params=params,
                      summary=summary,
                      inputs=[{"source": "<b onclick=alert(1)>web</b>",
                               "ref": "javascript:alert(1)", "excerpt": "\u202eevil"}])
    rita = _page(browser, pages, live, "rita@example.com")
    rita.goto(live.server.url + "/console/inbox")
    assert rita.locator(".uc").count() >= 1                # the bidi mark in the preview
    rita.goto(f"{live.server.url}/console/actions/{hostile['id']}")
    response = httpx.get(f"{live.server.url}/console/login")
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert rita.evaluate("typeof window.__pwned") == "undefined"
    assert rita.dialogs == []
    assert rita.locator('a[href^="javascript:"]').count() == 0
    assert rita.locator("main script, main img, main svg[onload]").count() == 0
    banner = rita.locator("#hidden-warning").inner_text()
    assert "U+202E" in banner and "U+200B" in banner and "U+0430" in banner
    assert rita.locator("mark.uc").count() >= 5
    assert "⟦U+202E RIGHT-TO-LEFT OVERRIDE⟧" in rita.locator(".summary pre").inner_text()
    assert f"{len(summary):,} characters" in rita.locator(".summary .len").inner_text()
    shown = rita.evaluate("document.querySelector('.summary pre').textContent.length")
    assert shown >= 1_000_000                               # never silently cut
    assert "B" * 60_000 in rita.locator(".payload pre").inner_text()
    rita.screenshot(path=str(IMG / "console-hostile.png"), full_page=False)
    # Still usable: the decision form works and scrolling reaches the timeline.
    rita.fill("textarea[name=rationale]", "I will not approve hostile text.")
    rita.click("#reject")
    assert rita.locator("#decision-error, #decision-done").count() == 1
    rita.locator(".timeline").scroll_into_view_if_needed()
    assert rita.evaluate("typeof window.__pwned") == "undefined"
    assert rita.dialogs == []


def test_the_inbox_updates_live_when_work_arrives_and_another_reviewer_decides(
        live: Live, browser: Any, pages: dict[str, Any]) -> None:
    rita = _page(browser, pages, live, "rita@example.com")
    rita.goto(live.server.url + "/console/inbox")
    assert rita.locator("#live-status").inner_text() == "live"    # our script is running
    waiting = int(rita.locator("#count-pending").inner_text())
    new = submit(live, live.agent_token, workflow="prod-deploys", kind="deploy.release",
                  target="prod/web", params={"version": "7.0.0"}, summary="Release web 7.0.0.")
    link = f'table.inbox a[href="/console/actions/{new["id"]}"]'
    rita.wait_for_selector(link, timeout=20_000)               # no reload: the poll found it
    assert int(rita.locator("#count-pending").inner_text()) == waiting + 1
    sid = _page(browser, pages, live, "sid@example.com")
    sid.goto(f"{live.server.url}/console/actions/{new['id']}")
    time.sleep(16)                                             # sid's own review time
    sid.fill("textarea[name=rationale]", "Not during the release freeze.")
    sid.click("#reject")
    assert "rejected" in sid.locator("#decision-done").inner_text()
    rita.wait_for_selector(link, state="detached", timeout=20_000)   # gone from rita's list
    assert int(rita.locator("#count-pending").inner_text()) == waiting


def test_the_console_works_without_javascript(live: Live, browser: Any) -> None:
    new = submit(live, live.agent_token, workflow="prod-deploys", kind="deploy.release",
                  target="prod/nojs", params={"version": "1.0.0"}, summary="Release nojs.")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(live.server.url + "/console/inbox")
    page.fill("input[name=email]", "sid@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert page.url.endswith("/console/inbox")
    assert page.locator("#live-status").inner_text() == ""      # no script ran
    page.select_option("select[name=tier]", "high")
    page.click(".filters button")
    assert "tier=high" in page.url
    page.click(f'a[href="/console/actions/{new["id"]}"]')
    assert page.locator("#countdown .secs").inner_text() == "15"
    page.fill("textarea[name=rationale]", "Looks fine, approving.")
    page.click("#approve")
    assert "seconds left" in page.locator("#decision-error").inner_text()
    time.sleep(16)
    page.fill("textarea[name=rationale]", "Looks fine, approving.")
    page.click("#approve")
    assert "grant was issued" in page.locator("#decision-done").inner_text()
    page.click("form.signout button")
    assert "/console/login" in page.url
    context.close()


def test_sign_out_ends_the_session_on_the_server(live: Live, browser: Any,
                                                 pages: dict[str, Any]) -> None:
    rita = _page(browser, pages, live, "rita@example.com")
    copy = [c for c in rita.context.cookies() if c["name"] == "signoff_session"]
    rita.click("form.signout button")
    assert "/console/login" in rita.url
    thief = browser.new_context()
    thief.add_cookies(copy)                       # the cookie as it was before signing out
    page = thief.new_page()
    page.goto(live.server.url + "/console/inbox")
    assert "/console/login" in page.url
    thief.close()
    del pages["rita@example.com"]
