"""Browser fixtures: a real headless Chromium (Debian's) driven through Playwright's async API.

Every page is watched for console errors and uncaught exceptions, CSP violations included: a test
fails if the page logged any.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Response, async_playwright

from tests.support import UNIT, ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
WAIT_MS = 10_000 * UNIT  # the longest any page state may take to appear


@dataclass
class PageErrors:
    messages: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(p.search(m) for p in self.allowed)]

    def watch(self, page: Page) -> None:
        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                self.messages.append(f"console: {msg.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.messages.append(f"pageerror: {exc}"))
        page.on("response", self.on_response)

    def on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.messages.append(f"HTTP {response.status}: {response.url}")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


NewPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def new_page(browser: Browser) -> AsyncIterator[NewPage]:
    """`await new_page(base_url, viewport=PHONE)`: a page in a context of its own (its own storage,
    so its own anonymous member). Fails the test afterwards if the page logged an error."""
    contexts: list[BrowserContext] = []
    errors = PageErrors()

    async def make(base_url: str, viewport: dict[str, int] | None = None, **options: object) -> Page:
        context = await browser.new_context(base_url=base_url, viewport=viewport or PHONE, **options)  # type: ignore[arg-type]
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = await context.new_page()
        errors.watch(page)
        _errors[id(page)] = errors
        return page

    yield make
    for context in contexts:
        await context.close()
    assert not errors.unexpected(), errors.unexpected()


_errors: dict[int, PageErrors] = {}


def allow_errors(page: Page, pattern: str) -> None:
    """Let this test's pages log errors matching `pattern` (a regular expression): an HTTP error the
    test provokes on purpose (a wrong password), and the console line Chromium logs for it."""
    _errors[id(page)].allowed.append(re.compile(pattern))


async def open_app(page: Page, path: str = "/") -> None:
    """Load the page and wait until it has a session, the room list, and a welcomed connection."""
    await page.goto(path)
    await page.wait_for_selector("body[data-ready='true'][data-state='connected']")


async def enter_room(page: Page, room: str) -> None:
    await page.click(f"#rooms button[data-room='{room}']")
    await page.wait_for_selector(f"body[data-joined='{room}']")


async def say(page: Page, text: str) -> None:
    """Type and send a message, and wait until the server has acknowledged it."""
    await page.fill("#text", text)
    await page.press("#text", "Enter")
    await page.wait_for_selector("#outbox li", state="detached")


async def texts(page: Page) -> list[str]:
    return await page.eval_on_selector_all("#messages li.msg .text", "nodes => nodes.map(n => n.textContent)")


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of this test's own with the default rooms (server/rooms.toml), as a deployment has them."""
    proc = ServerProcess(tmp_path / "data").start()
    yield proc
    proc.stop()
