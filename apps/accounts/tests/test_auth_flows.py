"""Sign-up, log-in, password reset and the organisation forms, as a person meets them in the web UI."""

import re

import pytest
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY

from apps.accounts.models import Membership, Organisation, User
from apps.core.testing.factories import UserFactory

GOOD_PASSWORD = "a-long-enough-passphrase"


def sign_up(client, **overrides):
    data = {
        "full_name": "Grace Hopper",
        "email": "grace@example.test",
        "organisation_name": "Navy Labs",
        "password": GOOD_PASSWORD,
    } | overrides
    return client.post("/accounts/signup/", data)


def field_errors(response, field):
    return response.context["form"].errors.get(field, [])


@pytest.mark.django_db
def test_sign_up_makes_the_person_owner_of_a_new_organisation_and_signs_them_in(client):
    response = sign_up(client)
    assert response.status_code == 302 and response.url == "/"
    user = User.objects.get(email="grace@example.test")
    membership = Membership.unscoped.get(user=user)
    assert membership.role == Membership.Role.OWNER
    assert membership.organisation.name == "Navy Labs"
    assert membership.organisation.slug == "navy-labs"
    assert int(client.session[AUTH_SESSION_KEY]) == user.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "Taken@Example.test"}, "email", "already exists"),
        ({"email": "not-an-address"}, "email", "Enter a valid email address."),
        ({"password": "short"}, "password", "too short"),
        ({"password": "password123456"}, "password", "too common"),
        ({"password": "83920174628193"}, "password", "entirely numeric"),
        ({"password": "grace@example.test"}, "password", "too similar"),
        ({"organisation_name": ""}, "organisation_name", "This field is required."),
        ({"organisation_name": "    "}, "organisation_name", "This field is required."),
    ],
)
def test_sign_up_explains_bad_input_next_to_the_field(client, overrides, field, message):
    UserFactory(email="taken@example.test")
    response = sign_up(client, **overrides)
    assert response.status_code == 200
    errors = " ".join(field_errors(response, field))
    assert message in errors, response.context["form"].errors
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not User.objects.filter(email="grace@example.test").exists() or field == "email"
    assert Organisation.objects.count() == 0


@pytest.mark.django_db
def test_signed_in_people_are_sent_home_from_sign_up(client, member):
    client.force_login(member)
    assert client.get("/accounts/signup/").url == "/"


@pytest.mark.django_db
def test_log_in_with_a_wrong_password_says_so_and_a_right_one_works(client, member):
    response = client.post("/accounts/login/", {"username": member.email, "password": "wrong-password"})
    assert response.status_code == 200
    assert "Please enter a correct e-mail address and password." in response.content.decode()
    assert AUTH_SESSION_KEY not in client.session

    response = client.post("/accounts/login/", {"username": member.email.upper(), "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert int(client.session[AUTH_SESSION_KEY]) == member.pk


@pytest.mark.django_db
def test_log_out_needs_a_post_and_ends_the_session(client, member):
    client.force_login(member)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert AUTH_SESSION_KEY not in client.session


@pytest.mark.django_db
def test_pages_need_a_signed_in_person(client):
    for url in ("/", "/accounts/members/", "/accounts/tokens/", "/accounts/organisations/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next="), url


@pytest.mark.django_db
def test_forms_are_protected_against_cross_site_requests(member):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    assert client.post("/accounts/tokens/", {"name": "x"}).status_code == 403
    assert client.post("/accounts/members/", {"email": "x@example.test", "role": "member"}).status_code == 403


@pytest.mark.django_db
def test_password_reset_by_e_mail_end_to_end(client, member, mailoutbox, settings):
    settings.SITE_URL = "https://migrayt.example.com"
    # A forged Host header is refused outright...
    forged = client.post("/accounts/password-reset/", {"email": member.email}, HTTP_HOST="evil.example.net")
    assert forged.status_code == 400
    assert mailoutbox == []
    # ...and an allowed one that is not the public address does not leak into the link either.
    response = client.post("/accounts/password-reset/", {"email": member.email}, HTTP_HOST="localhost")
    assert response.status_code == 302 and response.url == "/accounts/password-reset/sent/"
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [member.email]
    assert mail.subject == "Reset your Migrayt password"
    # The link points at our site, whatever Host header the request carried.
    link = re.search(r"https://migrayt\.example\.com(/accounts/reset/\S+/)", mail.body).group(1)
    assert "localhost" not in mail.body

    # Django swaps the token for a session marker, then shows the form.
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0]
    assert "Choose a new password" in form_page.content.decode()

    weak = client.post(set_password_url, {"new_password1": "short", "new_password2": "short"})
    assert "too short" in weak.content.decode()

    done = client.post(set_password_url, {"new_password1": "brand-new-passphrase", "new_password2": "brand-new-passphrase"})
    assert done.status_code == 302 and done.url == "/accounts/reset/done/"
    member.refresh_from_db()
    assert member.check_password("brand-new-passphrase")

    # The link works once.
    client.logout()
    reused = client.get(link, follow=True)
    assert "expired or was already used" in reused.content.decode()
    assert client.login(username=member.email, password="brand-new-passphrase")


@pytest.mark.django_db
def test_password_reset_does_not_reveal_who_has_an_account(client, mailoutbox):
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.test"})
    assert response.status_code == 302 and response.url == "/accounts/password-reset/sent/"
    assert mailoutbox == []


@pytest.mark.django_db
def test_creating_an_organisation_switches_to_it_and_an_empty_name_is_refused(client, member, organisation):
    client.force_login(member)
    response = client.post("/accounts/organisations/", {"name": "  "})
    assert response.status_code == 200
    assert response.context["form"].errors["name"] == ["This field is required."]

    response = client.post("/accounts/organisations/", {"name": "Second Co"}, follow=True)
    assert response.context["current_organisation"].name == "Second Co"
    assert Membership.unscoped.get(user=member, organisation__name="Second Co").role == Membership.Role.OWNER


@pytest.mark.django_db
def test_switching_organisation_by_form(client, member, organisation, other_organisation):
    Membership.objects.create(organisation=other_organisation, user=member, role=Membership.Role.MEMBER)
    client.force_login(member)
    assert client.get("/").context["current_organisation"] == organisation
    response = client.post("/accounts/organisations/switch/", {"organisation": other_organisation.pk}, follow=True)
    assert response.context["current_organisation"] == other_organisation
    assert "Switched to Other Co." in response.content.decode()
    assert client.post("/accounts/organisations/switch/", {"organisation": "not-a-number"}).status_code == 404
    assert client.get("/accounts/organisations/switch/").status_code == 405


@pytest.mark.django_db
def test_too_many_failed_log_ins_lock_the_account_for_a_while(client, member):
    from apps.accounts.models import LoginFailure
    from apps.accounts.services import LOGIN_FAILURE_LIMIT

    for _ in range(LOGIN_FAILURE_LIMIT):
        response = client.post("/accounts/login/", {"username": member.email, "password": "guess"})
        assert "Please enter a correct e-mail address and password." in response.content.decode()
    assert LoginFailure.objects.count() == LOGIN_FAILURE_LIMIT
    assert member.email not in str(list(LoginFailure.objects.values()))  # only a hash of the address

    # Now even the right password is refused, with a reason.
    response = client.post("/accounts/login/", {"username": member.email.upper(), "password": "correct-horse-battery"})
    assert response.status_code == 200
    assert "Too many failed log-ins for this account" in response.content.decode()
    assert AUTH_SESSION_KEY not in client.session

    # Other accounts are not affected, and the lock lifts once the failures age out.
    other = UserFactory()
    assert client.post("/accounts/login/", {"username": other.email, "password": "correct-horse-battery"}).status_code == 302
    client.logout()
    from datetime import timedelta

    from django.utils import timezone

    LoginFailure.objects.update(created_at=timezone.now() - timedelta(minutes=16))
    response = client.post("/accounts/login/", {"username": member.email, "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert not LoginFailure.objects.exists()
