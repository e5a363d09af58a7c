"""The rules of Azure DevOps that a migration tool meets, as the sandbox enforces them."""

import json
import time
from datetime import UTC, datetime

import pytest

from apps.sandbox import services
from apps.sandbox.ado.models import AdoWorkItem
from apps.sandbox.ado.tests.conftest import AdoClient
from apps.sandbox.ado.wit import next_ids


def body(response):
    return json.loads(response.content)


def error(response):
    data = body(response)
    assert set(data) >= {"$id", "innerException", "message", "typeName", "typeKey", "errorCode", "eventId"}, data
    return data


def parent_link(item_id):
    return {"op": "add", "path": "/relations/-", "value": {"rel": "System.LinkTypes.Hierarchy-Reverse",
                                                           "url": f"http://x/_apis/wit/workItems/{item_id}"}}


# ------------------------------------------------------------------------------------------ auth, versions

def test_no_credential_is_401_and_missing_scope_is_403(ado_site, ado):
    anonymous = ado.client.get(ado.url("_apis/projects"))
    assert anonymous.status_code == 401
    assert "Basic" in anonymous["WWW-Authenticate"]
    _, reader = services.token_create(site=ado_site, name="reader", scopes=["vso.work"])
    read_only = AdoClient(ado_site, reader)
    assert read_only.get("_apis/wit/workitems/1").status_code == 200
    refused = read_only.create("Task", "Not allowed")
    assert refused.status_code == 403
    assert "vso.work_write" in error(refused)["message"]
    assert read_only.get("_apis/projects").status_code == 403  # projects need vso.project


def test_api_version_is_required_and_checked(ado):
    missing = ado.get("_apis/wit/workitems/1", version=None)
    assert missing.status_code == 400
    assert error(missing)["typeKey"] == "VssVersionNotSpecifiedException"
    assert ado.get("_apis/wit/workitems/1", version="9.0").status_code == 400
    by_header = ado.get("_apis/wit/workitems/1", version=None, HTTP_ACCEPT="application/json; api-version=7.1")
    assert by_header.status_code == 200
    preview = ado.get("Fabrikam Fiber/_apis/wit/workitems/1/comments", version="7.1")
    assert error(preview)["typeKey"] == "VssInvalidPreviewVersionException"
    assert ado.get("Fabrikam Fiber/_apis/wit/workitems/1/comments", version="7.1-preview.4").status_code == 200


def test_unknown_organisation_is_404(ado):
    response = ado.client.get("/sandbox/ado/nobody/_apis/projects?api-version=7.1", HTTP_AUTHORIZATION=ado.auth)
    assert response.status_code == 404
    assert "VS800075" in error(response)["message"]


# ------------------------------------------------------------------------------------------ reads

def test_ids_are_capped_at_200_with_vs403474(ado):
    ids = ",".join(str(i) for i in range(1, 202))
    response = ado.get(f"_apis/wit/workitems?ids={ids}")
    assert response.status_code == 400
    assert error(response)["message"].startswith("VS403474")
    batch = ado.post("_apis/wit/workitemsbatch", {"ids": list(range(1, 202))})
    assert error(batch)["message"].startswith("VS403474")
    ok = ado.post("_apis/wit/workitemsbatch", {"ids": list(range(1, 61)), "fields": ["System.Id", "System.Title"]})
    assert ok.status_code == 200
    values = body(ok)["value"]
    assert [v["id"] for v in values] == list(range(1, 61))
    assert all(set(v["fields"]) == {"System.Id", "System.Title"} for v in values)


def test_error_policy_expand_and_fields(ado):
    failing = ado.get("_apis/wit/workitems?ids=1,99999")
    assert failing.status_code == 404
    assert "TF401232" in error(failing)["message"]
    omitted = body(ado.get("_apis/wit/workitems?ids=1,99999&errorPolicy=omit"))
    assert omitted["count"] == 2 and omitted["value"][1] is None
    conflict = ado.get("_apis/wit/workitems?ids=1&fields=System.Title&$expand=relations")
    assert "VS403437" in error(conflict)["message"]
    child = AdoWorkItem.objects.filter(site=ado.site, fields__has_key="System.Parent").first()
    expanded = body(ado.get(f"_apis/wit/workitems/{child.item_id}?$expand=relations"))
    assert any(r["rel"] == "System.LinkTypes.Hierarchy-Reverse" for r in expanded["relations"])
    assert "relations" not in body(ado.get(f"_apis/wit/workitems/{child.item_id}"))


def test_as_of_returns_the_fields_of_that_time(ado):
    created = body(ado.create("Task", "First title"))
    time.sleep(0.01)
    between = datetime.now(UTC)
    time.sleep(0.01)
    ado.patch(f"_apis/wit/workitems/{created['id']}", [{"op": "replace", "path": "/fields/System.Title", "value": "Second"}])
    old = body(ado.get(f"_apis/wit/workitems/{created['id']}?asOf={between.isoformat().replace('+00:00', 'Z')}"))
    assert old["fields"]["System.Title"] == "First title" and old["rev"] == 1
    assert body(ado.get(f"_apis/wit/workitems/{created['id']}"))["fields"]["System.Title"] == "Second"


def test_wiql_where_and_order(ado):
    query = ("SELECT [System.Id], [System.Title] FROM WorkItems WHERE [System.TeamProject] = @project "
             "AND [System.WorkItemType] IN ('Task', 'Bug') AND [System.State] <> 'Removed' ORDER BY [System.ChangedDate] DESC")
    result = body(ado.post("Fabrikam Fiber/_apis/wit/wiql", {"query": query}))
    ids = [w["id"] for w in result["workItems"]]
    expected = AdoWorkItem.objects.filter(site=ado.site, work_item_type__in=["Task", "Bug"]).exclude(state="Removed")
    assert sorted(ids) == sorted(expected.values_list("item_id", flat=True))
    changed = [AdoWorkItem.objects.get(site=ado.site, item_id=i).changed_date for i in ids]
    assert changed == sorted(changed, reverse=True)
    assert result["sortColumns"][0]["descending"] is True
    top = body(ado.post("Fabrikam Fiber/_apis/wit/wiql?$top=3", {"query": query}))
    assert [w["id"] for w in top["workItems"]] == ids[:3]
    since = AdoWorkItem.objects.filter(site=ado.site).order_by("changed_date")[30].changed_date
    incremental = body(ado.post(
        "_apis/wit/wiql?timePrecision=true",
        {"query": f"SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] > '{since.isoformat()}'"}))  # noqa: S608 (WIQL)
    assert len(incremental["workItems"]) == AdoWorkItem.objects.filter(site=ado.site, changed_date__gt=since).count()
    under = body(ado.post("_apis/wit/wiql", {"query": "SELECT [System.Id] FROM WorkItems WHERE [System.AreaPath] UNDER 'Fabrikam Fiber\\Web'"}))
    assert all(AdoWorkItem.objects.get(site=ado.site, item_id=w["id"]).fields["System.AreaPath"].startswith("Fabrikam Fiber\\Web")
               for w in under["workItems"])


@pytest.mark.parametrize("query, code", [
    ("SELECT [System.Id] FROM WorkItems WHERE [No.Such.Field] = 1", "TF51005"),
    ("SELECT [System.Id] FROM WorkItems WHERE", "TF51006"),
    ("DELETE FROM WorkItems", "TF51006"),
    ("", "VS402335"),
])
def test_bad_wiql_is_a_400_with_the_service_code(ado, query, code):
    response = ado.post("Fabrikam Fiber/_apis/wit/wiql", {"query": query})
    assert response.status_code == 400
    assert code in error(response)["message"]


def test_wiql_cap_of_20000_results_is_vs402337(ado_site, ado):
    project = ado_site.ado_projects.get()
    first = next_ids(ado_site, "work_item", 20_000)
    now = datetime.now(UTC)
    AdoWorkItem.objects.bulk_create([
        AdoWorkItem(site=ado_site, project=project, item_id=first + n, work_item_type="Task", state="New", changed_date=now,
                    fields={"System.Id": first + n, "System.Title": "bulk", "System.WorkItemType": "Task",
                            "System.TeamProject": project.name})
        for n in range(20_000)
    ], batch_size=5000)
    query = {"query": "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project"}
    response = ado.post("Fabrikam Fiber/_apis/wit/wiql", query)
    assert response.status_code == 400
    assert error(response)["message"].startswith("VS402337")
    capped = ado.post("Fabrikam Fiber/_apis/wit/wiql?$top=20000", query)
    assert capped.status_code == 200 and len(body(capped)["workItems"]) == 20_000


# ------------------------------------------------------------------------------------------ writes

def test_create_requires_a_title_and_the_json_patch_content_type(ado):
    no_title = ado.post("Fabrikam Fiber/_apis/wit/workitems/$Task",
                        [{"op": "add", "path": "/fields/System.Description", "value": "x"}], content_type="application/json-patch+json")
    assert no_title.status_code == 400 and "TF401320" in error(no_title)["message"]
    wrong_type = ado.post("Fabrikam Fiber/_apis/wit/workitems/$Task", [{"op": "add", "path": "/fields/System.Title", "value": "x"}])
    assert wrong_type.status_code == 415
    unknown = ado.create("Spaceship", "x")
    assert unknown.status_code == 404 and "VS402323" in error(unknown)["message"]
    not_a_list = ado.post("Fabrikam Fiber/_apis/wit/workitems/$Task", {"title": "x"}, content_type="application/json-patch+json")
    assert not_a_list.status_code == 400


def test_states_and_picklists_are_enforced(ado):
    bad_state = ado.create("Task", "x", {"op": "add", "path": "/fields/System.State", "value": "Flying"})
    assert bad_state.status_code == 400 and "InvalidListValue" in error(bad_state)["message"]
    not_initial = ado.create("Task", "x", {"op": "add", "path": "/fields/System.State", "value": "Closed"})
    assert not_initial.status_code == 400
    bypassed = ado.create("Task", "x", {"op": "add", "path": "/fields/System.State", "value": "Closed"}, query="?bypassRules=true")
    assert bypassed.status_code == 200 and body(bypassed)["fields"]["System.State"] == "Closed"
    created = body(ado.create("Task", "moves"))
    moved = ado.patch(f"_apis/wit/workitems/{created['id']}", [{"op": "add", "path": "/fields/System.State", "value": "Active"}])
    assert body(moved)["fields"]["System.State"] == "Active" and body(moved)["fields"]["System.Reason"]
    bad_priority = ado.create("Task", "x", {"op": "add", "path": "/fields/Microsoft.VSTS.Common.Priority", "value": 9})
    assert "LimitedToValues" in error(bad_priority)["message"]
    bad_area = ado.create("Task", "x", {"op": "add", "path": "/fields/System.AreaPath", "value": "Fabrikam Fiber\\Nowhere"})
    assert "TF401347" in error(bad_area)["message"]
    unknown_field = ado.create("Task", "x", {"op": "add", "path": "/fields/Custom.Nope", "value": 1})
    assert "TF51535" in error(unknown_field)["message"]


def test_identities_are_resolved_and_people_who_left_need_bypass(ado):
    by_mail = body(ado.create("Task", "x", {"op": "add", "path": "/fields/System.AssignedTo", "value": "zoe.angstrom@fabrikam.example"}))
    assert by_mail["fields"]["System.AssignedTo"]["displayName"] == "Zoë Ångström"
    by_text = body(ado.create("Task", "x", {"op": "add", "path": "/fields/System.AssignedTo", "value": "张伟 <zhang.wei@fabrikam.example>"}))
    assert by_text["fields"]["System.AssignedTo"]["uniqueName"] == "zhang.wei@fabrikam.example"
    unknown = ado.create("Task", "x", {"op": "add", "path": "/fields/System.AssignedTo", "value": "nobody@else.example"})
    assert "unknown identity" in error(unknown)["message"]
    left = ado.create("Task", "x", {"op": "add", "path": "/fields/System.AssignedTo", "value": "johnnie.mcleod@fabrikam.example"})
    assert left.status_code == 400
    kept = ado.create("Task", "x", {"op": "add", "path": "/fields/System.AssignedTo", "value": "johnnie.mcleod@fabrikam.example"},
                      query="?bypassRules=true")
    assert body(kept)["fields"]["System.AssignedTo"]["inactive"] is True
    free_text = ado.create("Task", "x", {"op": "add", "path": "/fields/System.AssignedTo", "value": "Invalid Value"}, query="?bypassRules=true")
    assert body(free_text)["fields"]["System.AssignedTo"] == "Invalid Value"


def test_created_date_and_by_only_with_bypass_rules_and_only_at_creation(ado):
    when = "2019-03-04T05:06:07.5Z"
    ops = [{"op": "add", "path": "/fields/System.CreatedDate", "value": when},
           {"op": "add", "path": "/fields/System.CreatedBy", "value": "chuck.reinhart@fabrikam.example"}]
    refused = ado.create("Task", "history", *ops)
    assert refused.status_code == 400 and "TF401326" in error(refused)["message"]
    created = body(ado.create("Task", "history", *ops, query="?bypassRules=true"))
    assert created["fields"]["System.CreatedDate"] == when
    assert created["fields"]["System.ChangedDate"] == when  # the first revision is dated at creation
    assert created["fields"]["System.CreatedBy"]["uniqueName"] == "chuck.reinhart@fabrikam.example"
    later = ado.patch(f"_apis/wit/workitems/{created['id']}?bypassRules=true",
                      [{"op": "add", "path": "/fields/System.CreatedDate", "value": "2019-03-05T00:00:00Z"}])
    assert later.status_code == 400 and "TF401326" in error(later)["message"]
    assert body(ado.get(f"_apis/wit/workitems/{created['id']}"))["rev"] == 1


def test_changed_date_must_increase_per_revision_vs402625(ado):
    created = body(ado.create("Task", "dated", {"op": "add", "path": "/fields/System.CreatedDate", "value": "2020-01-01T00:00:00Z"},
                              query="?bypassRules=true"))
    url = f"_apis/wit/workitems/{created['id']}?bypassRules=true"

    def change(date, title):
        return ado.patch(url, [{"op": "add", "path": "/fields/System.ChangedDate", "value": date},
                               {"op": "add", "path": "/fields/System.Title", "value": title}])

    assert change("2020-02-01T00:00:00Z", "second").status_code == 200
    same = change("2020-02-01T00:00:00Z", "third")
    assert same.status_code == 400 and error(same)["message"].startswith("VS402625")
    earlier = change("2020-01-15T00:00:00Z", "third")
    assert error(earlier)["message"].startswith("VS402625")
    assert change("2020-03-01T00:00:00Z", "third").status_code == 200
    no_bypass = ado.patch(f"_apis/wit/workitems/{created['id']}", [{"op": "add", "path": "/fields/System.ChangedDate", "value": "2021-01-01T00:00:00Z"}])
    assert "TF401326" in error(no_bypass)["message"]
    updates = body(ado.get(f"_apis/wit/workitems/{created['id']}/updates"))["value"]
    dates = [u["revisedDate"] for u in updates]
    assert dates == sorted(dates) and len(set(dates)) == len(dates) == 3


def test_one_parent_and_links_kept_on_both_ends(ado):
    a = body(ado.create("User Story", "parent A"))["id"]
    b = body(ado.create("User Story", "parent B"))["id"]
    child = body(ado.create("Task", "child", parent_link(a)))
    assert child["fields"]["System.Parent"] == a
    parent_a = body(ado.get(f"_apis/wit/workitems/{a}?$expand=relations"))
    assert parent_a["rev"] == 2  # the other end got its own revision
    assert {"rel": "System.LinkTypes.Hierarchy-Forward", "id": child["id"]} in [
        {"rel": r["rel"], "id": int(r["url"].rsplit("/", 1)[1])} for r in parent_a["relations"]]
    second = ado.patch(f"_apis/wit/workitems/{child['id']}", [parent_link(b)])
    assert second.status_code == 400 and "TF201036" in error(second)["message"]
    adopt = ado.patch(f"_apis/wit/workitems/{b}", [{"op": "add", "path": "/relations/-", "value": {
        "rel": "System.LinkTypes.Hierarchy-Forward", "url": f"http://x/_apis/wit/workItems/{child['id']}"}}])
    assert adopt.status_code == 400 and "TF201036" in error(adopt)["message"]
    self_link = ado.patch(f"_apis/wit/workitems/{a}", [{"op": "add", "path": "/relations/-", "value": {
        "rel": "System.LinkTypes.Related", "url": f"http://x/_apis/wit/workItems/{a}"}}])
    assert self_link.status_code == 400
    # Remove the parent link: both ends lose it.
    removed = ado.patch(f"_apis/wit/workitems/{child['id']}?$expand=relations", [{"op": "remove", "path": "/relations/0"}])
    assert "System.Parent" not in body(removed)["fields"]
    assert "relations" not in body(ado.get(f"_apis/wit/workitems/{a}?$expand=relations"))
    assert ado.patch(f"_apis/wit/workitems/{child['id']}", [parent_link(b)]).status_code == 200


def test_every_link_kind(ado):
    other = body(ado.create("Bug", "other"))["id"]
    upload = body(ado.post("_apis/wit/attachments?fileName=notes.txt", b"hello", content_type="application/octet-stream"))
    ops = [{"op": "add", "path": "/relations/-", "value": {"rel": rel, "url": f"http://x/_apis/wit/workItems/{other}"}}
           for rel in ("System.LinkTypes.Related", "system.linktypes.dependency-forward", "System.LinkTypes.Duplicate-Forward")]
    ops += [
        {"op": "add", "path": "/relations/-", "value": {"rel": "AttachedFile", "url": upload["url"], "attributes": {"comment": "spec"}}},
        {"op": "add", "path": "/relations/-", "value": {"rel": "Hyperlink", "url": "https://example.org/design"}},
        {"op": "add", "path": "/relations/-", "value": {"rel": "ArtifactLink", "url": "vstfs:///Git/Commit/abc%2Fdef%2F123",
                                                        "attributes": {"name": "Fixed in Commit"}}},
    ]
    created = body(ado.create("Task", "linked", *ops, query="?$expand=relations"))
    rels = sorted(r["rel"] for r in created["relations"])
    assert rels == sorted(["System.LinkTypes.Related", "System.LinkTypes.Dependency-Forward", "System.LinkTypes.Duplicate-Forward",
                           "AttachedFile", "Hyperlink", "ArtifactLink"])
    mirrored = sorted(r["rel"] for r in body(ado.get(f"_apis/wit/workitems/{other}?$expand=relations"))["relations"])
    assert mirrored == ["System.LinkTypes.Dependency-Reverse", "System.LinkTypes.Duplicate-Reverse", "System.LinkTypes.Related"]
    duplicate = ado.patch(f"_apis/wit/workitems/{created['id']}", [ops[0]])
    assert "TF201035" in error(duplicate)["message"]
    bad = ado.create("Task", "x", {"op": "add", "path": "/relations/-", "value": {"rel": "Nonsense", "url": "http://x"}})
    assert bad.status_code == 400


def test_validate_only_writes_nothing_and_test_rev_guards_concurrency(ado):
    created = body(ado.create("Task", "original"))
    url = f"_apis/wit/workitems/{created['id']}"
    preview = ado.patch(url + "?validateOnly=true", [{"op": "test", "path": "/rev", "value": 1},
                                                     {"op": "add", "path": "/fields/System.Title", "value": "changed"}])
    assert preview.status_code == 200 and body(preview)["fields"]["System.Title"] == "changed"
    assert body(ado.get(url))["fields"]["System.Title"] == "original"
    assert ado.create("Task", "dry", query="?validateOnly=true").status_code == 200
    stale = ado.patch(url, [{"op": "test", "path": "/rev", "value": 7}, {"op": "add", "path": "/fields/System.Title", "value": "x"}])
    assert stale.status_code == 412


def test_revisions_and_updates_page_with_top_and_skip(ado):
    heavy = AdoWorkItem.objects.filter(site=ado.site).order_by("-rev").first()
    assert heavy.rev >= 3
    all_updates = body(ado.get(f"_apis/wit/workitems/{heavy.item_id}/updates"))["value"]
    assert [u["rev"] for u in all_updates] == list(range(1, heavy.rev + 1))
    page = body(ado.get(f"_apis/wit/workitems/{heavy.item_id}/updates?$top=2&$skip=1"))["value"]
    assert [u["rev"] for u in page] == [2, 3]
    revisions = body(ado.get(f"_apis/wit/workitems/{heavy.item_id}/revisions"))["value"]
    assert len(revisions) == heavy.rev
    assert revisions[-1]["fields"]["System.Title"] == heavy.fields["System.Title"]
    assert revisions[-1]["fields"]["System.State"] == heavy.state
    one = body(ado.get(f"_apis/wit/workitems/{heavy.item_id}/revisions/2"))
    assert one["rev"] == 2 and one["fields"] == revisions[1]["fields"]
    assert ado.get(f"_apis/wit/workitems/{heavy.item_id}/revisions/999").status_code == 404


def test_comments_add_page_edit_delete(ado):
    item = body(ado.create("Task", "talk"))
    base = f"Fabrikam Fiber/_apis/wit/workitems/{item['id']}/comments"
    v = "7.1-preview.4"
    for n in range(5):
        assert ado.post(base, {"text": f"comment **{n}**"}, version=v + "&format=markdown").status_code == 200
    assert body(ado.get(f"_apis/wit/workitems/{item['id']}"))["rev"] == 6  # each comment is a revision
    first = body(ado.get(base + "?$top=2&order=asc&$expand=renderedText", version=v))
    assert first["totalCount"] == 5 and first["count"] == 2
    assert "<strong>0</strong>" in first["comments"][0]["renderedText"]
    seen = [c["text"] for c in first["comments"]]
    token = first["continuationToken"]
    while token:
        page = body(ado.get(base + f"?$top=2&order=asc&continuationToken={token}", version=v))
        seen += [c["text"] for c in page["comments"]]
        token = page.get("continuationToken")
    assert seen == [f"comment **{n}**" for n in range(5)]
    comment_id = body(ado.get(base, version=v))["comments"][0]["id"]
    edited = body(ado.patch(f"{base}/{comment_id}", {"text": "edited"}, version=v, content_type="application/json"))
    assert edited["version"] == 2 and edited["text"] == "edited"
    assert ado.delete(f"{base}/{comment_id}", version=v).status_code == 204
    assert body(ado.get(base, version=v))["totalCount"] == 4
    assert body(ado.get(base + "?includeDeleted=true", version=v))["totalCount"] == 5
    assert ado.post(base, {"text": "  "}, version=v).status_code == 400


def test_attachments_simple_chunked_download_and_size_limit(ado_site, ado):
    simple = ado.post("_apis/wit/attachments?fileName=café ☕.txt", "Grüße 👋".encode(), content_type="application/octet-stream")
    assert simple.status_code == 201
    guid = body(simple)["id"]
    download = ado.get(f"_apis/wit/attachments/{guid}?download=true")
    assert download.status_code == 200 and download.content == "Grüße 👋".encode()
    started = body(ado.post("_apis/wit/attachments?fileName=big.bin&uploadType=Chunked", b"", content_type="application/octet-stream"))
    data = bytes(range(256)) * 40
    assert ado.get(f"_apis/wit/attachments/{started['id']}").status_code == 404  # not complete yet
    for start in range(0, len(data), 4096):
        chunk = data[start:start + 4096]
        response = ado.put(f"_apis/wit/attachments/{started['id']}?uploadType=Chunked", chunk,
                           HTTP_CONTENT_RANGE=f"bytes {start}-{start + len(chunk) - 1}/{len(data)}")
        assert response.status_code == 201, response.content
    assert ado.get(f"_apis/wit/attachments/{started['id']}").content == data
    out_of_order = body(ado.post("_apis/wit/attachments?fileName=x.bin&uploadType=Chunked", b"", content_type="application/octet-stream"))
    assert ado.put(f"_apis/wit/attachments/{out_of_order['id']}", b"abc", HTTP_CONTENT_RANGE="bytes 10-12/20").status_code == 400
    services.site_controls_update(site=ado_site, controls={})
    ado_site.options["attachment_max_bytes"] = 100
    ado_site.save()
    too_big = ado.post("_apis/wit/attachments?fileName=big.txt", b"x" * 101, content_type="application/octet-stream")
    assert too_big.status_code == 413 and "VS403313" in error(too_big)["message"]
    assert ado.post("_apis/wit/attachments", b"x", content_type="application/octet-stream").status_code == 400


def test_deleted_items_leave_wiql_and_come_back_from_the_recycle_bin(ado):
    item = body(ado.create("Task", "doomed"))["id"]
    query = {"query": f"SELECT [System.Id] FROM WorkItems WHERE [System.Id] = {item}"}  # noqa: S608 (WIQL)
    assert len(body(ado.post("_apis/wit/wiql", query))["workItems"]) == 1
    deleted = ado.delete(f"_apis/wit/workitems/{item}")
    assert deleted.status_code == 200 and body(deleted)["id"] == item
    assert body(ado.post("_apis/wit/wiql", query))["workItems"] == []
    assert ado.get(f"_apis/wit/workitems/{item}").status_code == 404
    bin_ids = [w["id"] for w in body(ado.get("Fabrikam Fiber/_apis/wit/recyclebin"))["value"]]
    assert item in bin_ids
    restored = ado.patch(f"Fabrikam Fiber/_apis/wit/recyclebin/{item}", {"isDeleted": False}, content_type="application/json")
    assert restored.status_code == 200
    assert len(body(ado.post("_apis/wit/wiql", query))["workItems"]) == 1
    ado.delete(f"_apis/wit/workitems/{item}")
    assert ado.delete(f"Fabrikam Fiber/_apis/wit/recyclebin/{item}").status_code == 204
    assert not AdoWorkItem.objects.filter(site=ado.site, item_id=item).exists()


def test_classification_nodes_depth_and_create_with_dates(ado):
    roots = body(ado.get("Fabrikam Fiber/_apis/wit/classificationnodes?$depth=1"))["value"]
    assert [r["structureType"] for r in roots] == ["area", "iteration"]
    assert all("children" in r and all("children" not in c for c in r["children"]) for r in roots)
    created = ado.post("Fabrikam Fiber/_apis/wit/classificationnodes/Iterations/Release 1",
                       {"name": "Hardening", "attributes": {"startDate": "2026-01-05T00:00:00Z", "finishDate": "2026-01-16T00:00:00Z"}})
    assert created.status_code == 201
    node = body(created)
    assert node["attributes"]["startDate"] == "2026-01-05T00:00:00Z" and node["path"].endswith("\\Iteration\\Release 1\\Hardening")
    fetched = body(ado.get("Fabrikam Fiber/_apis/wit/classificationnodes/Iterations/Release 1/Hardening"))
    assert fetched["id"] == node["id"]
    duplicate = ado.post("Fabrikam Fiber/_apis/wit/classificationnodes/Iterations/Release 1", {"name": "Hardening"})
    assert duplicate.status_code == 409
    backwards = ado.post("Fabrikam Fiber/_apis/wit/classificationnodes/Iterations",
                         {"name": "Backwards", "attributes": {"startDate": "2026-02-01T00:00:00Z", "finishDate": "2026-01-01T00:00:00Z"}})
    assert backwards.status_code == 400
    moved = ado.create("Task", "sprinted", {"op": "add", "path": "/fields/System.IterationPath", "value": "Fabrikam Fiber\\Release 1\\Hardening"})
    assert body(moved)["fields"]["System.IterationId"] == node["id"]


def test_batch_runs_each_request_on_its_own(ado):
    item = body(ado.create("Task", "batch me"))["id"]
    operations = [
        {"method": "PATCH", "uri": "/Fabrikam Fiber/_apis/wit/workitems/$Task?api-version=7.1",
         "headers": {"Content-Type": "application/json-patch+json"}, "body": [{"op": "add", "path": "/fields/System.Title", "value": "from batch"}]},
        {"method": "PATCH", "uri": f"/_apis/wit/workitems/{item}?api-version=7.1",
         "headers": {"Content-Type": "application/json-patch+json"}, "body": [{"op": "add", "path": "/fields/System.Title", "value": "renamed"}]},
        {"method": "PATCH", "uri": "/_apis/wit/workitems/999999?api-version=7.1", "body": [{"op": "add", "path": "/fields/System.Title", "value": "x"}]},
        # A URL-encoded project and type, as a client that builds the uri with a URL library sends them.
        {"method": "PATCH", "uri": "/Fabrikam%20Fiber/_apis/wit/workitems/$User%20Story?api-version=7.1",
         "headers": {"Content-Type": "application/json-patch+json"}, "body": [{"op": "add", "path": "/fields/System.Title", "value": "encoded"}]},
    ]
    result = body(ado.post("_apis/wit/$batch", operations))
    assert [r["code"] for r in result["value"]] == [200, 200, 404, 200]
    assert json.loads(result["value"][3]["body"])["fields"]["System.WorkItemType"] == "User Story"
    assert json.loads(result["value"][0]["body"])["fields"]["System.Title"] == "from batch"
    assert body(ado.get(f"_apis/wit/workitems/{item}"))["fields"]["System.Title"] == "renamed"
    assert "TF401232" in json.loads(result["value"][2]["body"])["message"]


def test_identities_lookup(ado):
    found = body(ado.get("_apis/identities?searchFilter=General&filterValue=zoe.angstrom@fabrikam.example"))
    assert found["count"] == 1 and found["value"][0]["providerDisplayName"] == "Zoë Ångström"
    left = body(ado.get("_apis/identities?searchFilter=MailAddress&filterValue=johnnie.mcleod@fabrikam.example"))
    assert left["value"][0]["isActive"] is False
    assert ado.get("_apis/identities").status_code == 400


# ------------------------------------------------------------------------------------------ machinery on ADO

def test_429_with_ado_headers_then_success_after_retry_after(ado_site, ado):
    services.site_controls_update(site=ado_site, controls={"rate_limit_token": 4, "rate_window_seconds": 2,
                                                           "delay_after_percent": 50, "delay_ms": 20})
    time.sleep(2 - time.time() % 2)
    responses = [ado.get("_apis/wit/workitems/1") for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    assert "X-RateLimit-Delay" not in responses[0]
    delayed = responses[3]
    assert delayed["X-RateLimit-Delay"] == "0.020" and delayed["X-RateLimit-Remaining"] == "0"
    blocked = responses[4]
    data = error(blocked)
    assert data["message"].startswith("TF400733") and data["typeKey"] == "RequestBlockedException"
    for header in ("Retry-After", "X-RateLimit-Resource", "X-RateLimit-Delay", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert blocked.has_header(header), header
    assert int(blocked["X-RateLimit-Limit"]) == 4
    time.sleep(int(blocked["Retry-After"]))
    assert ado.get("_apis/wit/workitems/1").status_code == 200


def test_faults_on_ado_are_deterministic_under_a_seed(ado_site, ado):
    def run():
        return [ado.get("_apis/wit/workitems/1").status_code for _ in range(25)]

    services.site_controls_update(site=ado_site, controls={"fault_rate": 0.4, "fault_kinds": ["http_500", "http_503"], "seed": 2024})
    first = run()
    assert 200 in first and ({500, 503} & set(first))
    services.site_controls_update(site=ado_site, controls={"seed": 2024})
    assert run() == first
    failures = [r for r in [ado.get("_apis/wit/workitems/1") for _ in range(10)] if r.status_code >= 500]
    assert all(error(r)["typeKey"] for r in failures)


def test_bad_input_never_500s(ado):
    cases = [
        ado.post("_apis/wit/workitemsbatch", b"{not json", content_type="application/json"),
        ado.post("_apis/wit/workitemsbatch", {"ids": ["a"]}),
        ado.post("_apis/wit/workitemsbatch", {"ids": [1], "$expand": "everything"}),
        ado.get("_apis/wit/workitems?ids="),
        ado.get("_apis/wit/workitems/1?asOf=yesterday"),
        ado.get("_apis/wit/workitems/1/updates?$top=-1"),
        ado.patch("_apis/wit/workitems/1", [{"op": "jump", "path": "/fields/System.Title"}]),
        ado.patch("_apis/wit/workitems/1", [{"op": "remove", "path": "/relations/99"}]),
        ado.get("Nope/_apis/wit/workitemtypes"),
        ado.get("Fabrikam Fiber/_apis/wit/classificationnodes/Bogus"),
        ado.post("_apis/wit/$batch", {"not": "a list"}),
    ]
    assert all(400 <= r.status_code < 500 for r in cases), [(r.status_code, r.content[:100]) for r in cases]
