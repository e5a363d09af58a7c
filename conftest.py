import pytest

from apps.core.testing.factories import MembershipFactory, OrganisationFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashers cost a few hundred milliseconds per password on purpose; tests make many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def organisation(db):
    return OrganisationFactory()


@pytest.fixture
def member(db, organisation):
    """A person who owns `organisation`."""
    return MembershipFactory(organisation=organisation).user


@pytest.fixture
def other_organisation(db):
    return OrganisationFactory(name="Other Co", slug="other-co")


@pytest.fixture
def outsider(db, other_organisation):
    """A person who belongs only to `other_organisation`."""
    return MembershipFactory(organisation=other_organisation).user


@pytest.fixture
def make_user(db):
    return UserFactory


@pytest.fixture
def page(live_server, monkeypatch):
    """A headless Chromium page (Playwright, Debian's Chromium) pointed at the live server; relative URLs
    work (`page.goto("/accounts/login/")`). Skips with the reason where Chromium or Playwright is missing.
    See apps/core/testing/browser.py."""
    from apps.core.testing.browser import browser_unavailable_reason, chromium_page

    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    # Playwright's sync API runs an event loop in this thread; Django would then refuse the test's own ORM
    # calls (SynchronousOnlyOperation). They are ordinary blocking calls here, so allow them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium_page(base_url=live_server.url) as browser_page:
        yield browser_page
        # While Playwright's loop runs, Django keeps this thread's connections apart (asgiref's Local is
        # context-aware); close them here, or PostgreSQL cannot drop the test database at the end.
        from django.db import connections

        connections.close_all()
