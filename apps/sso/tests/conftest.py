import pytest

from apps.sandbox.oauth import services as authz

SSO_SECRET = "oidc-client-secret-Pm4Rz8Lq2Wv6Xs1T"


@pytest.fixture
def idp(live_server):
    """A standard OpenID Connect provider (the sandbox's) with Migrayt registered as a client."""
    authz.client_register(flavour="oidc", client_id="migrayt-sso", secret=SSO_SECRET, redirect_uris=["/sso/callback/"],
                          scopes=["openid", "email", "profile"], name="Migrayt")
    return f"{live_server.url}/sandbox/oauth/oidc/acme-idp"


@pytest.fixture
def sso(idp, organisation, member):
    from apps.sso.services import sso_provider_save

    return sso_provider_save(organisation=organisation, actor=member, kind="oidc", issuer=idp, client_id="migrayt-sso",
                             client_secret=SSO_SECRET, email_domains="example.test")
