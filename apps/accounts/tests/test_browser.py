"""The first steps of a new customer, in a real browser: sign up, log in, switch organisation."""

import re

import pytest
from playwright.sync_api import expect

from apps.accounts.models import Membership, User
from apps.accounts.selectors import api_token_find_active
from apps.core.testing.browser import screenshot
from apps.core.testing.factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def log_in(page, email: str, password: str):
    page.goto("/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("main").get_by_role("button", name="Log in").click()


def test_sign_up_creates_the_account_and_organisation_and_signs_in(page):
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Work e-mail").fill("ada@example.test")
    page.get_by_label("Organisation").fill("Analytical Engines")
    page.get_by_label("Password").fill("too-short")
    page.locator("main").get_by_role("button", name="Sign up").click()
    # A weak password is refused next to the field, and what was typed is kept.
    expect(page.locator("small.field-error")).to_contain_text("too short")
    expect(page.get_by_label("Work e-mail")).to_have_value("ada@example.test")
    assert not User.objects.filter(email="ada@example.test").exists()

    page.get_by_label("Password").fill("a-much-longer-passphrase")
    page.locator("main").get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Analytical Engines")
    expect(page.locator("#org-switcher summary")).to_contain_text("Analytical Engines")
    expect(page.get_by_role("status")).to_contain_text("Welcome to Migrayt")
    user = User.objects.get(email="ada@example.test")
    assert Membership.unscoped.get(user=user).role == Membership.Role.OWNER
    screenshot(page, "home-after-sign-up")


def test_log_in_and_a_wrong_password_shows_an_error(page):
    membership = MembershipFactory(organisation=OrganisationFactory(name="Contoso"))
    email = membership.user.email

    log_in(page, email, "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("correct e-mail")
    assert page.url.endswith("/accounts/login/")

    log_in(page, email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Contoso")
    page.locator("#user-menu summary").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.goto("/accounts/tokens/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/accounts/tokens/$"))


def test_switch_organisation_from_the_header(page):
    user = UserFactory()
    MembershipFactory(user=user, organisation=OrganisationFactory(name="Alpha Ltd", slug="alpha"))
    MembershipFactory(
        user=user, organisation=OrganisationFactory(name="Beta GmbH", slug="beta"), role=Membership.Role.MEMBER
    )

    log_in(page, user.email, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Ltd")
    page.locator("#org-switcher summary").click()
    page.locator('[data-switch-to="beta"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Beta GmbH")
    expect(page.get_by_role("status")).to_contain_text("Switched to Beta GmbH")
    # The choice sticks for the session.
    page.goto("/accounts/members/")
    expect(page.locator("#org-switcher summary")).to_contain_text("Beta GmbH")
    screenshot(page, "members-as-member")


def test_an_owner_manages_members_from_the_members_page(page):
    owner = UserFactory(email="owner@example.test", full_name="Olive Owner")
    organisation = OrganisationFactory(name="Fabrikam")
    MembershipFactory(user=owner, organisation=organisation)
    newcomer = UserFactory(email="newcomer@example.test", full_name="Nina Newcomer")

    log_in(page, owner.email, PASSWORD)
    page.locator("#org-switcher summary").click()
    page.get_by_role("link", name="Members").click()

    # Someone who never signed up cannot be added, and the page says why.
    page.get_by_label("E-mail").fill("stranger@example.test")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator("small.field-error")).to_contain_text("No one has signed up with that e-mail")

    page.get_by_label("E-mail").fill("newcomer@example.test")
    page.locator("main form.narrow-form select").select_option("admin")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_contain_text("Added newcomer@example.test as admin")
    row = page.locator('tr[data-member="newcomer@example.test"]')
    expect(row.get_by_label("Role of newcomer@example.test")).to_have_value("admin")

    row.get_by_label("Role of newcomer@example.test").select_option("member")
    row.get_by_role("button", name="Change").click()
    expect(page.get_by_role("status")).to_contain_text("newcomer@example.test is now member")
    assert Membership.unscoped.get(user=newcomer, organisation=organisation).role == Membership.Role.MEMBER
    screenshot(page, "members-as-owner")

    row = page.locator('tr[data-member="newcomer@example.test"]')
    row.locator("summary", has_text="Remove").click()
    row.get_by_role("button", name="Remove newcomer@example.test").click()
    expect(page.get_by_role("status")).to_contain_text("Removed newcomer@example.test")
    expect(page.locator('tr[data-member="newcomer@example.test"]')).to_have_count(0)

    # The last owner cannot leave.
    row = page.locator('tr[data-member="owner@example.test"]')
    row.locator("summary", has_text="Leave").click()
    row.get_by_role("button", name="Leave the organisation").click()
    expect(page.get_by_role("alert")).to_contain_text("The last owner cannot leave")


def test_an_api_token_is_shown_once_in_the_browser(page):
    membership = MembershipFactory(organisation=OrganisationFactory(name="Northwind"))
    log_in(page, membership.user.email, PASSWORD)
    page.locator("#user-menu summary").click()
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Token name").fill("CI pipeline")
    page.get_by_role("button", name="Create token").click()
    raw = page.locator("#new-token").inner_text().strip()
    assert raw.startswith("mgy_")
    screenshot(page, "api-token-created")
    page.goto("/accounts/tokens/")
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text(raw)
    expect(page.locator("main")).to_contain_text("CI pipeline")
    page.locator("summary", has_text="Revoke").click()
    page.get_by_role("button", name="Revoke CI pipeline").click()
    expect(page.get_by_role("status")).to_contain_text("Revoked CI pipeline. It no longer works.")
    expect(page.locator("main table")).to_contain_text("revoked")
    assert api_token_find_active(raw_token=raw) is None


def test_sign_up_errors_are_readable(page):
    UserFactory(email="taken@example.test")
    page.goto("/accounts/signup/")
    page.get_by_label("Work e-mail").fill("taken@example.test")
    page.get_by_label("Password").fill("12345678901234")
    page.locator("main").get_by_role("button", name="Sign up").click()
    errors = page.locator("small.field-error")
    expect(errors).to_have_count(3)  # e-mail taken, organisation missing, numeric password
    expect(page.locator("main")).to_contain_text("already exists")
    expect(page.locator("main")).to_contain_text("This field is required.")
    expect(page.locator("main")).to_contain_text("entirely numeric")
    screenshot(page, "sign-up-errors")
