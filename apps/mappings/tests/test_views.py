"""The web UI: the review page, htmx row decisions, the payload page, and organisation scoping."""

import io
import json

import pytest
from django.urls import reverse

from apps.accounts.models import Membership
from apps.core.testing.factories import MembershipFactory
from apps.mappings.models import MappingSet
from apps.mappings.tests.factories import scans_make
from apps.mappings.tests.helpers import drafted_set, make_approvable, row

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client, member):
    client.force_login(member)
    return client


@pytest.fixture
def mapping_set(organisation, member):
    return drafted_set(organisation=organisation, actor=member)


def test_the_nav_lights_up_the_map_step(web):
    page = web.get(reverse("mappings:list")).content.decode()
    assert 'href="/mappings/" aria-current="page"' in page


def test_create_from_two_scans(web, organisation, monkeypatch):
    from apps.mappings import tasks

    monkeypatch.setattr(tasks.mapping_set_draft_task, "delay", lambda **kw: None)
    source, destination = scans_make(organisation=organisation)
    page = web.get(reverse("mappings:create")).content.decode()
    assert "Fabrikam Fiber" in page and "Proj" in page
    response = web.post(reverse("mappings:create"), {"name": "FF", "source_scan_id": source.pk,
                                                     "destination_scan_id": source.pk})
    assert response.status_code == 200 and "the same scan" in response.content.decode()
    response = web.post(reverse("mappings:create"), {"name": "FF", "source_scan_id": source.pk,
                                                     "destination_scan_id": destination.pk})
    mapping_set = MappingSet.objects.for_organisation(organisation).get()
    assert response.status_code == 302 and response["Location"] == reverse("mappings:detail", args=[mapping_set.pk])


def test_the_review_page_shows_every_proposal_with_confidence_and_reason(web, mapping_set):
    page = web.get(reverse("mappings:detail", args=[mapping_set.pk])).content.decode()
    assert page.count('<tr id="row-') == mapping_set.rows.count()
    assert "The title is Jira&#x27;s summary." in page and 'data-confidence="0.95"' in page
    attention = web.get(reverse("mappings:detail", args=[mapping_set.pk]) + "?show=attention").content.decode()
    assert 0 < attention.count('<tr id="row-') < mapping_set.rows.count()
    assert 'data-source="ado-cy"' in attention  # no account, no default person: needs attention
    fields = web.get(reverse("mappings:detail", args=[mapping_set.pk]) + "?kind=field").content.decode()
    assert 'data-kind="state"' not in fields and 'data-kind="field"' in fields
    bogus = web.get(reverse("mappings:detail", args=[mapping_set.pk]) + "?kind=planet&show=nope")
    assert bogus.status_code == 200


def test_htmx_accept_reject_and_edit_a_row(web, mapping_set):
    title = row(mapping_set, "field", "System.Title")
    url = reverse("mappings:row_decide", args=[mapping_set.pk, title.pk])
    fragment = web.post(url, {"decision": "reject"}, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith(f'<tr id="row-{title.pk}"') and 'data-decision="rejected"' in fragment
    value = row(mapping_set, "value", "4", scope="Microsoft.VSTS.Common.Priority")
    edit_url = reverse("mappings:row_edit", args=[mapping_set.pk, value.pk])
    form = web.get(edit_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'class="editing"' in form and '<option value="Lowest">' in form
    saved = web.post(edit_url, {"target": "Lowest"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-decision="edited"' in saved and "Lowest" in saved
    refused = web.post(edit_url, {"target": "Blocker"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'class="editing"' in refused and "Target: Select a valid choice" in refused
    # Without htmx the same forms work as plain posts.
    response = web.post(url, {"decision": "accept"})
    assert response.status_code == 302 and response["Location"].endswith(f"#row-{title.pk}")
    title.refresh_from_db()
    assert title.decision == "accepted"


def test_approve_from_the_page(web, mapping_set, member):
    blocked = web.post(reverse("mappings:approve", args=[mapping_set.pk]), follow=True).content.decode()
    assert "block approval" in blocked
    make_approvable(mapping_set, member)
    response = web.post(reverse("mappings:approve", args=[mapping_set.pk]))
    assert response["Location"] == reverse("mappings:version", args=[mapping_set.pk, 1])
    page = web.get(response["Location"]).content.decode()
    assert "version 1" in page and "frozen" in page
    download = web.get(response["Location"] + "?download=1")
    assert json.loads(download.content)["format"] == "migrayt.mapping"


def test_the_payload_page_shows_what_would_be_sent_and_the_consent_gate(web, mapping_set, organisation, client):
    page = web.get(reverse("mappings:llm", args=[mapping_set.pk])).content.decode()
    assert "Exactly what would be sent" in page and "No outside model is configured" in page
    assert "I agree" in page  # the member fixture owns the organisation
    web.post(reverse("mappings:consent", args=[mapping_set.pk]), {"categories": ["url"]})
    mapping_set.refresh_from_db()
    assert mapping_set.llm_consent_categories == ["url"]
    plain = MembershipFactory(organisation=organisation, role=Membership.Role.MEMBER).user
    client.force_login(plain)
    web.post(reverse("mappings:consent", args=[mapping_set.pk]), {"withdraw": "1"})
    mapping_set.refresh_from_db()
    assert mapping_set.has_llm_consent  # a plain member cannot withdraw it either


def test_import_a_bad_file_says_why(web, mapping_set):
    upload = io.BytesIO(b'{"format": "migrayt.mapping", "version": 1}')
    upload.name = "m.json"
    page = web.post(reverse("mappings:import", args=[mapping_set.pk]), {"file": upload}, follow=True).content.decode()
    assert "not valid at the top level" in page


def test_another_organisations_mapping_is_a_404(client, outsider, mapping_set):
    client.force_login(outsider)
    title = row(mapping_set, "field", "System.Title")
    gets = ["detail", "status", "llm", "export"]
    for name in gets:
        assert client.get(reverse(f"mappings:{name}", args=[mapping_set.pk])).status_code == 404, name
    posts = ["draft", "accept_above", "options", "approve", "consent", "import", "delete"]
    for name in posts:
        assert client.post(reverse(f"mappings:{name}", args=[mapping_set.pk])).status_code == 404, name
    assert client.post(reverse("mappings:row_decide", args=[mapping_set.pk, title.pk]),
                       {"decision": "accept"}).status_code == 404
    assert client.get(reverse("mappings:row_edit", args=[mapping_set.pk, title.pk])).status_code == 404
    assert client.get(reverse("mappings:version", args=[mapping_set.pk, 1])).status_code == 404
    assert mapping_set.name not in client.get(reverse("mappings:list")).content.decode()


def test_staff_admin_lists_and_shows_mappings(client, mapping_set, make_user):
    staff = make_user(is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert mapping_set.name in client.get("/admin/mappings/mappingset/").content.decode()
    page = client.get(f"/admin/mappings/mappingset/{mapping_set.pk}/change/").content.decode()
    assert "System.Title" in page or "Title" in page
    response = client.post("/admin/mappings/mappingset/", {"action": "export", "_selected_action": [mapping_set.pk]})
    assert json.loads(response.content)["format"] == "migrayt.mapping"
