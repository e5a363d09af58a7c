"""The engine's pure parts and the run's controls, lease and scoping, without any network."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.connections.connectors import records
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from apps.runs import services, store
from apps.runs.engine.draft import Drafter, payload_hash
from apps.runs.engine.execute import canonical_link
from apps.runs.models import IdMapEntry, Run, RunItem
from apps.runs.planjson import plan_from_dict, plan_to_dict
from apps.runs.testing import TYPE_LEVELS, agile_to_jira_plan


def _item(**kwargs):
    values = {"source_id": "7", "key": "7", "project_id": "p", "type_id": "User Story", "title": "Checkout fails",
              "description": "<p>Steps <b>here</b></p>", "state": "Active", "priority": "2",
              "fields": {"Microsoft.VSTS.Common.Priority": 2, "System.Tags": "web; urgent"}, "labels": ("web", "urgent")}
    values.update(kwargs)
    return records.WorkItem(**values)


def test_draft_maps_type_state_priority_labels_and_converts_the_description():
    draft = Drafter(agile_to_jira_plan()).draft(_item(), source_url="https://ado/x/7", parent_id="100", parent_key="MIG-1")
    write = draft.write
    assert (write.type_id, write.target_status, write.priority) == ("Story", "In Progress", "High")
    assert write.labels == ("web", "urgent") and write.parent_id == "100" and write.source_url == "https://ado/x/7"
    assert write.description["type"] == "doc"
    assert "Steps" in str(write.description)


def test_draft_warns_about_what_it_cannot_keep():
    plan = agile_to_jira_plan()
    long_title = "x" * 300
    draft = Drafter(plan).draft(_item(title=long_title, state="Weird", fields={"Microsoft.VSTS.Common.Priority": 9},
                                      assignee=records.Person("p-1", "Ann Left")))
    codes = {w.code for w in draft.warnings}
    assert {"text_cut", "state_unmapped", "value_unmapped", "person_no_account"} <= codes
    assert len(draft.write.summary) == 255 and draft.write.priority == ""
    assert all(long_title not in w.message for w in draft.warnings)  # warnings never quote ticket text


def test_a_type_left_out_is_not_written():
    plan = agile_to_jira_plan()
    plan.types.pop("Bug")
    assert Drafter(plan).draft(_item(type_id="Bug")).write is None


def test_links_are_written_once_per_pair():
    forward = records.Link("1:f#1", "System.LinkTypes.Dependency-Forward", "1", "2")
    reverse = records.Link("2:r#1", "System.LinkTypes.Dependency-Reverse", "2", "1")
    related_a = records.Link("3:x#1", "System.LinkTypes.Related", "3", "10")
    related_b = records.Link("10:x#1", "System.LinkTypes.Related", "10", "3")
    assert canonical_link(forward) == canonical_link(reverse)
    assert canonical_link(related_a) == canonical_link(related_b)
    assert canonical_link(records.Link("1:h", "System.LinkTypes.Hierarchy-Forward", "1", "2")) is None
    assert canonical_link(records.Link("1:u", "Hyperlink", "1", url="https://x", is_external=True)) is None


def test_payload_hash_is_stable_and_changes_with_the_content():
    a = Drafter(agile_to_jira_plan()).draft(_item()).write
    b = Drafter(agile_to_jira_plan()).draft(_item(title="Other")).write
    assert payload_hash(a) == payload_hash(a) and payload_hash(a) != payload_hash(b)


def test_plan_round_trips_through_json():
    plan = agile_to_jira_plan(iterations={"5": "create:Sprint 1"})
    assert plan_from_dict(plan_to_dict(plan)) == plan


# --- with the database ------------------------------------------------------------------------------------


@pytest.fixture
def connections(organisation, member):
    from apps.connections.services import connection_create

    source = connection_create(organisation=organisation, actor=member, kind="azure_devops", name="ADO",
                               base_url="http://127.0.0.1:9/sandbox/ado/none", token="t-ado")
    destination = connection_create(organisation=organisation, actor=member, kind="jira_cloud", name="Jira",
                                    base_url="http://127.0.0.1:9/sandbox/jira/none", token="t-jira",
                                    email="a@example.test")
    return source, destination


@pytest.fixture
def run(organisation, member, connections, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        return services.run_create(organisation=organisation, actor=member, kind="live", plan=agile_to_jira_plan(),
                                   source_connection=connections[0], destination_connection=connections[1],
                                   type_levels=TYPE_LEVELS, start=False)


def _plan_rows(run, rows):
    RunItem.unscoped.bulk_create([RunItem(organisation_id=run.organisation_id, run=run, source_id=s, parent_source_id=p,
                                          type_id=t) for s, p, t in rows])


@pytest.mark.django_db
def test_plan_orders_parents_first_and_climbs_to_a_level_jira_accepts(run):
    # Epic 1 > Feature 2 > User Story 3 > Task 4; Bug 5 under Feature 2.
    _plan_rows(run, [("4", "3", "Task"), ("3", "2", "User Story"), ("2", "1", "Feature"), ("1", "", "Epic"),
                     ("5", "2", "Bug")])
    assert store.lease_acquire(run_id=run.pk, step=run.step, owner="me:1:x")
    run_store = store.RunStore(run, owner="me:1:x")
    plan = agile_to_jira_plan()
    run_store.plan_finalise(type_levels=TYPE_LEVELS, type_targets={k: v.target_type for k, v in plan.types.items()},
                            missing_level={})
    items = {i.source_id: i for i in RunItem.unscoped.filter(run=run)}
    # Story (Feature) under Epic; a Story (User Story) cannot sit under a Story: it goes under the Epic;
    # a Sub-task (Task) under its Story; a Bug under the Epic.
    assert {s: i.parent_source_id for s, i in items.items()} == {"1": "", "2": "1", "3": "1", "4": "3", "5": "1"}
    order = sorted(items.values(), key=lambda i: i.ordinal)
    assert order[0].source_id == "1" and order[-1].source_id == "4"
    run.refresh_from_db()
    assert run.warnings["parent_level"]["count"] == 2


@pytest.mark.django_db
def test_a_link_to_an_item_the_run_does_not_migrate_is_a_preview_warning(run):
    """Jira Server's DZFNK0168 bugs link to IP8CUD168-* (another project): said, not skipped in silence."""
    from apps.runs.models import RunLink

    _plan_rows(run, [("1", "", "Epic"), ("2", "1", "User Story"), ("3", "", "Impediment")])  # no mapping for 3
    RunLink.unscoped.bulk_create([
        RunLink(organisation_id=run.organisation_id, run=run, link_type="Relates", from_source_id=a, to_source_id=b)
        for a, b in (("1", "2"), ("2", "99"), ("77", "1"), ("2", "3"), ("88", "99"))])
    assert store.lease_acquire(run_id=run.pk, step=run.step, owner="me:1:x")
    plan = agile_to_jira_plan()
    store.RunStore(run, owner="me:1:x").plan_finalise(
        type_levels=TYPE_LEVELS, type_targets={k: v.target_type for k, v in plan.types.items()}, missing_level={})
    run.refresh_from_db()
    outside = run.warnings["link_outside"]
    assert outside["count"] == 3 and outside["examples"] == ["2", "1"], outside
    assert "not written" in next(iter(outside["messages"]))

@pytest.mark.django_db
def test_the_lease_lets_one_delivery_write(run):
    assert store.lease_acquire(run_id=run.pk, step=run.step, owner="host:1:a")
    assert not store.lease_acquire(run_id=run.pk, step=run.step, owner="host:2:b")
    assert not store.lease_acquire(run_id=run.pk, step=run.step + 1, owner="host:1:a")  # an old step is stale
    loser = store.RunStore(run, owner="host:2:b")
    with pytest.raises(store.LeaseLost):
        loser.record(phase="items", written=[], failed=[], retry=[], cursor={}, progress={})
    Run.unscoped.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert store.lease_acquire(run_id=run.pk, step=run.step, owner="host:2:b")  # expired: taken over


@pytest.mark.django_db
def test_a_lease_held_by_a_dead_process_of_this_machine_is_taken_over(run):
    import socket
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_owner = f"{socket.gethostname()}:{gone.stdout.strip()}:dead"
    assert store.lease_acquire(run_id=run.pk, step=run.step, owner=dead_owner)
    assert store.lease_acquire(run_id=run.pk, step=run.step, owner=f"{socket.gethostname()}:1:new")


@pytest.mark.django_db
def test_a_redelivered_old_step_does_nothing(run):
    Run.unscoped.filter(pk=run.pk).update(step=5)
    assert services.run_step_execute(run_id=run.pk, step=4) == "stale"


@pytest.mark.django_db
def test_controls_follow_the_state_machine_and_are_audited(run, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        services.run_pause(run=run, actor=member)
        run.refresh_from_db()
        assert run.state == Run.State.PAUSED  # nothing held it: paused at once
        with pytest.raises(ApplicationError):
            services.run_pause(run=run, actor=member)
        step = run.step
        services.run_resume(run=run, actor=member)
        run.refresh_from_db()
        assert run.state == Run.State.RUNNING and run.step == step + 1
        with pytest.raises(ApplicationError):
            services.run_rollback(run=run, actor=member, confirmation=f"ROLL BACK {run.pk}")  # still running
        services.run_cancel(run=run, actor=member)
        run.refresh_from_db()
        assert run.state == Run.State.CANCELLED
        with pytest.raises(ApplicationError) as refused:
            services.run_rollback(run=run, actor=member, confirmation="yes")
        assert f"ROLL BACK {run.pk}" in refused.value.message
    actions = list(AuditEvent.objects.for_organisation(run.organisation).filter(target_type="runs.run", target_id=str(run.pk))
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["run.created", "run.pause_requested", "run.resumed", "run.cancel_requested"]


@pytest.mark.django_db
def test_retry_puts_failed_items_back(run, member, django_capture_on_commit_callbacks):
    _plan_rows(run, [("1", "", "Epic"), ("2", "", "Bug")])
    RunItem.unscoped.filter(run=run, source_id="2").update(state="failed", error_code="field_invalid",
                                                           error_message="Priority is not valid")
    Run.unscoped.filter(pk=run.pk).update(state=Run.State.FINISHED, phase="done")
    run.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.run_retry_failed(run=run, actor=member) == 1
    run.refresh_from_db()
    assert run.state == Run.State.RUNNING and run.phase == "items" and len(callbacks) == 1
    assert RunItem.unscoped.get(run=run, source_id="2").state == "pending"


@pytest.mark.django_db
def test_the_id_map_and_the_checkpoint_are_written_together(run):
    from apps.runs.engine.ports import Recorded

    _plan_rows(run, [("1", "", "Epic")])
    assert store.lease_acquire(run_id=run.pk, step=run.step, owner="h:1:a")
    run_store = store.RunStore(run, owner="h:1:a")
    run_store.record(phase="items", written=[Recorded("items", "1", "10001", "MIG-1", "abc")], failed=[], retry=[],
                     cursor={"after": 0}, progress={"done": 1})
    run.refresh_from_db()
    entry = IdMapEntry.unscoped.get(run=run, phase="items", source_id="1")
    assert (entry.destination_id, entry.destination_key, entry.payload_sha256) == ("10001", "MIG-1", "abc")
    assert run.cursor["items"] == {"after": 0} and run.progress["items"]["done"] == 1
    assert RunItem.unscoped.get(run=run, source_id="1").state == "created"
    # Recording the same write again (a redelivered slice) adds nothing.
    run_store.record(phase="items", written=[Recorded("items", "1", "10001", "MIG-1", "abc")], failed=[], retry=[],
                     cursor={}, progress={})
    assert IdMapEntry.unscoped.filter(run=run, phase="items").count() == 1


# --- API and pages: scoping and answers -------------------------------------------------------------------


@pytest.mark.django_db
def test_another_organisations_run_is_a_404_in_api_and_pages(run, outsider, client):
    from rest_framework.test import APIClient

    from apps.accounts.services import api_token_create

    _, secret = api_token_create(organisation=outsider.memberships.first().organisation, user=outsider, name="t")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(f"/api/v1/runs/{run.pk}/").status_code == 404
    assert api.post(f"/api/v1/runs/{run.pk}/pause/").status_code == 404
    assert run.pk not in [r["id"] for r in api.get("/api/v1/runs/").json()]
    client.force_login(outsider)
    assert client.get(f"/runs/{run.pk}/").status_code == 404


@pytest.mark.django_db
def test_api_answers_bad_input_in_words(run, member):
    from rest_framework.test import APIClient

    from apps.accounts.services import api_token_create

    _, secret = api_token_create(organisation=run.organisation, user=member, name="t")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.post("/api/v1/runs/", {"mapping_version": "x"}, format="json").status_code == 400
    response = api.post("/api/v1/runs/", {"mapping_version": 4242, "kind": "live"}, format="json")
    assert response.status_code == 400 and "mapping version" in response.json()["message"]
    response = api.post(f"/api/v1/runs/{run.pk}/rollback/", {"confirmation": "please"}, format="json")
    assert response.status_code == 400 and "ROLL BACK" in response.json()["message"]
    detail = api.get(f"/api/v1/runs/{run.pk}/").json()
    assert detail["state"] == "queued" and [p["phase"] for p in detail["phases"]][:3] == ["plan", "structure", "items"]
    assert api.get(f"/api/v1/runs/{run.pk}/items/nope/").status_code == 404


@pytest.mark.django_db
def test_run_pages_render(run, member, client):
    client.force_login(member)
    for url in ("/runs/", "/runs/previews/", "/runs/reports/", "/runs/new/", f"/runs/{run.pk}/",
                f"/runs/{run.pk}/progress/", f"/runs/{run.pk}/audit/"):
        response = client.get(url)
        assert response.status_code == 200, url
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert 'id="phases"' in page and "hx-get" in page  # live progress while it is active
    response = client.post(f"/runs/{run.pk}/rollback/", {"confirmation": "no"})
    assert response.status_code == 302


@pytest.mark.django_db
def test_staff_pause_resume_cancel_in_the_admin(run, django_capture_on_commit_callbacks):
    from apps.core.testing.factories import UserFactory

    staff = UserFactory(is_staff=True, is_superuser=True)
    from django.test import Client

    admin = Client()
    admin.force_login(staff)
    with django_capture_on_commit_callbacks(execute=False):
        response = admin.post("/admin/runs/run/", {"action": "pause_runs", "_selected_action": [run.pk]})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.state == Run.State.PAUSED
    assert AuditEvent.objects.for_organisation(run.organisation).filter(action="run.pause_requested",
                                                                        actor_kind="staff").exists()


class _ThrottlingDestination:
    """A destination whose link writes are throttled once for one link: what the engine must ride out."""

    kind, bulk_size, parallel, attachment_limit_bytes = "jira_cloud", 50, 3, None

    def __init__(self, throttled: str):
        self.throttled = throttled
        self.links: list[tuple[str, str, str]] = []

    def request_count(self):
        return len(self.links)

    def link(self, link):
        from apps.connections.connectors.errors import TransientError

        if link.source_id == self.throttled:
            self.throttled = ""
            raise TransientError("slow down", code="rate_limited")
        self.links.append((link.link_type, link.from_id, link.to_id))
        return records.WriteResult(source_id=link.source_id, destination_id=f"L{len(self.links)}")


@pytest.mark.django_db
def test_links_ride_out_throttling_and_are_written_once(run):
    from apps.runs.engine.execute import Engine
    from apps.runs.engine.ports import Recorded
    from apps.runs.models import RunLink

    _plan_rows(run, [(str(n), "", "Bug") for n in range(1, 7)])
    RunLink.unscoped.bulk_create([RunLink(organisation_id=run.organisation_id, run=run, ordinal=n,
                                          link_type="System.LinkTypes.Related", from_source_id=str(n),
                                          to_source_id=str(n + 1)) for n in range(1, 6)])
    Run.unscoped.filter(pk=run.pk).update(phase="links")
    run.refresh_from_db()
    assert store.lease_acquire(run_id=run.pk, step=run.step, owner="h:1:l")
    run_store = store.RunStore(run, owner="h:1:l")
    run_store.record(phase="items", written=[Recorded("items", str(n), f"D{n}", f"MIG-{n}") for n in range(1, 7)],
                     failed=[], retry=[], cursor={}, progress={})
    destination = _ThrottlingDestination(throttled="System.LinkTypes.Related|3|4")
    engine = Engine(plan=agile_to_jira_plan(), source=None, destination=destination, store=run_store)
    first = engine.phase_links()
    assert not first.phase_done  # stopped at the throttled link, checkpoint before it
    second = engine.phase_links()
    assert second.phase_done
    assert sorted(destination.links) == sorted(("Relates", f"D{n}", f"D{n + 1}") for n in range(1, 6))
    assert IdMapEntry.unscoped.filter(run=run, phase="links").count() == 5


@pytest.mark.django_db
def test_a_second_live_run_of_the_same_project_is_refused(run, member, connections, django_capture_on_commit_callbacks):
    with pytest.raises(ApplicationError) as refused:
        services.run_create(organisation=run.organisation, actor=member, kind="live", plan=agile_to_jira_plan(),
                            source_connection=connections[0], destination_connection=connections[1], start=False)
    assert f"#{run.pk}" in refused.value.message
    with django_capture_on_commit_callbacks(execute=False):
        preview = services.run_create(organisation=run.organisation, actor=member, kind="preview",
                                      plan=agile_to_jira_plan(), source_connection=connections[0],
                                      destination_connection=connections[1], start=False)
    assert preview.kind == "preview"  # previews are always allowed
