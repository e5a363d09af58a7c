"""The platform REST API: /rest/api/3 on Jira Cloud sites, /rest/api/2 on Jira Data Center sites.

Each view is `view(request, ctx, api, ...)` behind the sandbox pipeline; errors are raised as
`jira_error(...)` and answered in Jira's shape."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone

from apps.sandbox.jira import catalog, services
from apps.sandbox.jira.adapter import (
    SCOPE_READ,
    SCOPE_USER,
    SCOPE_WRITE,
    jira_adapter,
    jira_datetime,
    jira_error,
    respond,
    respond_empty,
)
from apps.sandbox.jira.jql import JqlError, jql_parse
from apps.sandbox.jira.models import (
    JiraAttachment,
    JiraChangelog,
    JiraComment,
    JiraComponent,
    JiraIssue,
    JiraIssueLink,
    JiraIssueType,
    JiraProject,
    JiraUser,
    JiraVersion,
)
from apps.sandbox.jira.render import Renderer
from apps.sandbox.machinery import VendorError

READ_WRITE = {"GET": SCOPE_READ, "*": SCOPE_WRITE}
BULK_CREATE_MAX = 50
BULK_FETCH_MAX = 100
CHANGELOG_BULK_MAX_ISSUES = 1000
SEARCH_IDS_MAX = 5000
SEARCH_FIELDS_MAX = 100
DC_SEARCH_MAX = 1000
CREATEMETA_MAX = 200
UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
REMOVED_SEARCH = ("The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
                  "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046")
REMOVED_CREATEMETA = ("The requested API has been removed. Please use /rest/api/{api}/issue/createmeta/{{projectIdOrKey}}/issuetypes "
                      "and /rest/api/{api}/issue/createmeta/{{projectIdOrKey}}/issuetypes/{{issueTypeId}} instead.")


# --- helpers ----------------------------------------------------------------------------------------
def _check_api(ctx, api):
    expected = "3" if ctx.site.kind == "jira_cloud" else "2"
    if api != expected:
        raise jira_error(404, f"null for uri: /rest/api/{api} (this {ctx.site.get_kind_display()} site serves /rest/api/{expected})")


def _cloud_only(ctx, request):
    """Resources Jira Data Center 9 does not have answer as its REST layer does."""
    if ctx.site.kind != "jira_cloud":
        raise jira_error(404, f"null for uri: {request.build_absolute_uri()}")


def _method_not_allowed(request):
    response = respond(request, {"errorMessages": [f"Method {request.method} is not allowed here."], "errors": {}}, status=405)
    return response


def body_json(request, *, allowed: tuple[str, ...] | None = None):
    """The JSON body. `allowed` names the properties of a request bean that refuses others (Jira's
    Jackson beans answer an unknown property with 400)."""
    if not request.body:
        raise jira_error(400, "No content to map due to end-of-input")
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise jira_error(400, f"Unexpected character in the request body: {exc}") from None
    if allowed is not None:
        if not isinstance(payload, dict):
            raise jira_error(400, "Can not deserialize the request body: expected an object.")
        unknown = sorted(set(payload) - set(allowed))
        if unknown:
            raise jira_error(400, f'Unrecognized field "{unknown[0]}" (known properties: {", ".join(allowed)}).')
    return payload


def actor(ctx) -> JiraUser:
    principal = ctx.token.principal if ctx.token else {}
    users = JiraUser.objects.filter(site=ctx.site)
    user = (users.filter(account_id=principal.get("accountId")).first() if principal.get("accountId")
            else users.filter(name=principal.get("name")).first())
    return user or services.jira_site_admin(site=ctx.site)


def int_param(request, name, default, *, minimum=0, maximum=None):
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise jira_error(400, f"The value '{raw}' of the '{name}' parameter is not a number.") from None
    if value < minimum:
        raise jira_error(400, f"The '{name}' parameter must be {minimum} or more.")
    return min(value, maximum) if maximum else value


def list_param(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        items = value
    else:
        items = [value]
    out = []
    for item in items:
        out += [part.strip() for part in str(item).split(",") if part.strip()]
    return out


def page_bean(request, values, start, max_results, total, *, key="values") -> dict:
    is_last = start + len(values) >= total
    data = {"self": request.build_absolute_uri(), "maxResults": max_results, "startAt": start, "total": total,
            "isLast": is_last, key: values}
    if not is_last:
        query = request.GET.copy()
        query["startAt"] = str(start + len(values))
        data["nextPage"] = request.build_absolute_uri(request.path + "?" + query.urlencode())
    return data


def page_of(request, values: list, *, default: int, maximum: int) -> dict:
    """A PageBean over a list already in memory, from the request's startAt and maxResults."""
    start = int_param(request, "startAt", 0)
    max_results = int_param(request, "maxResults", default, minimum=1, maximum=maximum)
    return page_bean(request, values[start:start + max_results], start, max_results, len(values))


def project_or_404(site, ref) -> JiraProject:
    projects = JiraProject.objects.filter(site=site)
    project = projects.filter(pk=int(ref)).first() if str(ref).isdigit() else projects.filter(key=str(ref).upper()).first()
    if project is None:
        raise jira_error(404, f"No project could be found with key '{ref}'.")
    return project


def field_selection(renderer: Renderer, raw: list[str], *, default) -> set[str] | None:
    """The `fields` parameter: `*all`, `*navigable`, names, and `-name` exclusions. None means all."""
    if not raw:
        return default
    every = set(catalog.SYSTEM_FIELDS) | {f.field_id for f in renderer.fields()}
    chosen: set[str] = set()
    for item in raw:
        if item == "*all":
            chosen |= every
        elif item == "*navigable":
            chosen |= (catalog.NAVIGABLE_FIELDS | {f.field_id for f in renderer.fields()})
        elif not item.startswith("-"):
            chosen.add(item)
    for item in raw:
        if item.startswith("-"):
            chosen.discard(item[1:])
    return chosen


# --- metadata ---------------------------------------------------------------------------------------
@jira_adapter.endpoint(name="myself", scope=SCOPE_USER)
def myself(request, ctx, api):
    _check_api(ctx, api)
    return respond(request, Renderer(request, ctx.site).user(actor(ctx), full=True))


@jira_adapter.endpoint(name="serverInfo", scope=None, auth=False)
def server_info(request, ctx, api):
    _check_api(ctx, api)
    cloud = ctx.site.kind == "jira_cloud"
    base = request.build_absolute_uri(f"/sandbox/jira/{ctx.site.slug}").rstrip("/")
    data = {"baseUrl": base, "displayUrl": base, "deploymentType": "Cloud" if cloud else "Server",
            "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.15", "versionNumbers": [1001, 0, 0] if cloud else [9, 12, 15],
            "buildNumber": 100283 if cloud else 9120015, "buildDate": "2026-11-01T00:00:00.000+0000",
            "serverTime": jira_datetime(timezone.now()), "scmInfo": "sandbox", "serverTitle": ctx.site.name or "Jira"}
    if not cloud:
        data["deploymentType"] = "Server"
    return respond(request, data)


@jira_adapter.endpoint(name="project.search", scope=SCOPE_READ)
def project_search(request, ctx, api):
    _check_api(ctx, api)
    _cloud_only(ctx, request)
    renderer = Renderer(request, ctx.site)
    projects = JiraProject.objects.filter(site=ctx.site).order_by("key")
    query = request.GET.get("query", "").strip()
    if query:
        projects = projects.filter(Q(key__icontains=query) | Q(name__icontains=query))
    keys = list_param(request.GET.getlist("keys"))
    if keys:
        projects = projects.filter(key__in=[k.upper() for k in keys])
    start = int_param(request, "startAt", 0)
    max_results = int_param(request, "maxResults", 50, minimum=1, maximum=100)
    total = projects.count()
    expand = set(list_param(request.GET.get("expand")))
    values = []
    for project in projects[start:start + max_results]:
        data = renderer.project_ref(project)
        data["style"] = project.style
        data["isPrivate"] = False
        data["properties"] = {}
        data["entityId"] = str(project.uuid)
        data["uuid"] = str(project.uuid)
        if "issueTypes" in expand:
            data["issueTypes"] = [renderer.issue_type(t) for t in services.project_issue_types(project)]
        if "lead" in expand:
            data["lead"] = renderer.user(renderer.user_by_pk(project.lead_id))
        if "description" in expand:
            data["description"] = project.description
        data.pop("entityId")
        values.append(data)
    return respond(request, page_bean(request, values, start, max_results, total))


@jira_adapter.endpoint(name="project.list", scope=SCOPE_READ)
def project_list(request, ctx, api):
    _check_api(ctx, api)
    renderer = Renderer(request, ctx.site)
    return respond(request, [renderer.project_ref(p) for p in JiraProject.objects.filter(site=ctx.site).order_by("key")])


@jira_adapter.endpoint(name="project.get", scope=SCOPE_READ)
def project_get(request, ctx, api, project):
    _check_api(ctx, api)
    project = project_or_404(ctx.site, project)
    renderer = Renderer(request, ctx.site)
    data = renderer.project_full(project, services.project_issue_types(project))
    data["components"] = [renderer.component(c, project) for c in project.components.all()]
    return respond(request, data)


@jira_adapter.endpoint(name="project.components", scope=SCOPE_READ)
def project_components(request, ctx, api, project):
    _check_api(ctx, api)
    project = project_or_404(ctx.site, project)
    renderer = Renderer(request, ctx.site)
    return respond(request, [renderer.component(c, project) for c in project.components.all()])


@jira_adapter.endpoint(name="project.statuses", scope=SCOPE_READ)
def project_statuses(request, ctx, api, project):
    _check_api(ctx, api)
    project = project_or_404(ctx.site, project)
    renderer = Renderer(request, ctx.site)
    statuses = [renderer.status(sid) for sid in catalog.STATUSES]
    return respond(request, [{"self": f"{renderer.rest}/issuetype/{t.pk}", "id": str(t.pk), "name": t.name,
                              "subtask": t.subtask, "statuses": statuses} for t in services.project_issue_types(project)])


@jira_adapter.endpoint(name="issuetype.list", scope=SCOPE_READ)
def issue_types(request, ctx, api, type_id=None):
    _check_api(ctx, api)
    renderer = Renderer(request, ctx.site)
    types = JiraIssueType.objects.filter(site=ctx.site)
    if type_id is not None:
        issue_type = types.filter(pk=type_id).first()
        if issue_type is None:
            raise jira_error(404, "The issue type does not exist or you do not have permission to view it.")
        return respond(request, renderer.issue_type(issue_type))
    return respond(request, [renderer.issue_type(t) for t in types])


@jira_adapter.endpoint(name="issuetype.project", scope=SCOPE_READ)
def issue_types_for_project(request, ctx, api):
    _check_api(ctx, api)
    raw = request.GET.get("projectId", "")
    if not raw.isdigit():
        raise jira_error(400, errors={"projectId": "The projectId parameter is required and must be a number."})
    project = project_or_404(ctx.site, raw)
    renderer = Renderer(request, ctx.site)
    return respond(request, [renderer.issue_type(t) for t in services.project_issue_types(project)])


@jira_adapter.endpoint(name="createmeta.removed", scope=SCOPE_READ)
def createmeta_removed(request, ctx, api):
    """The all-projects createmeta: gone from Data Center 9, where the path falls to the issue resource
    ("createmeta" is no issue key), and retired on Cloud, answered 410 like the retired search."""
    _check_api(ctx, api)
    if ctx.site.kind == "jira_dc":
        raise jira_error(404, "Issue Does Not Exist")
    raise jira_error(410, REMOVED_CREATEMETA.format(api=api))


@jira_adapter.endpoint(name="createmeta.issuetypes", scope=SCOPE_WRITE)
def createmeta_issue_types(request, ctx, api, project, type_id=None):
    _check_api(ctx, api)
    project = project_or_404(ctx.site, project)
    renderer = Renderer(request, ctx.site)
    types = services.project_issue_types(project)
    start = int_param(request, "startAt", 0)
    max_results = int_param(request, "maxResults", 50, minimum=1, maximum=CREATEMETA_MAX)
    if type_id is None:
        page = types[start:start + max_results]
        values = []
        for t in page:
            data = renderer.issue_type(t)
            values.append(data)
        return respond(request, {"maxResults": max_results, "startAt": start, "total": len(types), "issueTypes": values})
    issue_type = next((t for t in types if str(t.pk) == str(type_id)), None)
    if issue_type is None:
        raise jira_error(400, "The issue type is not valid in this project.")
    fields = createmeta_fields(renderer, project, issue_type)
    page = fields[start:start + max_results]
    return respond(request, {"maxResults": max_results, "startAt": start, "total": len(fields), "fields": page})


def createmeta_fields(renderer: Renderer, project: JiraProject, issue_type: JiraIssueType) -> list[dict]:
    def meta(field_id, name, schema, *, required=False, allowed=None, operations=("set",)):
        data = {"required": required, "schema": schema, "name": name, "key": field_id, "fieldId": field_id,
                "hasDefaultValue": field_id == "priority", "operations": list(operations)}
        if allowed is not None:
            data["allowedValues"] = allowed
        if field_id == "priority":
            data["defaultValue"] = renderer.priority(catalog.DEFAULT_PRIORITY)
        return data

    out = [
        meta("issuetype", "Issue Type", catalog.SYSTEM_FIELDS["issuetype"][1], required=True, allowed=[renderer.issue_type(issue_type)]),
        meta("project", "Project", catalog.SYSTEM_FIELDS["project"][1], required=True, allowed=[renderer.project_ref(project)]),
        meta("summary", "Summary", catalog.SYSTEM_FIELDS["summary"][1], required=True),
        meta("description", "Description", catalog.SYSTEM_FIELDS["description"][1]),
        meta("reporter", "Reporter", catalog.SYSTEM_FIELDS["reporter"][1], required=True),
        meta("assignee", "Assignee", catalog.SYSTEM_FIELDS["assignee"][1]),
        meta("priority", "Priority", catalog.SYSTEM_FIELDS["priority"][1], allowed=[renderer.priority(p) for p in catalog.PRIORITIES]),
        meta("labels", "Labels", catalog.SYSTEM_FIELDS["labels"][1], operations=("add", "set", "remove")),
        meta("components", "Components", catalog.SYSTEM_FIELDS["components"][1], operations=("add", "set", "remove"),
             allowed=[renderer.component(c, project) for c in project.components.all()]),
        meta("duedate", "Due date", catalog.SYSTEM_FIELDS["duedate"][1]),
    ]
    versions = [renderer.version(v) for v in project.versions.filter(archived=False)]
    for field_id in catalog.VERSION_FIELDS:
        out.append(meta(field_id, renderer.system_field_name(field_id), catalog.SYSTEM_FIELDS[field_id][1],
                        operations=("set", "add", "remove"), allowed=versions))
    if issue_type.hierarchy_level < 1 and (renderer.cloud or issue_type.subtask):
        out.append(meta("parent", "Parent", catalog.SYSTEM_FIELDS["parent"][1], required=issue_type.subtask))
    for field in renderer.fields():
        if field.kind == "epiclink" and issue_type.hierarchy_level != 0:
            continue
        allowed = None
        if field.kind in ("select", "multiselect"):
            allowed = [{"self": f"{renderer.rest}/customFieldOption/{o['id']}", "value": o["value"], "id": o["id"]} for o in field.options]
        out.append(meta(field.field_id, field.name, renderer.field_schema(field), allowed=allowed))
    return out


@jira_adapter.endpoint(name="issue.editmeta", scope=SCOPE_READ)
def issue_editmeta(request, ctx, api, issue):
    """The fields an edit of the issue may set: its type's create metadata, keyed by field, without the project."""
    _check_api(ctx, api)
    if request.method != "GET":
        return _method_not_allowed(request)
    found = services.issue_get_or_404(ctx.site, issue)
    fields = createmeta_fields(Renderer(request, ctx.site), found.project, found.issue_type)
    return respond(request, {"fields": {meta["fieldId"]: {k: v for k, v in meta.items() if k != "fieldId"}
                                        for meta in fields if meta["fieldId"] != "project"}})


@jira_adapter.endpoint(name="field.list", scope=SCOPE_READ)
def fields(request, ctx, api):
    _check_api(ctx, api)
    renderer = Renderer(request, ctx.site)
    return respond(request, [renderer.system_field(f) for f in catalog.SYSTEM_FIELDS] + [renderer.field(f) for f in renderer.fields()])


@jira_adapter.endpoint(name="field.search", scope=SCOPE_READ)
def field_search(request, ctx, api):
    _check_api(ctx, api)
    _cloud_only(ctx, request)
    renderer = Renderer(request, ctx.site)
    kinds = list_param(request.GET.getlist("type")) or ["custom", "system"]
    if any(k not in ("custom", "system") for k in kinds):
        raise jira_error(400, "The type parameter must be custom or system.")
    ids = set(list_param(request.GET.getlist("id")))
    query = request.GET.get("query", "").strip().lower()
    values = []
    if "system" in kinds:
        for field_id in catalog.SYSTEM_FIELDS:
            _, schema, _ = catalog.SYSTEM_FIELDS[field_id]
            values.append({"id": field_id, "key": field_id, "name": renderer.system_field_name(field_id),
                           "schema": schema, "isLocked": True,
                           "description": ""})
    if "custom" in kinds:
        for field in renderer.fields():
            _, _, _, searcher = catalog.CUSTOM_FIELD_KINDS.get(field.kind, catalog.CUSTOM_FIELD_KINDS["imported"])
            values.append({"id": field.field_id, "key": field.field_id, "name": field.name,
                           "schema": renderer.field_schema(field), "description": field.description,
                           "isLocked": field.kind in ("sprint", "storypoints", "epiclink"), "searcherKey": searcher,
                           "typeDisplayName": field.kind.title()})
    if ids:
        values = [v for v in values if v["id"] in ids]
    if query:
        values = [v for v in values if query in v["name"].lower() or query in v["id"].lower()]
    return respond(request, page_of(request, values, default=50, maximum=100))


@jira_adapter.endpoint(name="status.list", scope=SCOPE_READ)
def statuses(request, ctx, api):
    _check_api(ctx, api)
    renderer = Renderer(request, ctx.site)
    return respond(request, [renderer.status(sid) for sid in catalog.STATUSES])


@jira_adapter.endpoint(name="workflow.search", scope=SCOPE_READ)
def workflow_search(request, ctx, api):
    _check_api(ctx, api)
    _cloud_only(ctx, request)
    expand = set(list_param(request.GET.get("expand")))
    values = []
    projects = list(JiraProject.objects.filter(site=ctx.site))
    for style, name in (("classic", catalog.CLASSIC_WORKFLOW), ("next-gen", "Team-managed workflow")):
        data = {"id": {"name": name, "entityId": hashlib.sha256(name.encode()).hexdigest()[:8] + "-0000-4000-8000-000000000000"},
                "description": "The workflow of " + ("company-managed" if style == "classic" else "team-managed") + " projects.",
                "isDefault": style == "classic"}
        if "transitions" in expand:
            data["transitions"] = [
                {"id": t.id, "name": t.name, "description": "", "from": list(t.sources), "to": t.to,
                 "type": "global" if not t.sources else "directed"}
                for t in catalog.transitions_for(style)
            ]
        if "statuses" in expand:
            data["statuses"] = [{"id": sid, "name": catalog.STATUSES[sid][0]} for sid in catalog.STATUSES]
        if "projects" in expand:
            data["projects"] = [{"id": str(p.pk), "key": p.key, "name": p.name, "projectTypeKey": p.project_type,
                                 "simplified": p.simplified, "self": f"{request.build_absolute_uri('/')}"}
                                for p in projects if p.style == style]
        values.append(data)
    return respond(request, page_of(request, values, default=50, maximum=50))


@jira_adapter.endpoint(name="priority.list", scope=SCOPE_READ)
def priorities(request, ctx, api, search=None):
    _check_api(ctx, api)
    renderer = Renderer(request, ctx.site)
    values = [renderer.priority_full(pid) for pid in catalog.PRIORITIES]
    if search:
        return respond(request, page_bean(request, values, 0, 50, len(values)))
    return respond(request, values)


@jira_adapter.endpoint(name="resolution.list", scope=SCOPE_READ)
def resolutions(request, ctx, api, search=None):
    _check_api(ctx, api)
    renderer = Renderer(request, ctx.site)
    values = [renderer.resolution(rid) for rid in catalog.RESOLUTIONS]
    if search:
        for value in values:
            value["default"] = value["id"] == catalog.DONE_RESOLUTION
        return respond(request, page_bean(request, values, 0, 50, len(values)))
    return respond(request, values)


@jira_adapter.endpoint(name="issueLinkType.list", scope=SCOPE_READ)
def link_types(request, ctx, api):
    _check_api(ctx, api)
    renderer = Renderer(request, ctx.site)
    return respond(request, {"issueLinkTypes": [renderer.link_type(t) for t in catalog.LINK_TYPES]})


@jira_adapter.endpoint(name="label.list", scope=SCOPE_READ)
def labels(request, ctx, api):
    _check_api(ctx, api)
    seen = set()
    for row in JiraIssue.objects.filter(site=ctx.site).exclude(labels_index="").values_list("labels", flat=True).iterator():
        seen.update(row)
    values = sorted(seen)
    return respond(request, page_of(request, values, default=1000, maximum=1000))


@jira_adapter.endpoint(name="mypermissions", scope=SCOPE_READ)
def my_permissions(request, ctx, api):
    """What the caller may do: the token's scopes decide (a read-only scoped token cannot write)."""
    _check_api(ctx, api)
    wanted = list_param(request.GET.get("permissions"))
    if ctx.site.kind == "jira_cloud" and not wanted:
        raise jira_error(400, "The 'permissions' parameter is required; name the permission keys, comma-separated.")
    unknown = [key for key in wanted if key not in catalog.PERMISSIONS]
    if unknown:
        raise jira_error(400, f"Invalid permission key(s): {', '.join(unknown)}.")
    if request.GET.get("projectKey"):
        project_or_404(ctx.site, request.GET["projectKey"])
    scopes = set(ctx.token.scopes or []) if ctx.token else set()
    out = {}
    for key in wanted or list(catalog.PERMISSIONS):
        permission_id, name, scope = catalog.PERMISSIONS[key]
        out[key] = {"id": permission_id, "key": key, "name": name, "type": "PROJECT", "description": name + ".",
                    "havePermission": scope in scopes}
    return respond(request, {"permissions": out})


# --- users ------------------------------------------------------------------------------------------
@jira_adapter.endpoint(name="user.get", scope=SCOPE_USER)
def user_get(request, ctx, api):
    _check_api(ctx, api)
    users = JiraUser.objects.filter(site=ctx.site)
    if ctx.site.kind == "jira_cloud":
        if request.GET.get("username") or request.GET.get("key"):
            raise jira_error(400, "The query parameter 'username' is not supported in GDPR strict mode.")
        account_id = request.GET.get("accountId")
        if not account_id:
            raise jira_error(400, "The accountId query parameter needs to be provided.")
        user = users.filter(account_id=account_id).first()
    else:
        user = (users.filter(name=request.GET["username"]).first() if request.GET.get("username")
                else users.filter(key=request.GET.get("key", "")).first())
    if user is None:
        raise jira_error(404, "The user with the given id does not exist.")
    return respond(request, Renderer(request, ctx.site).user(user, full=True))


@jira_adapter.endpoint(name="user.search", scope=SCOPE_USER)
def user_search(request, ctx, api, every=None):
    _check_api(ctx, api)
    renderer = Renderer(request, ctx.site)
    users = JiraUser.objects.filter(site=ctx.site).order_by("display_name", "id")
    if not every:
        query = (request.GET.get("query") or request.GET.get("username") or "").strip()
        account_id = request.GET.get("accountId")
        if not query and not account_id:
            raise jira_error(400, "One of the query or accountId parameters must be provided.")
        if account_id:
            users = users.filter(account_id=account_id)
        else:
            # Cloud matches the e-mail only of people whose address is visible.
            by_email = Q(email__istartswith=query) & (Q(email_visible=True) if ctx.site.kind == "jira_cloud" else Q())
            users = users.filter(Q(display_name__icontains=query) | Q(name__istartswith=query) | by_email)
    start = int_param(request, "startAt", 0)
    max_results = int_param(request, "maxResults", 50, minimum=1, maximum=1000)
    return respond(request, [renderer.user(u) for u in users[start:start + max_results]])


# --- issues -----------------------------------------------------------------------------------------
@jira_adapter.endpoint(name="issue.create", scope=SCOPE_WRITE)
def issue_create(request, ctx, api):
    _check_api(ctx, api)
    if request.method != "POST":
        return _method_not_allowed(request)
    issue = services.issue_create(site=ctx.site, actor=actor(ctx), payload=body_json(request))
    renderer = Renderer(request, ctx.site)
    return respond(request, {"id": str(issue.pk), "key": issue.key, "self": f"{renderer.rest}/issue/{issue.pk}"}, status=201)


@jira_adapter.endpoint(name="issue.bulk", scope=SCOPE_WRITE)
def issue_bulk_create(request, ctx, api):
    _check_api(ctx, api)
    payload = body_json(request)
    updates = payload.get("issueUpdates") if isinstance(payload, dict) else None
    if not isinstance(updates, list) or not updates:
        return respond(request, {"issues": [], "errors": [{"status": 400, "elementErrors": {
            "errorMessages": ["Specify the issues to create in issueUpdates."], "errors": {}}}]}, status=400)
    if len(updates) > BULK_CREATE_MAX:
        return respond(request, {"issues": [], "errors": [{"status": 400, "elementErrors": {
            "errorMessages": [f"Bulk create accepts {BULK_CREATE_MAX} issues at most; this request has {len(updates)}."],
            "errors": {}}}]}, status=400)
    renderer = Renderer(request, ctx.site)
    who = actor(ctx)
    created, failed = [], []
    for number, outcome in enumerate(services.issue_bulk_create(site=ctx.site, actor=who, updates=updates)):
        if isinstance(outcome, VendorError):
            failed.append({"status": outcome.status, "elementErrors": {
                "errorMessages": [outcome.message] if outcome.message else [], "errors": outcome.extra},
                "failedElementNumber": number})
            continue
        created.append({"id": str(outcome.pk), "key": outcome.key, "self": f"{renderer.rest}/issue/{outcome.pk}"})
    return respond(request, {"issues": created, "errors": failed}, status=201 if created else 400)


def _issue_view_options(renderer, request_fields, expand, *, default):
    return field_selection(renderer, list_param(request_fields), default=default), set(list_param(expand))


@jira_adapter.endpoint(name="issue", scope=READ_WRITE)
def issue_detail(request, ctx, api, issue):
    _check_api(ctx, api)
    found = services.issue_get_or_404(ctx.site, issue)
    renderer = Renderer(request, ctx.site)
    if request.method == "GET":
        fields, expand = _issue_view_options(renderer, request.GET.getlist("fields"), request.GET.get("expand"), default=None)
        return respond(request, renderer.issue(found, fields=fields, expand=expand,
                                               properties=list_param(request.GET.getlist("properties"))))
    if request.method == "PUT":
        services.issue_edit(issue=found, actor=actor(ctx), payload=body_json(request))
        if request.GET.get("returnIssue") == "true":
            found.refresh_from_db()
            return respond(request, renderer.issue(found, fields=None))
        return respond_empty(request)
    if request.method == "DELETE":
        services.issue_delete(issue=found, delete_subtasks=request.GET.get("deleteSubtasks") == "true")
        return respond_empty(request)
    return _method_not_allowed(request)


@jira_adapter.endpoint(name="issue.bulkfetch", scope=SCOPE_READ)
def issue_bulk_fetch(request, ctx, api):
    _check_api(ctx, api)
    _cloud_only(ctx, request)
    payload = body_json(request, allowed=("expand", "fields", "fieldsByKeys", "issueIdsOrKeys", "properties"))
    refs = payload.get("issueIdsOrKeys") if isinstance(payload, dict) else None
    if not isinstance(refs, list) or not refs or any(not isinstance(r, str | int) for r in refs):
        raise jira_error(400, errors={"issueIdsOrKeys": "Specify between 1 and 100 issue ids or keys."})
    if len(refs) > BULK_FETCH_MAX:
        raise jira_error(400, f"Bulk fetch accepts {BULK_FETCH_MAX} issues at most; this request has {len(refs)}.")
    renderer = Renderer(request, ctx.site)
    renderer.preload_users()
    fields, expand = _issue_view_options(renderer, payload.get("fields"), payload.get("expand"),
                                         default=catalog.NAVIGABLE_FIELDS | {f.field_id for f in renderer.fields()})
    found_issues, errors = [], []
    by_ref = services.issues_by_refs(ctx.site, refs)
    for ref in refs:
        found = by_ref.get(str(ref).strip().upper())
        if found is None:
            errors.append({"id": str(ref), "errorMessage": "Issue does not exist or you do not have permission to see it."})
        else:
            found_issues.append(found)
    renderer.preload(found_issues, fields)
    issues = [renderer.issue(found, fields=fields, expand=expand, properties=payload.get("properties") or [])
              for found in found_issues]
    return respond(request, {"issues": issues, "issueErrors": errors})


@jira_adapter.endpoint(name="issue.transitions", scope=READ_WRITE)
def issue_transitions(request, ctx, api, issue):
    _check_api(ctx, api)
    found = services.issue_get_or_404(ctx.site, issue)
    if request.method == "POST":
        services.issue_transition(issue=found, actor=actor(ctx), payload=body_json(request))
        return respond_empty(request)
    renderer = Renderer(request, ctx.site)
    values = []
    for transition in catalog.available_transitions(found.project.style, found.status_id):
        values.append({"id": transition.id, "name": transition.name, "to": renderer.status(transition.to),
                       "hasScreen": False, "isGlobal": not transition.sources, "isInitial": False,
                       "isAvailable": True, "isConditional": False, "isLooped": False})
    return respond(request, {"expand": "transitions", "transitions": values})


# --- comments ---------------------------------------------------------------------------------------
@jira_adapter.endpoint(name="issue.comments", scope=READ_WRITE)
def issue_comments(request, ctx, api, issue):
    _check_api(ctx, api)
    found = services.issue_get_or_404(ctx.site, issue)
    renderer = Renderer(request, ctx.site)
    if request.method == "POST":
        comment = services.comment_add(issue=found, actor=actor(ctx), payload=body_json(request))
        return respond(request, renderer.comment(comment, found.pk), status=201)
    comments = found.comments.all()
    order = request.GET.get("orderBy", "created")
    if order not in ("created", "-created", "+created"):
        raise jira_error(400, "orderBy must be created or -created.")
    comments = comments.order_by("-created", "-id") if order == "-created" else comments.order_by("created", "id")
    start = int_param(request, "startAt", 0)
    max_results = int_param(request, "maxResults", 5000, minimum=0, maximum=5000)
    total = comments.count()
    page = [renderer.comment(c, found.pk) for c in comments[start:start + max_results]]
    return respond(request, {"startAt": start, "maxResults": max_results, "total": total, "comments": page})


@jira_adapter.endpoint(name="issue.worklogs", scope=READ_WRITE)
def issue_worklogs(request, ctx, api, issue):
    """GET /issue/{id}/worklog: the issue's worklogs, oldest started first (startedAfter/startedBefore in
    epoch milliseconds)."""
    _check_api(ctx, api)
    if request.method != "GET":
        raise jira_error(405, "Only GET is served for worklogs by this sandbox.")
    found = services.issue_get_or_404(ctx.site, issue)
    worklogs = found.worklogs.all()
    for name, lookup in (("startedAfter", "started__gte"), ("startedBefore", "started__lt")):
        if request.GET.get(name):
            worklogs = worklogs.filter(**{lookup: datetime.fromtimestamp(int_param(request, name, 0) / 1000, tz=UTC)})
    start = int_param(request, "startAt", 0)
    max_results = int_param(request, "maxResults", 5000, minimum=0, maximum=5000)
    renderer = Renderer(request, ctx.site)
    page = [renderer.worklog(w, found.pk) for w in worklogs[start:start + max_results]]
    return respond(request, {"startAt": start, "maxResults": max_results, "total": worklogs.count(), "worklogs": page})


@jira_adapter.endpoint(name="issue.comment", scope=READ_WRITE)
def issue_comment(request, ctx, api, issue, comment_id):
    _check_api(ctx, api)
    found = services.issue_get_or_404(ctx.site, issue)
    comment = JiraComment.objects.filter(issue=found, pk=comment_id).first()
    if comment is None:
        raise jira_error(404, f"Can not find a comment for key: {comment_id}.")
    renderer = Renderer(request, ctx.site)
    if request.method == "PUT":
        comment = services.comment_update(comment=comment, actor=actor(ctx), payload=body_json(request))
    elif request.method == "DELETE":
        comment.delete()
        return respond_empty(request)
    return respond(request, renderer.comment(comment, found.pk))


# --- changelog --------------------------------------------------------------------------------------
@jira_adapter.endpoint(name="issue.changelog", scope=SCOPE_READ)
def issue_changelog(request, ctx, api, issue):
    _check_api(ctx, api)
    _cloud_only(ctx, request)
    found = services.issue_get_or_404(ctx.site, issue)
    renderer = Renderer(request, ctx.site)
    entries = found.changelogs.all()
    start = int_param(request, "startAt", 0)
    max_results = int_param(request, "maxResults", 100, minimum=1, maximum=100)
    total = entries.count()
    values = [renderer.changelog(e) for e in entries[start:start + max_results]]
    return respond(request, page_bean(request, values, start, max_results, total))


def _page_token(offset: int, salt: str) -> str:
    raw = json.dumps({"o": offset, "h": hashlib.sha256(salt.encode()).hexdigest()[:10]})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _page_offset(token: str | None, salt: str) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["h"] != hashlib.sha256(salt.encode()).hexdigest()[:10] or int(data["o"]) < 0:
            raise ValueError
        return int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise jira_error(400, "The provided next page token is invalid or expired.") from None


@jira_adapter.endpoint(name="changelog.bulkfetch", scope=SCOPE_READ)
def changelog_bulk_fetch(request, ctx, api):
    _check_api(ctx, api)
    _cloud_only(ctx, request)
    payload = body_json(request, allowed=("fieldIds", "issueIdsOrKeys", "maxResults", "nextPageToken"))
    refs = payload.get("issueIdsOrKeys") if isinstance(payload, dict) else None
    if not isinstance(refs, list) or not refs:
        raise jira_error(400, errors={"issueIdsOrKeys": "Specify the issues, 1000 at most."})
    if len(refs) > CHANGELOG_BULK_MAX_ISSUES:
        raise jira_error(400, f"Changelogs of {CHANGELOG_BULK_MAX_ISSUES} issues at most can be fetched at once.")
    field_ids = payload.get("fieldIds") or []
    max_results = payload.get("maxResults", 1000)
    if not isinstance(max_results, int) or isinstance(max_results, bool) or not 1 <= max_results <= 10000:
        raise jira_error(400, errors={"maxResults": "maxResults must be between 1 and 10000."})
    salt = json.dumps([refs, field_ids], sort_keys=True)
    offset = _page_offset(payload.get("nextPageToken"), salt)
    issue_ids = [issue.pk for issue in services.issues_by_refs(ctx.site, refs).values()]
    entries = JiraChangelog.objects.filter(issue_id__in=issue_ids).order_by("issue_id", "created", "id")
    renderer = Renderer(request, ctx.site)
    renderer.preload_users()
    window = list(entries[offset:offset + max_results + 1])
    more = len(window) > max_results
    grouped: dict[int, list] = {}
    for entry in window[:max_results]:
        data = renderer.changelog(entry)
        if field_ids:
            data["items"] = [i for i in data["items"] if i.get("fieldId") in field_ids or i.get("field") in field_ids]
            if not data["items"]:
                continue
        grouped.setdefault(entry.issue_id, []).append(data)
    body = {"issueChangeLogs": [{"issueId": str(k), "changeHistories": v} for k, v in grouped.items()]}
    if more:
        body["nextPageToken"] = _page_token(offset + max_results, salt)
    return respond(request, body)


# --- links ------------------------------------------------------------------------------------------
@jira_adapter.endpoint(name="issueLink.create", scope=SCOPE_WRITE)
def issue_link_create(request, ctx, api):
    _check_api(ctx, api)
    payload = body_json(request, allowed=("comment", "inwardIssue", "outwardIssue", "type"))
    services.issue_link_create(site=ctx.site, actor=actor(ctx), payload=payload)
    response = HttpResponse(status=201)
    if getattr(request, "jira_account_id", None):
        response["X-AAccountId"] = request.jira_account_id
    return response


@jira_adapter.endpoint(name="issueLink", scope=READ_WRITE)
def issue_link(request, ctx, api, link_id):
    _check_api(ctx, api)
    link = JiraIssueLink.objects.filter(site=ctx.site, pk=link_id).select_related("inward_issue", "outward_issue").first()
    if link is None:
        raise jira_error(404, f"No issue link with id '{link_id}' exists.")
    if request.method == "DELETE":
        link.delete()
        return respond_empty(request)
    return respond(request, Renderer(request, ctx.site).issue_link(link, from_issue=None))


def _remote_link(renderer, link):
    data = {"id": link.pk, "self": f"{renderer.rest}/issue/{link.issue_id}/remotelink/{link.pk}", "object": link.object}
    if link.global_id:
        data["globalId"] = link.global_id
    if link.relationship:
        data["relationship"] = link.relationship
    if link.application:
        data["application"] = link.application
    return data


@jira_adapter.endpoint(name="issue.remotelinks", scope=READ_WRITE)
def remote_links(request, ctx, api, issue):
    _check_api(ctx, api)
    found = services.issue_get_or_404(ctx.site, issue)
    renderer = Renderer(request, ctx.site)
    if request.method == "POST":
        link, created = services.remote_link_upsert(issue=found, payload=body_json(request))
        return respond(request, {"id": link.pk, "self": f"{renderer.rest}/issue/{found.pk}/remotelink/{link.pk}"},
                       status=201 if created else 200)
    global_id = request.GET.get("globalId")
    if request.method == "DELETE":
        if not global_id:
            raise jira_error(400, "The globalId parameter is required.")
        deleted, _ = found.remote_links.filter(global_id=global_id).delete()
        if not deleted:
            raise jira_error(404, f"No remote link with globalId '{global_id}' exists on this issue.")
        return respond_empty(request)
    links = found.remote_links.all()
    if global_id:
        link = links.filter(global_id=global_id).first()
        if link is None:
            raise jira_error(404, f"No remote link with globalId '{global_id}' exists on this issue.")
        return respond(request, _remote_link(renderer, link))
    return respond(request, [_remote_link(renderer, link) for link in links])


@jira_adapter.endpoint(name="issue.remotelink", scope=READ_WRITE)
def remote_link(request, ctx, api, issue, link_id):
    _check_api(ctx, api)
    found = services.issue_get_or_404(ctx.site, issue)
    link = found.remote_links.filter(pk=link_id).first()
    if link is None:
        raise jira_error(404, f"No remote link with id '{link_id}' exists on this issue.")
    if request.method == "DELETE":
        link.delete()
        return respond_empty(request)
    if request.method == "PUT":
        services.remote_link_update(link=link, payload=body_json(request))
        return respond_empty(request)
    return respond(request, _remote_link(Renderer(request, ctx.site), link))


# --- attachments ------------------------------------------------------------------------------------
@jira_adapter.endpoint(name="issue.attachments", scope=SCOPE_WRITE)
def attachments_add(request, ctx, api, issue):
    _check_api(ctx, api)
    if request.method != "POST":
        return _method_not_allowed(request)
    if request.META.get("HTTP_X_ATLASSIAN_TOKEN", "").lower() != "no-check":
        response = HttpResponse("XSRF check failed", status=403, content_type="text/plain;charset=UTF-8")
        return response
    found = services.issue_get_or_404(ctx.site, issue)
    limit = int(ctx.site.options.get("attachment_max_bytes") or 10 * 1024 * 1024)
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:
        raise jira_error(413, f"The attachment is larger than the site's limit of {limit} bytes.")
    if not request.content_type.startswith("multipart/form-data"):
        raise jira_error(415, "Attachments are sent as multipart/form-data with the file in a part named 'file'.")
    uploads = request.FILES.getlist("file")
    if not uploads:
        raise jira_error(400, "The request has no file: send it in a multipart part named 'file'.")
    for upload in uploads:
        if upload.size > limit:
            raise jira_error(413, f"The file {upload.name} ({upload.size} bytes) is larger than the site's limit of {limit} bytes.")
    services.issue_write_check(issue=found)
    who = actor(ctx)
    renderer = Renderer(request, ctx.site)
    made = [services.attachment_add(issue=found, actor=who, upload=upload) for upload in uploads]
    return respond(request, [renderer.attachment(a) for a in made])


@jira_adapter.endpoint(name="attachment", scope=READ_WRITE)
def attachment(request, ctx, api, attachment_id):
    _check_api(ctx, api)
    found = JiraAttachment.objects.filter(issue__site=ctx.site, pk=attachment_id).defer("content").first()
    if found is None:
        raise jira_error(404, f"The attachment with id '{attachment_id}' does not exist.")
    if request.method == "DELETE":
        found.delete()
        return respond_empty(request)
    return respond(request, Renderer(request, ctx.site).attachment_meta(found))


@jira_adapter.endpoint(name="attachment.content", scope=SCOPE_READ)
def attachment_content(request, ctx, api, attachment_id):
    _check_api(ctx, api)
    found = JiraAttachment.objects.filter(issue__site=ctx.site, pk=attachment_id).first()
    if found is None:
        raise jira_error(404, f"The attachment with id '{attachment_id}' does not exist.")
    return attachment_download_response(found)


# Types served as themselves; anything else (HTML, SVG, scripts) goes out as bytes, because the sandbox
# shares the product's origin where Jira keeps attachments on a domain of their own.
INLINE_SAFE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "text/plain", "application/pdf", "application/zip"}


def attachment_download_response(attachment) -> HttpResponse:
    from urllib.parse import quote

    mime = attachment.mime_type if attachment.mime_type in INLINE_SAFE_TYPES else "application/octet-stream"
    response = HttpResponse(bytes(attachment.content), content_type=mime)
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in attachment.filename)
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(attachment.filename)}"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@jira_adapter.endpoint(name="attachment.meta", scope=SCOPE_READ)
def attachment_settings(request, ctx, api):
    _check_api(ctx, api)
    return respond(request, {"enabled": True, "uploadLimit": int(ctx.site.options.get("attachment_max_bytes") or 0)})


# --- entity properties ------------------------------------------------------------------------------
@jira_adapter.endpoint(name="issue.properties", scope=SCOPE_READ)
def issue_properties(request, ctx, api, issue):
    _check_api(ctx, api)
    found = services.issue_get_or_404(ctx.site, issue)
    renderer = Renderer(request, ctx.site)
    return respond(request, {"keys": [{"key": p.key, "self": f"{renderer.rest}/issue/{found.pk}/properties/{p.key}"}
                                      for p in found.properties.all()]})


@jira_adapter.endpoint(name="issue.property", scope=READ_WRITE)
def issue_property(request, ctx, api, issue, key):
    _check_api(ctx, api)
    found = services.issue_get_or_404(ctx.site, issue)
    if request.method == "PUT":
        created = services.property_set(issue=found, key=key, value=body_json(request))
        return respond(request, {}, status=201 if created else 200)
    prop = found.properties.filter(key=key).first()
    if prop is None:
        raise jira_error(404, f"The property with key '{key}' does not exist.")
    if request.method == "DELETE":
        prop.delete()
        return respond_empty(request)
    return respond(request, {"key": prop.key, "value": prop.value})


# --- search -----------------------------------------------------------------------------------------
def _parse(ctx, jql):
    try:
        return jql_parse(ctx.site, jql, principal=ctx.token.principal if ctx.token else None)
    except JqlError as exc:
        raise jira_error(400, str(exc)) from None


def search_queryset(ctx, parsed):
    issues = JiraIssue.objects.filter(site=ctx.site)
    if parsed.where is not None:
        issues = issues.filter(pk__in=JiraIssue.objects.filter(site=ctx.site).filter(parsed.where).values("pk"))
    return issues.order_by(*(parsed.order_by or ["id"]), "id").select_related("project", "parent")


@jira_adapter.endpoint(name="search.jql", scope=SCOPE_READ)
def search_jql(request, ctx, api):
    _check_api(ctx, api)
    _cloud_only(ctx, request)
    if request.method == "POST":
        payload = body_json(request, allowed=("expand", "fields", "fieldsByKeys", "jql", "maxResults", "nextPageToken",
                                              "properties", "reconcileIssues"))
        jql, token = payload.get("jql"), payload.get("nextPageToken")
        max_results, raw_fields = payload.get("maxResults"), payload.get("fields")
        expand, properties = payload.get("expand"), payload.get("properties") or []
    else:
        jql, token = request.GET.get("jql"), request.GET.get("nextPageToken")
        max_results = request.GET.get("maxResults")
        raw_fields = request.GET.getlist("fields") or None
        expand, properties = request.GET.get("expand"), list_param(request.GET.getlist("properties"))
    parsed = _parse(ctx, jql)
    if not parsed.bounded:
        raise jira_error(400, UNBOUNDED)
    renderer = Renderer(request, ctx.site)
    wanted = field_selection(renderer, list_param(raw_fields), default=set())
    ids_only = not wanted or wanted <= {"id", "key"}
    cap = SEARCH_IDS_MAX if ids_only else SEARCH_FIELDS_MAX
    try:
        max_results = 50 if max_results in (None, "") else int(max_results)
    except (TypeError, ValueError):
        raise jira_error(400, "maxResults must be a number.") from None
    max_results = max(1, min(max_results, cap))
    offset = _page_offset(token, jql or "")
    issues = search_queryset(ctx, parsed)
    if ids_only and not expand and not properties:
        # Ids (and keys) only: no issue rows to build, the cheap page a migration's scan asks for.
        rows = list(issues.values_list("pk", "key")[offset:offset + max_results + 1])
        more = len(rows) > max_results
        values = [{"id": str(pk)} if not wanted else {"id": str(pk), "key": key, "self": f"{renderer.rest}/issue/{pk}"}
                  for pk, key in rows[:max_results]]
    else:
        window = list(issues[offset:offset + max_results + 1])
        more = len(window) > max_results
        window = window[:max_results]
        renderer.preload(window, wanted - {"id", "key"})
        values = [renderer.issue(i, fields=wanted - {"id", "key"}, expand=set(list_param(expand)), properties=properties)
                  for i in window]
    body = {"issues": values, "isLast": not more}
    if more:
        body["nextPageToken"] = _page_token(offset + max_results, jql or "")
    return respond(request, body)


@jira_adapter.endpoint(name="search.count", scope=SCOPE_READ)
def search_count(request, ctx, api):
    _check_api(ctx, api)
    _cloud_only(ctx, request)
    payload = body_json(request, allowed=("jql",))
    jql = payload.get("jql")
    parsed = _parse(ctx, jql)
    if not parsed.bounded:
        raise jira_error(400, UNBOUNDED)
    return respond(request, {"count": search_queryset(ctx, parsed).count()})


@jira_adapter.endpoint(name="search", scope=SCOPE_READ)
def search_classic(request, ctx, api):
    """/search: removed from Jira Cloud (410); Data Center's search with startAt and total."""
    _check_api(ctx, api)
    if ctx.site.kind == "jira_cloud":
        raise jira_error(410, REMOVED_SEARCH)
    if request.method == "POST":
        payload = body_json(request)
        if not isinstance(payload, dict):
            raise jira_error(400, "Can not deserialize the request body: expected an object.")
        jql, start, max_results = payload.get("jql"), payload.get("startAt", 0), payload.get("maxResults", 50)
        raw_fields, expand = payload.get("fields"), payload.get("expand")
    else:
        jql = request.GET.get("jql")
        start = int_param(request, "startAt", 0)
        max_results = int_param(request, "maxResults", 50, minimum=0)
        raw_fields, expand = request.GET.getlist("fields") or None, request.GET.get("expand")
    if not isinstance(start, int) or not isinstance(max_results, int) or start < 0 or max_results < 0:
        raise jira_error(400, "startAt and maxResults must be whole numbers, 0 or more.")
    max_results = min(max_results, DC_SEARCH_MAX)
    parsed = _parse(ctx, jql)
    renderer = Renderer(request, ctx.site)
    renderer.preload_users()
    wanted = field_selection(renderer, list_param(raw_fields),
                             default=catalog.NAVIGABLE_FIELDS | {f.field_id for f in renderer.fields()})
    issues = search_queryset(ctx, parsed)
    total = issues.count()
    page = list(issues[start:start + max_results])
    renderer.preload(page, wanted)
    values = [renderer.issue(i, fields=wanted, expand=set(list_param(expand))) for i in page]
    return respond(request, {"expand": "schema,names", "startAt": start, "maxResults": max_results, "total": total,
                             "issues": values})


# --- components -------------------------------------------------------------------------------------
@jira_adapter.endpoint(name="component.create", scope=SCOPE_WRITE)
def component_create(request, ctx, api):
    _check_api(ctx, api)
    if request.method != "POST":
        return _method_not_allowed(request)
    found = services.component_add(site=ctx.site, payload=body_json(request))
    return respond(request, Renderer(request, ctx.site).component(found, found.project), status=201)


@jira_adapter.endpoint(name="component", scope=SCOPE_READ)
def component(request, ctx, api, component_id):
    _check_api(ctx, api)
    found = JiraComponent.objects.filter(project__site=ctx.site, pk=component_id).select_related("project").first()
    if found is None:
        raise jira_error(404, f"The component with id {component_id} does not exist.")
    return respond(request, Renderer(request, ctx.site).component(found, found.project))


# --- versions ---------------------------------------------------------------------------------------
@jira_adapter.endpoint(name="version.create", scope=SCOPE_WRITE)
def version_create(request, ctx, api):
    _check_api(ctx, api)
    if request.method != "POST":
        return _method_not_allowed(request)
    found = services.version_add(site=ctx.site, payload=body_json(request))
    return respond(request, Renderer(request, ctx.site).version(found), status=201)


@jira_adapter.endpoint(name="version", scope=SCOPE_READ)
def version(request, ctx, api, version_id):
    _check_api(ctx, api)
    found = JiraVersion.objects.filter(project__site=ctx.site, pk=version_id).first()
    if found is None:
        raise jira_error(404, f"Could not find version for id '{version_id}'")
    return respond(request, Renderer(request, ctx.site).version(found))


@jira_adapter.endpoint(name="project.versions", scope=SCOPE_READ)
def project_versions(request, ctx, api, project):
    _check_api(ctx, api)
    project = project_or_404(ctx.site, project)
    renderer = Renderer(request, ctx.site)
    return respond(request, [renderer.version(v) for v in project.versions.all()])
