"""The staff admin: every registered model's pages render, and no page ever shows a token or its hash."""

import pytest
from django.contrib import admin
from django.urls import reverse

from apps.accounts.models import ApiToken, Membership, User
from apps.accounts.services import api_token_create
from apps.core.models import AuditEvent
from apps.core.testing.factories import MembershipFactory, UserFactory


@pytest.fixture
def staff_client(client, db):
    staff = UserFactory(email="staff@example.test", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


@pytest.fixture
def secrets_in_play(member, organisation, outsider, other_organisation):
    """Tokens in two organisations; returns every string that must never appear on a page."""
    forbidden = []
    for org, user in ((organisation, member), (other_organisation, outsider)):
        token, raw = api_token_create(organisation=org, user=user, name=f"token of {user.email}")
        forbidden += [raw, token.key_hash, raw[len(token.prefix):]]
    return forbidden


def _admin_pages():
    for model, model_admin in admin.site._registry.items():
        yield model, model_admin, f"{model._meta.app_label}_{model._meta.model_name}"


@pytest.mark.django_db
def test_every_admin_page_renders_and_never_shows_a_token(staff_client, secrets_in_play, rf):
    request = rf.get("/admin/")
    request.user = User.objects.get(email="staff@example.test")
    pages = 0
    for model, model_admin, prefix in _admin_pages():
        urls = [
            reverse(f"admin:{prefix}_changelist"),
            reverse(f"admin:{prefix}_changelist") + "?q=example",
        ]
        manager = getattr(model, "unscoped", model._default_manager)
        obj = manager.order_by("pk").first()
        if obj is not None:
            urls.append(reverse(f"admin:{prefix}_change", args=[obj.pk]))
            urls.append(reverse(f"admin:{prefix}_history", args=[obj.pk]))
            if model_admin.has_delete_permission(request, obj):
                urls.append(reverse(f"admin:{prefix}_delete", args=[obj.pk]))
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"admin:{prefix}_add"))
        for url in urls:
            response = staff_client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            body = response.content.decode()
            for secret in secrets_in_play:
                assert secret not in body, f"{url} shows a token or its hash"
            pages += 1
    assert pages >= 15


@pytest.mark.django_db
def test_staff_see_tokens_in_every_organisation_and_can_revoke_them(staff_client, secrets_in_play):
    url = reverse("admin:accounts_apitoken_changelist")
    body = staff_client.get(url).content.decode()
    for token in ApiToken.unscoped.all():
        assert token.name in body
    ids = list(ApiToken.unscoped.values_list("pk", flat=True))
    response = staff_client.post(url, {"action": "revoke", "_selected_action": ids}, follow=True)
    assert "Revoked 2 token(s)." in response.content.decode()
    assert not ApiToken.unscoped.filter(revoked_at__isnull=True).exists()
    assert AuditEvent.unscoped.filter(action="api_token.revoked").count() == 2
    # Nobody, staff included, can make a token in the admin: its owner alone must see it.
    assert staff_client.get(reverse("admin:accounts_apitoken_add")).status_code == 403


@pytest.mark.django_db
def test_staff_change_memberships_through_the_rules(staff_client, member, organisation):
    owner = Membership.objects.for_organisation(organisation).get(user=member)
    change_url = reverse("admin:accounts_membership_change", args=[owner.pk])

    # The last owner cannot be demoted...
    response = staff_client.post(change_url, {"role": "member"})
    assert response.status_code == 200
    assert "at least one owner" in response.content.decode()
    assert Membership.unscoped.get(pk=owner.pk).role == "owner"
    # ...nor deleted.
    delete_url = reverse("admin:accounts_membership_delete", args=[owner.pk])
    response = staff_client.post(delete_url, {"post": "yes"}, follow=True)
    assert "last owner" in response.content.decode()
    assert Membership.unscoped.filter(pk=owner.pk).exists()

    # Adding someone goes through the service, and is audited as staff.
    newcomer = UserFactory(email="newcomer@example.test")
    response = staff_client.post(
        reverse("admin:accounts_membership_add"),
        {"organisation": organisation.pk, "user": newcomer.pk, "role": "admin"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    added = Membership.unscoped.get(user=newcomer)
    assert added.role == "admin"
    event = AuditEvent.unscoped.get(action="membership.added")
    assert event.actor_kind == "staff"

    # A role change is audited with before and after.
    staff_client.post(reverse("admin:accounts_membership_change", args=[added.pk]), {"role": "member"})
    assert Membership.unscoped.get(pk=added.pk).role == "member"
    event = AuditEvent.unscoped.get(action="membership.role_changed")
    assert event.data["from"] == "admin" and event.data["to"] == "member"


@pytest.mark.django_db
def test_the_admin_is_for_staff_only(client, member):
    client.force_login(member)
    response = client.get(reverse("admin:accounts_apitoken_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response.url


@pytest.mark.django_db
def test_organisation_page_lists_its_members_read_only(staff_client, member, organisation):
    MembershipFactory(organisation=organisation, role=Membership.Role.MEMBER)
    body = staff_client.get(reverse("admin:accounts_organisation_change", args=[organisation.pk])).content.decode()
    assert member.email in body
    assert 'name="memberships-0-role"' not in body and "memberships-0-role" not in body


@pytest.mark.django_db
def test_staff_adding_an_existing_member_get_a_form_error(staff_client, member, organisation):
    response = staff_client.post(
        reverse("admin:accounts_membership_add"), {"organisation": organisation.pk, "user": member.pk, "role": "member"}
    )
    assert response.status_code == 200
    assert "already a member of this organisation" in response.content.decode()
