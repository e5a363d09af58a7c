import pytest

from apps.core.testing import browser


def test_missing_chromium_gives_a_reason_that_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(browser, "CHROMIUM_PATH", str(tmp_path / "no-chromium"))
    reason = browser.browser_unavailable_reason()
    assert reason is not None
    assert "apt-get install chromium" in reason and str(tmp_path / "no-chromium") in reason


def test_launch_arguments_keep_the_browser_off_the_network_and_runnable_as_root():
    for flag in ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"):
        assert flag in browser.LAUNCH_ARGS
    assert browser.VIEWPORT == {"width": 1366, "height": 768}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_page_fixture_reaches_the_live_server_and_its_static_files(page):
    response = page.goto("/accounts/login/")
    assert response.status == 200
    assert page.title() == "Log in · Migrayt"
    # Pico's stylesheet loaded from our static files (a styled button is not the browser default).
    background = page.locator("main button[type=submit]").evaluate("b => getComputedStyle(b).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "rgb(239, 239, 239)", "rgb(240, 240, 240)")
