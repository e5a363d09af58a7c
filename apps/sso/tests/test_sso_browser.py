"""Single sign-on in a real browser against the sandbox's OpenID Connect provider."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from apps.core.testing.browser import screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def test_sso_log_in_in_the_browser(page, sso, organisation, member):
    page.goto("/sso/")
    page.get_by_label("Work e-mail or organisation sign-in name").fill(member.email)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sign in to continue to Migrayt")
    page.get_by_label("E-mail").fill(member.email)
    screenshot(page, "sso-provider-sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in to {organisation.name} with single sign-on.")).to_be_visible()
    expect(page.locator("#user-menu")).to_contain_text(member.display_name)
    screenshot(page, "sso-signed-in")


def test_sso_cancelled_in_the_browser(page, sso, member):
    page.goto(f"/sso/?organisation={member.email}")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#sso-error")).to_contain_text("You cancelled the sign-in at your identity provider")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
