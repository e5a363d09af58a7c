"""Staff pages for single sign-on and outgoing webhooks: every page opens, nothing secret is on them, and
the links to the organisation's own pages are where people look for them."""

import pytest
from django.test import Client

from apps.core.testing.factories import UserFactory
from apps.sso.models import SsoProvider
from apps.sso.tests.conftest import SSO_SECRET
from apps.webhooks import services as webhooks
from apps.webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_sso_admin_shows_the_provider_never_its_secret(staff_client, sso):
    assert staff_client.get("/admin/sso/ssoprovider/add/").status_code == 403
    listing = staff_client.get("/admin/sso/ssoprovider/")
    assert listing.status_code == 200 and sso.client_id in listing.content.decode()
    change = staff_client.get(f"/admin/sso/ssoprovider/{sso.pk}/change/").content.decode()
    assert sso.issuer in change
    assert SSO_SECRET not in change and "client_secret" not in change and sso.client_secret_ref not in change
    # Staff may switch it off; the secret stays as it was.
    ref = sso.client_secret_ref
    response = staff_client.post(f"/admin/sso/ssoprovider/{sso.pk}/change/", {"enabled": ""})
    assert response.status_code == 302
    sso = SsoProvider.unscoped.get(pk=sso.pk)
    assert sso.enabled is False and sso.client_secret_ref == ref
    assert staff_client.get("/admin/sso/ssoidentity/").status_code == 200


def test_webhook_admin_shows_endpoints_and_deliveries_never_the_secret(staff_client, organisation, member,
                                                                       monkeypatch):
    monkeypatch.setattr(webhooks, "_enqueue", lambda delivery_id, countdown: None)
    endpoint, secret = webhooks.webhook_endpoint_create(organisation=organisation, actor=member,
                                                        url="https://hooks.example.com/migrayt",
                                                        events=["run.finished"])
    [delivery] = webhooks.webhook_event_emit(organisation=organisation, event="run.finished", payload={"run_id": 3})
    assert staff_client.get("/admin/webhooks/webhookendpoint/add/").status_code == 403
    for url in ("/admin/webhooks/webhookendpoint/", f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
                "/admin/webhooks/webhookdelivery/", f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/"):
        page = staff_client.get(url)
        assert page.status_code == 200, url
        text = page.content.decode()
        assert secret not in text and endpoint.secret_ref not in text and "secret_ref" not in text
    assert "hooks.example.com" in staff_client.get("/admin/webhooks/webhookendpoint/").content.decode()
    assert str(delivery.event_id) in staff_client.get(
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").content.decode()
    # The delivery log is read-only for staff.
    staff_client.post(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/", {"state": "delivered"})
    assert WebhookDelivery.unscoped.get(pk=delivery.pk).state == WebhookDelivery.State.PENDING


def test_login_page_links_to_sso_and_the_organisation_menu_to_sso_settings_and_webhooks(member):
    assert 'href="/sso/"' in Client().get("/accounts/login/").content.decode()
    client = Client()
    client.force_login(member)
    home = client.get("/").content.decode()
    assert 'href="/sso/settings/"' in home and 'href="/webhooks/"' in home
