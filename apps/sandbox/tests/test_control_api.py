import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.sandbox import services
from apps.sandbox.models import SandboxSite


@pytest.fixture
def staff(make_user):
    return make_user(is_staff=True)


@pytest.fixture
def site(db):
    return services.site_create(kind="ado", slug="ctl")


def client_for(user=None):
    client = APIClient()
    if user:
        client.force_authenticate(user)
    return client


def test_control_api_is_staff_only(site, member):
    url = reverse("sandbox:control_site", kwargs={"slug": "ctl"})
    assert client_for().get(url).status_code in (401, 403)
    assert client_for(member).get(url).status_code == 403


def test_staff_changes_faults_at_run_time(site, staff):
    url = reverse("sandbox:control_site", kwargs={"slug": "ctl"})
    response = client_for(staff).patch(url, {"fault_rate": 0.25, "fault_kinds": ["http_503"], "latency_ms": 5},
                                       format="json")
    assert response.status_code == 200, response.json()
    site.refresh_from_db()
    assert (site.fault_rate, site.fault_kinds, site.latency_ms) == (0.25, ["http_503"], 5)


def test_bad_controls_are_a_400_with_a_message(site, staff):
    url = reverse("sandbox:control_site", kwargs={"slug": "ctl"})
    response = client_for(staff).patch(url, {"fault_rate": "lots"}, format="json")
    assert response.status_code == 400
    assert "fault_rate" in response.json()["message"]
    missing = client_for(staff).get(reverse("sandbox:control_site", kwargs={"slug": "nope"}))
    assert missing.status_code == 404


def test_create_site_token_and_read_the_log(db, staff):
    api = client_for(staff)
    created = api.post(reverse("sandbox:control_sites"), {"kind": "ado", "slug": "fresh"}, format="json")
    assert created.status_code == 201
    assert SandboxSite.objects.get(slug="fresh").options["attachment_max_bytes"] > 0
    token = api.post(reverse("sandbox:control_tokens", kwargs={"slug": "fresh"}),
                     {"name": "t", "scopes": ["vso.work"]}, format="json")
    assert token.status_code == 201
    assert len(token.json()["token"]) > 20
    log = api.get(reverse("sandbox:control_log", kwargs={"slug": "fresh"}))
    assert log.json()["totals"]["requests"] == 0
    dup = api.post(reverse("sandbox:control_sites"), {"kind": "ado", "slug": "fresh"}, format="json")
    assert dup.status_code == 400


def test_controls_page_is_staff_only_and_saves(client, site, staff, member):
    url = reverse("sandbox:site_controls", kwargs={"slug": "ctl"})
    client.force_login(member)
    assert client.get(url).status_code == 302  # to the admin login
    client.force_login(staff)
    assert client.get(url).status_code == 200
    form = {"rate_window_seconds": 60, "rate_limit_site": 10, "rate_limit_token": 0, "delay_after_percent": 80,
            "delay_ms": 0, "latency_ms": 0, "latency_jitter_ms": 0, "fault_rate": 0.1, "fault_kinds": ["drop"],
            "slow_ms": 100, "seed": 9}
    assert client.post(url, form).status_code == 302
    site.refresh_from_db()
    assert (site.rate_limit_site, site.fault_kinds, site.seed) == (10, ["drop"], 9)
    form["fault_rate"] = 3
    assert client.post(url, form).status_code == 200  # the form again, with the error
