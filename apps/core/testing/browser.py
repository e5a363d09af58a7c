"""Browser tests: Playwright for Python driving Debian's Chromium against pytest-django's live server.

Playwright cannot download its own browsers here, so it launches the system Chromium (`apt-get install
chromium`) through `executable_path`. Each test gets a fresh user-data directory, so no cookie or cache
leaks from one test to the next. Use the `page` fixture (root conftest.py) and mark the test
`@pytest.mark.browser`; where Chromium or Playwright is missing the test is skipped with the reason.
"""

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

CHROMIUM_PATH = os.environ.get("MIGRAYT_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",  # no calls home: tests never reach a host outside this machine
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# A laptop screen: the layout must work here.
VIEWPORT = {"width": 1366, "height": 768}
DEFAULT_TIMEOUT_MS = 15_000


def browser_unavailable_reason() -> str | None:
    """Why browser tests cannot run on this machine, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -r requirements-dev.txt)."
    if not (os.path.isfile(CHROMIUM_PATH) and os.access(CHROMIUM_PATH, os.X_OK)):
        return f"Chromium is not installed at {CHROMIUM_PATH} (apt-get install chromium, or set MIGRAYT_CHROMIUM)."
    return None


@contextmanager
def chromium_page(*, base_url: str):
    """A Playwright page in a fresh headless Chromium profile, its relative URLs resolved against base_url."""
    from playwright.sync_api import sync_playwright

    user_data_dir = tempfile.mkdtemp(prefix="migrayt-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                user_data_dir,
                executable_path=CHROMIUM_PATH,
                headless=True,
                args=LAUNCH_ARGS,
                viewport=VIEWPORT,
                base_url=base_url,
                locale="en-GB",
                timezone_id="UTC",
            )
            context.set_default_timeout(DEFAULT_TIMEOUT_MS)
            try:
                page = context.pages[0] if context.pages else context.new_page()
                yield page
            finally:
                context.close()
    finally:
        shutil.rmtree(user_data_dir, ignore_errors=True)


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under var/screenshots/ (for a person to look at; never compared)."""
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
