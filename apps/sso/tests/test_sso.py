"""Single sign-on with OpenID Connect against the sandbox's providers (a standard one and Entra ID) on a
live server: sign-in beside passwords, every refusal in plain words, ID tokens checked (signature, issuer,
audience, nonce), the client secret kept in the secret store."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Membership
from apps.core.exceptions import ApplicationError
from apps.sandbox.oauth import services as authz
from apps.sso import services
from apps.sso.models import SsoIdentity, SsoProvider
from apps.sso.tests.conftest import SSO_SECRET

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.SANDBOX_ENABLED, reason="the sandbox is off (MIGRAYT_SANDBOX_ENABLED)"),
]


def _path(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sign_in(value: str, email: str, *, decision: str = "accept", browser: Client | None = None):
    """Walk the sign-in as a browser would; returns (browser, Migrayt's final response)."""
    browser = browser or Client(SERVER_NAME="127.0.0.1")
    started = browser.post(reverse("sso:start"), {"organisation": value})
    assert started.status_code == 302, started.content.decode()[:1500]
    authorize = started["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert query["code_challenge_method"] == "S256" and query["nonce"] and query["state"]
    assert browser.get(_path(authorize)).status_code == 200
    decided = browser.post(urlsplit(authorize).path, {**query, "decision": decision, "login_email": email,
                                                       "login_name": "Ana Example"})
    assert decided.status_code == 302
    return browser, browser.get(_path(decided["Location"]))


def test_a_member_signs_in_with_the_organisations_provider(sso, organisation, member):
    browser, back = sign_in(member.email, member.email)
    assert back.status_code == 302 and back["Location"] == reverse("core:home")
    assert int(browser.session["_auth_user_id"]) == member.pk
    assert browser.session["organisation_id"] == organisation.pk
    identity = SsoIdentity.objects.for_organisation(organisation).get()
    assert identity.user == member and identity.issuer == sso.issuer
    # Next time the identity (issuer + subject) finds the person, by organisation name too.
    browser2, back2 = sign_in(organisation.slug, member.email)
    assert int(browser2.session["_auth_user_id"]) == member.pk


def test_refusals_are_said_in_plain_words(sso, organisation, member, make_user):
    _, cancelled = sign_in(member.email, member.email, decision="deny")
    assert cancelled.status_code == 400 and "You cancelled the sign-in" in cancelled.content.decode()
    stranger = make_user(email="stranger@example.test")
    _, refused = sign_in("stranger@example.test", stranger.email)
    assert refused.status_code == 400 and "not a member of" in refused.content.decode()
    _, other_domain = sign_in(organisation.slug, "someone@elsewhere.test")
    assert other_domain.status_code == 400 and "is not one of them" in other_domain.content.decode()
    browser = Client(SERVER_NAME="127.0.0.1")
    forged = browser.get(reverse("sso:callback"), {"state": "forged", "code": "x"})
    assert forged.status_code == 400 and "unknown" in forged.content.decode()
    unknown = browser.post(reverse("sso:start"), {"organisation": "nobody@nowhere.test"})
    assert unknown.status_code == 200 and "No organisation signs in with single sign-on" in unknown.content.decode()
    assert "_auth_user_id" not in browser.session


def test_auto_join_adds_a_new_person_as_a_member(sso, organisation):
    SsoProvider.objects.for_organisation(organisation).update(auto_join=True)
    browser, back = sign_in(organisation.slug, "new.person@example.test")
    assert back.status_code == 302
    membership = Membership.objects.for_organisation(organisation).get(user__email="new.person@example.test")
    assert membership.role == Membership.Role.MEMBER and not membership.user.has_usable_password()


def test_an_id_token_signed_by_another_key_or_for_another_nonce_is_refused(sso):
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    discovery = services.sso_discover(sso.issuer)
    claims = {"iss": sso.issuer, "aud": "migrayt-sso", "sub": "x", "exp": 4_000_000_000, "iat": 1, "nonce": "n"}
    forged = jwt.encode({"alg": "RS256", "kid": "other"}, claims, RSAKey.generate_key(2048))
    with pytest.raises(ApplicationError, match="could not be verified"):
        services._validate_id_token(sso, discovery, forged, "n")
    key = authz.signing_key()
    genuine = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, RSAKey.import_key(key.private_pem))
    assert services._validate_id_token(sso, discovery, genuine, "n")["sub"] == "x"
    with pytest.raises(ApplicationError, match="could not be verified"):
        services._validate_id_token(sso, discovery, genuine, "another-nonce")
    wrong_audience = jwt.encode({"alg": "RS256", "kid": key.kid}, claims | {"aud": "someone-else"},
                                RSAKey.import_key(key.private_pem))
    with pytest.raises(ApplicationError, match="could not be verified"):
        services._validate_id_token(sso, discovery, wrong_audience, "n")


def test_microsoft_entra_id_sign_in(live_server, settings, organisation, member):
    settings.ENTRA_AUTHORITY = f"{live_server.url}/sandbox/oauth/entra"
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    authz.client_register(flavour="entra", client_id="migrayt-entra-sso", secret=SSO_SECRET,
                          redirect_uris=["/sso/callback/"], scopes=[])
    provider = services.sso_provider_save(organisation=organisation, actor=member, kind="entra", tenant=tenant,
                                          client_id="migrayt-entra-sso", client_secret=SSO_SECRET)
    assert provider.issuer == f"{live_server.url}/sandbox/oauth/entra/{tenant}/v2.0"
    browser, back = sign_in(organisation.slug, member.email)
    assert back.status_code == 302 and int(browser.session["_auth_user_id"]) == member.pk
    with pytest.raises(ApplicationError, match="directory \\(tenant\\) id"):
        services.sso_provider_save(organisation=organisation, actor=member, kind="entra", tenant="common",
                                   client_id="x", client_secret="y")


def test_settings_need_an_admin_a_real_provider_and_keep_the_secret_out_of_the_page(idp, organisation, member, make_user):
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(member)
    bad = client.post(reverse("sso:settings"), {"kind": "oidc", "issuer": idp.replace("/oidc/acme-idp", "/no-such-provider"), "client_id": "migrayt-sso",
                                                "client_secret": SSO_SECRET, "enabled": "on"})
    assert bad.status_code == 200 and "is not there" in bad.content.decode()
    good = client.post(reverse("sso:settings"), {"kind": "oidc", "issuer": idp, "client_id": "migrayt-sso",
                                                 "client_secret": SSO_SECRET, "email_domains": "example.test",
                                                 "enabled": "on"})
    assert good.status_code == 302
    page = client.get(reverse("sso:settings")).content.decode()
    assert SSO_SECRET not in page and idp in page
    provider = SsoProvider.objects.for_organisation(organisation).get()
    assert SSO_SECRET not in provider.client_secret_ref
    with pytest.raises(Exception):  # noqa: B017 - the metadata address is refused whatever the wording
        services.sso_provider_save(organisation=organisation, actor=member, kind="oidc",
                                   issuer="http://169.254.169.254/latest", client_id="x", client_secret="y")
    plain = make_user()
    Membership.objects.create(organisation=organisation, user=plain, role=Membership.Role.MEMBER)
    other = Client(SERVER_NAME="127.0.0.1")
    other.force_login(plain)
    assert other.get(reverse("sso:settings")).status_code == 403


def test_an_account_used_in_other_organisations_or_by_staff_is_not_signed_in_by_sso(sso, organisation, member,
                                                                                  other_organisation):
    """Whoever runs an organisation's identity provider can assert any e-mail: it must not open an account
    that also reaches other organisations (an admin can add any signed-up person as a member)."""
    Membership.objects.create(organisation=other_organisation, user=member, role=Membership.Role.MEMBER)
    browser, refused = sign_in(member.email, member.email)
    assert refused.status_code == 400 and "also belongs to other organisations" in refused.content.decode()
    assert "_auth_user_id" not in browser.session
    Membership.unscoped.filter(organisation=other_organisation, user=member).delete()
    member.is_staff = True
    member.save()
    _, staff = sign_in(member.email, member.email)
    assert staff.status_code == 400 and "Staff accounts sign in with their password" in staff.content.decode()
