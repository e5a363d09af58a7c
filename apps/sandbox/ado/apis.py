"""Azure DevOps Services REST 7.1, served by the sandbox under /sandbox/ado/{organization}/...

Each view is one resource; the machinery's pipeline (auth, scopes, budgets, faults, the request log)
runs before it. Reads need `vso.work` (or `vso.project` for core), writes `vso.work_write`.
"""

from __future__ import annotations

import json
import mimetypes
import re
import uuid

from django.db.models import Count, Q
from django.http import HttpResponse

from apps.sandbox.ado import errors, selectors, wit
from apps.sandbox.ado.adapter import ado_adapter
from apps.sandbox.ado.models import AdoAttachment, AdoComment, AdoIdentity, AdoNode, AdoProject, AdoWorkItem
from apps.sandbox.ado.processes import PROCESS_DESCRIPTIONS, PROCESS_IDS, PROCESSES, type_def, type_field_refs
from apps.sandbox.ado.render import (
    Urls,
    field_json,
    field_ref_json,
    identity_descriptor,
    identity_ref,
    iso,
    node_json,
    relation_types_json,
    work_item_json,
)
from apps.sandbox.machinery import VendorError
from apps.sandbox.machinery.vendor import json_response

LATEST = (7, 1)
MAX_IDS = 200
READ = {"GET": "vso.work", "*": "vso.work_write"}
PROJECT_READ = {"GET": "vso.project", "*": "vso.project_write"}
_VERSION = re.compile(r"^(\d+)\.(\d+)(-preview(\.\d+)?)?$")


# ---------------------------------------------------------------------------------------------- helpers

def api_version(request, *, preview: bool = False) -> str:
    version = request.GET.get("api-version")
    if not version:
        match = re.search(r"api-version=([\w.\-]+)", request.META.get("HTTP_ACCEPT", ""))
        version = match.group(1) if match else None
    if not version:
        raise VendorError(400, f'No api-version was supplied for the "{request.method}" request. The version must be '
                               'supplied either as part of the Accept header (e.g. "application/json; api-version=1.0") '
                               "or as a query parameter (e.g. '?api-version=1.0').",
                          type_key="VssVersionNotSpecifiedException")
    match = _VERSION.match(version)
    if not match:
        raise VendorError(400, f"The api-version '{version}' is not valid.", type_key="VssInvalidApiVersionException")
    major, minor = int(match.group(1)), int(match.group(2))
    if (major, minor) > LATEST or major < 1:
        raise VendorError(400, f"The requested REST API version of {major}.{minor} is out of range for this server. "
                               "The latest REST API version for this server is 7.1.",
                          type_key="VssVersionOutOfRangeException")
    if preview and not match.group(3):
        raise VendorError(400, f'The requested version "{version}" of the resource is under preview. The -preview flag '
                               f'must be supplied in the api-version for such requests. For example: "{major}.{minor}-preview"',
                          type_key="VssInvalidPreviewVersionException")
    return version


def ok(data, *, status: int = 200, version: str = "7.1"):
    return json_response(data, status=status, content_type=f"application/json; charset=utf-8; api-version={version}")


def listing(values: list, *, version: str = "7.1"):
    return ok({"count": len(values), "value": values}, version=version)


def method_not_allowed(request):
    return VendorError(405, f"The requested resource does not support http method '{request.method}'.",
                       type_key="VssMethodNotAllowedException")


def body_json(request):
    try:
        return json.loads(request.body.decode("utf-8-sig") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.bad_request(f"VS403357: The request body is not valid JSON: {exc}.") from None


def flag(request, name: str) -> bool:
    return str(request.GET.get(name, "")).lower() in ("true", "1")


def int_param(request, name: str, default=None, *, minimum=0):
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.bad_request(f"The parameter {name} must be a whole number, not '{raw}'.") from None
    if value < minimum:
        raise errors.bad_request(f"The parameter {name} must be {minimum} or more.")
    return value


def urls_of(request, ctx) -> Urls:
    return Urls.for_request(request, ctx.site.slug)


def project_or_none(ctx, project):
    return selectors.project_get(site=ctx.site, name_or_id=project) if project else None


def write_options(request, ctx) -> wit.WriteOptions:
    return wit.WriteOptions(
        actor=selectors.actor_for_token(site=ctx.site, token=ctx.token),
        bypass_rules=flag(request, "bypassRules"),
        validate_only=flag(request, "validateOnly"),
        suppress_notifications=flag(request, "suppressNotifications"),
    )


def require_patch_content_type(request):
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/json-patch+json":
        raise VendorError(415, f"VS403357: The content type '{content_type or 'none'}' is not supported: send the JSON "
                               "Patch document as application/json-patch+json.", type_key="VssRequestContentTypeNotSupportedException")


def comment_counts(items) -> dict:
    return dict(AdoComment.objects.filter(work_item__in=items, is_deleted=False).values_list("work_item")
                .annotate(n=Count("id")).values_list("work_item", "n"))


# ---------------------------------------------------------------------------------------------- core

@ado_adapter.endpoint(name="core.connectionData", scope=None)
def connection_data(request, ctx, **_):
    api_version(request, preview=True)
    me = selectors.actor_for_token(site=ctx.site, token=ctx.token)
    user = {"id": str(me.guid), "descriptor": f"Microsoft.IdentityModel.Claims.ClaimsIdentity;{me.unique_name}",
            "subjectDescriptor": identity_descriptor(me), "providerDisplayName": me.display_name,
            "isActive": True, "properties": {"Account": {"$type": "System.String", "$value": me.unique_name}},
            "resourceVersion": 2, "metaTypeId": 0}
    return ok({
        "authenticatedUser": user, "authorizedUser": user,
        "instanceId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-ado:{ctx.site.slug}")),
        "deploymentId": str(uuid.uuid5(uuid.NAMESPACE_URL, "sandbox-ado")),
        "deploymentType": "hosted",
        "locationServiceData": {"serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7", "defaultAccessMappingMoniker": "PublicAccessMapping",
                                "lastChangeId": 1, "lastChangeId64": 1},
    }, version="7.1-preview")


def project_reference(project: AdoProject, urls: Urls) -> dict:
    return {"id": str(project.guid), "name": project.name, "description": project.description, "url": urls.project(project),
            "state": "wellFormed", "revision": project.revision, "visibility": project.visibility,
            "lastUpdateTime": iso(project.last_update_time)}


@ado_adapter.endpoint(name="core.projects", scope=PROJECT_READ)
def projects(request, ctx, **_):
    if request.method != "GET":
        raise method_not_allowed(request)
    api_version(request)
    urls = urls_of(request, ctx)
    top, skip = int_param(request, "$top", 100), int_param(request, "$skip", 0)
    skip = int_param(request, "continuationToken", skip)
    rows = list(AdoProject.objects.filter(site=ctx.site).order_by("name")[skip:skip + top + 1])
    response = listing([project_reference(p, urls) for p in rows[:top]])
    if len(rows) > top:
        response["x-ms-continuationtoken"] = str(skip + top)
    return response


@ado_adapter.endpoint(name="core.project", scope=PROJECT_READ)
def project_detail(request, ctx, project_id, **_):
    if request.method != "GET":
        raise method_not_allowed(request)
    api_version(request)
    urls = urls_of(request, ctx)
    project = selectors.project_get(site=ctx.site, name_or_id=project_id)
    body = project_reference(project, urls)
    team = project.teams.order_by("pk").first()
    body["_links"] = {"self": {"href": urls.project(project)}, "collection": {"href": f"{urls.base}/_apis/projectCollections/{ctx.site.slug}"},
                      "web": {"href": f"{urls.base}/{project.name}"}}
    if flag(request, "includeCapabilities"):
        body["capabilities"] = {"versioncontrol": {"sourceControlType": "Git"},
                                "processTemplate": {"templateName": project.process, "templateTypeId": PROCESS_IDS[project.process]}}
    if team:
        body["defaultTeam"] = {"id": str(team.guid), "name": team.name, "url": f"{urls.project(project)}/teams/{team.guid}"}
    return ok(body)


def team_json(team, urls: Urls) -> dict:
    project = team.project
    return {"id": str(team.guid), "name": team.name, "url": f"{urls.project(project)}/teams/{team.guid}",
            "description": team.description, "identityUrl": f"https://spsprodweu5.vssps.visualstudio.com/_apis/Identities/{team.guid}",
            "projectName": project.name, "projectId": str(project.guid)}


@ado_adapter.endpoint(name="core.teams", scope=PROJECT_READ)
def teams(request, ctx, project_id=None, team_id=None, **_):
    if request.method != "GET":
        raise method_not_allowed(request)
    api_version(request, preview=project_id is None)
    urls = urls_of(request, ctx)
    if team_id:
        project = selectors.project_get(site=ctx.site, name_or_id=project_id)
        team = next((t for t in project.teams.select_related("project") if str(t.guid) == team_id.lower()
                     or t.name.lower() == team_id.lower()), None)
        if team is None:
            raise VendorError(404, f"VS800035: The team {team_id} does not exist in {project.name}.",
                              type_key="TeamNotFoundException")
        return ok(team_json(team, urls))
    if project_id:
        project = selectors.project_get(site=ctx.site, name_or_id=project_id)
        rows = project.teams.select_related("project").all()
    else:
        from apps.sandbox.ado.models import AdoTeam

        rows = AdoTeam.objects.filter(project__site=ctx.site).select_related("project")
    return listing([team_json(t, urls) for t in rows])


def process_json(name: str, urls: Urls) -> dict:
    return {"id": PROCESS_IDS[name], "description": PROCESS_DESCRIPTIONS[name], "isDefault": name == "Agile",
            "type": "system", "url": f"{urls.base}/_apis/process/processes/{PROCESS_IDS[name]}", "name": name}


@ado_adapter.endpoint(name="core.processes", scope=PROJECT_READ)
def processes(request, ctx, process_id=None, **_):
    if request.method != "GET":
        raise method_not_allowed(request)
    api_version(request)
    urls = urls_of(request, ctx)
    if process_id is None:
        return listing([process_json(name, urls) for name in PROCESSES])
    for name, pid in PROCESS_IDS.items():
        if pid == process_id.lower() or name.lower() == process_id.lower():
            return ok(process_json(name, urls))
    raise VendorError(404, f"VS402358: The process {process_id} does not exist.", type_key="ProcessNotFoundException")


# ---------------------------------------------------------------------------------------------- metadata

@ado_adapter.endpoint(name="wit.fields", scope=READ)
def fields(request, ctx, project=None, field=None, **_):
    if request.method != "GET":
        raise method_not_allowed(request)
    api_version(request)
    project_or_none(ctx, project)
    urls = urls_of(request, ctx)
    defs = wit.all_fields(ctx.site)
    if field is None:
        return listing([field_json(d, urls) for d in defs.values()])
    ref = wit._field_ref(field, defs)
    if ref is None:
        raise VendorError(404, f"TF51535: Cannot find field {field}.",
                          type_key="WorkItemTrackingFieldDefinitionNotFoundException")
    return ok(field_json(defs[ref], urls))


def work_item_type_json(project: AdoProject, wit_def, urls: Urls, custom: dict) -> dict:
    # Every field the type has, and only those: a write of any other is refused (TF51535), as by the service.
    refs = type_field_refs(wit_def, custom)
    field_rows = []
    for ref in refs:
        row = {"defaultValue": None, "helpText": "", "alwaysRequired": ref == "System.Title", "dependentFields": [],
               **field_ref_json(ref, urls, custom)}
        if ref == "System.State":
            row["allowedValues"] = wit_def.state_names
        field_rows.append(row)
    transitions = {"": [{"to": wit_def.initial_state, "actions": None}]}
    for state in wit_def.state_names:
        transitions[state] = [{"to": other, "actions": None} for other in wit_def.state_names if other != state]
    return {
        "name": wit_def.name, "referenceName": wit_def.ref, "description": wit_def.description, "color": wit_def.color,
        "icon": {"id": wit_def.icon, "url": f"{urls.base}/_apis/wit/workItemIcons/{wit_def.icon}?color={wit_def.color}&v=2"},
        "isDisabled": False, "xmlForm": "", "fields": field_rows, "fieldInstances": field_rows,
        "transitions": transitions,
        "states": [{"name": n, "color": _state_colour(c), "category": c} for n, c in wit_def.states],
        "url": f"{urls.base}/{project.guid}/_apis/wit/workItemTypes/{wit_def.name}",
    }


def _state_colour(category):
    from apps.sandbox.ado.processes import COLOURS

    return COLOURS.get(category, "b2b2b2")


@ado_adapter.endpoint(name="wit.workItemTypes", scope=READ)
def work_item_types(request, ctx, project, type_name=None, states=None, **_):
    if request.method != "GET":
        raise method_not_allowed(request)
    api_version(request)
    project = selectors.project_get(site=ctx.site, name_or_id=project)
    urls = urls_of(request, ctx)
    custom = wit.custom_fields(ctx.site)
    if type_name is None:
        return listing([work_item_type_json(project, d, urls, custom) for d in PROCESSES[project.process]])
    wit_def = type_def(project.process, type_name)
    if wit_def is None:
        raise VendorError(404, f"VS402323: Work item type {type_name} does not exist in project {project.name}.",
                          type_key="WorkItemTypeNotFoundException")
    if states:
        return listing([{"name": n, "color": _state_colour(c), "category": c} for n, c in wit_def.states])
    return ok(work_item_type_json(project, wit_def, urls, custom))


@ado_adapter.endpoint(name="wit.relationTypes", scope=READ)
def relation_types(request, ctx, relation=None, **_):
    if request.method != "GET":
        raise method_not_allowed(request)
    api_version(request)
    every = relation_types_json(urls_of(request, ctx))
    if relation is None:
        return listing(every)
    found = next((r for r in every if r["referenceName"].lower() == relation.lower()), None)
    if found is None:
        raise VendorError(404, f"VS402313: The relation type '{relation}' does not exist.", type_key="WorkItemLinkTypeNotFoundException")
    return ok(found)


# ---------------------------------------------------------------------------------------------- nodes

def _children_map(project):
    nodes = list(AdoNode.objects.filter(project=project).select_related("project"))
    children: dict = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    return nodes, children


@ado_adapter.endpoint(name="wit.classificationNodes", scope=READ)
def classification_nodes(request, ctx, project, group=None, path=None, **_):
    api_version(request)
    project = selectors.project_get(site=ctx.site, name_or_id=project)
    urls = urls_of(request, ctx)
    depth = int_param(request, "$depth", 0)
    structure = {"areas": "area", "iterations": "iteration"}.get((group or "").lower())
    if group and structure is None:
        raise errors.bad_request(f"VS402482: The structure group '{group}' is not valid: use Areas or Iterations.")
    if request.method == "POST":
        if structure is None:
            raise method_not_allowed(request)
        body = body_json(request)
        if not isinstance(body, dict):
            raise errors.bad_request("VS403357: Send a classification node object with a name.")
        attributes = body.get("attributes") or {}
        start = selectors.as_of_datetime(attributes.get("startDate")) if attributes.get("startDate") else None
        finish = selectors.as_of_datetime(attributes.get("finishDate")) if attributes.get("finishDate") else None
        if structure == "area" and (start or finish):
            raise errors.bad_request("VS402386: Only iterations have start and finish dates.")
        node = wit.node_create(project=project, structure=structure, parent_path=path or "", name=body.get("name"),
                               start=start, finish=finish)
        _, children = _children_map(project)
        return ok(node_json(node, urls, depth=0, children_of=children), status=201)
    if request.method != "GET":
        raise method_not_allowed(request)
    nodes, children = _children_map(project)
    roots = {n.structure: n for n in children.get(None, [])}
    if structure is None:
        ids = request.GET.get("ids")
        if ids:
            try:
                wanted = {int(i) for i in ids.split(",")}
            except ValueError:
                raise errors.bad_request("The ids parameter must be whole numbers separated by commas.") from None
            found = [n for n in nodes if n.node_id in wanted]
            if len(found) < len(wanted) and request.GET.get("errorPolicy", "fail").lower() != "omit":
                raise VendorError(404, f"VS402485: The classification node {min(wanted - {n.node_id for n in found})} does not exist.",
                                  type_key="ClassificationNodeDoesNotExistException")
            return listing([node_json(n, urls, depth=depth, children_of=children) for n in found])
        return listing([node_json(roots[s], urls, depth=depth, children_of=children) for s in ("area", "iteration") if s in roots])
    full = project.name + (("\\" + path.strip("/").replace("/", "\\")) if path and path.strip("/") else "")
    node = next((n for n in nodes if n.structure == structure and n.path.lower() == full.lower()), None)
    if node is None:
        raise VendorError(404, f"VS402485: The classification node '{path}' does not exist.",
                          type_key="ClassificationNodeDoesNotExistException")
    return ok(node_json(node, urls, depth=depth, children_of=children))


# ---------------------------------------------------------------------------------------------- wiql

@ado_adapter.endpoint(name="wit.wiql", scope={"*": "vso.work"})
def wiql(request, ctx, project=None, team=None, **_):
    if request.method != "POST":
        raise method_not_allowed(request)
    api_version(request)
    project_obj = project_or_none(ctx, project)
    body = body_json(request)
    if not isinstance(body, dict) or "query" not in body:
        raise errors.bad_request("VS402335: Send {\"query\": \"SELECT ... FROM WorkItems ...\"}.")
    urls = urls_of(request, ctx)
    me = identity_ref(selectors.actor_for_token(site=ctx.site, token=ctx.token), ctx.site.slug)
    top = int_param(request, "$top", None, minimum=1)
    custom = wit.custom_fields(ctx.site)
    columns, order, ids = selectors.wiql_run(site=ctx.site, text=body["query"], project=project_obj, me=me, top=top,
                                             time_precision=flag(request, "timePrecision"))
    from django.utils import timezone

    return ok({
        "queryType": "flat", "queryResultType": "workItem", "asOf": iso(timezone.now()),
        "columns": [field_ref_json(c, urls, custom) for c in columns],
        "sortColumns": [{"field": field_ref_json(r, urls, custom), "descending": d} for r, d in order],
        "workItems": [{"id": i, "url": urls.work_item(i)} for i in ids],
    })


# ---------------------------------------------------------------------------------------------- work items

def _parse_ids(raw) -> list[int]:
    if isinstance(raw, str):
        raw = [part for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list) or not raw:
        raise errors.bad_request("VS403357: The ids parameter is required: a list of work item ids.")
    try:
        ids = [int(str(i).strip()) for i in raw]
    except ValueError:
        raise errors.bad_request("VS403357: Work item ids must be whole numbers.") from None
    if len(ids) > MAX_IDS:
        raise VendorError(400, f"VS403474: The number of requested work items exceeds the limit of {MAX_IDS}.",
                          type_key="WorkItemTooManyIdsException")
    return ids


def _expand(value) -> str:
    expand = (value or "none").lower()
    if expand not in ("none", "relations", "fields", "links", "all"):
        raise errors.bad_request(f"The $expand value '{value}' is not valid: none, relations, fields, links or all.")
    return expand


def items_payload(request, ctx, *, ids, fields_wanted, expand, as_of, error_policy, project=None):
    if fields_wanted and expand not in ("none", "fields"):
        raise errors.bad_request("VS403437: The expand parameter can not be used with the fields parameter.",
                                 "ConflictingParametersException")
    if error_policy not in ("fail", "omit"):
        raise errors.bad_request(f"The errorPolicy value '{error_policy}' is not valid: fail or omit.")
    urls = urls_of(request, ctx)
    rows = AdoWorkItem.objects.filter(site=ctx.site, item_id__in=ids, is_deleted=False)
    if project is not None:
        rows = rows.filter(project=project)
    found = {item.item_id: item for item in rows}
    missing = [i for i in ids if i not in found]
    if missing and error_policy == "fail":
        raise errors.work_item_not_found(missing[0])
    out = []
    for item_id in ids:
        item = found.get(item_id)
        if item is None:
            out.append(None)
            continue
        if as_of is not None:
            history = selectors.work_item_history(item, as_of=as_of)
            if not history:
                if error_policy == "fail":
                    raise errors.work_item_not_found(item_id)
                out.append(None)
                continue
            state = history[-1]
            out.append(work_item_json(item, urls, fields=state["fields"], rev=state["rev"], relations=state["relations"],
                                      expand=expand, only_fields=fields_wanted))
        else:
            out.append(work_item_json(item, urls, expand=expand, only_fields=fields_wanted))
    return out


@ado_adapter.endpoint(name="wit.workItemsBatch", scope={"*": "vso.work"})
def work_items_batch(request, ctx, project=None, **_):
    if request.method != "POST":
        raise method_not_allowed(request)
    api_version(request)
    project_obj = project_or_none(ctx, project)
    body = body_json(request)
    if not isinstance(body, dict):
        raise errors.bad_request("VS403357: Send a WorkItemBatchGetRequest object.")
    fields_wanted = body.get("fields")
    if fields_wanted is not None and (not isinstance(fields_wanted, list) or not all(isinstance(f, str) for f in fields_wanted)):
        raise errors.bad_request("VS403357: fields must be a list of field reference names.")
    values = items_payload(
        request, ctx, ids=_parse_ids(body.get("ids")), fields_wanted=fields_wanted,
        expand=_expand(body.get("$expand")), as_of=selectors.as_of_datetime(body.get("asOf")),
        error_policy=str(body.get("errorPolicy") or "fail").lower(), project=project_obj,
    )
    return listing(values)


@ado_adapter.endpoint(name="wit.workItemsList", scope=READ)
def work_items_list(request, ctx, project=None, **_):
    if request.method != "GET":
        raise method_not_allowed(request)
    api_version(request)
    project_obj = project_or_none(ctx, project)
    fields_param = request.GET.get("fields")
    values = items_payload(
        request, ctx, ids=_parse_ids(request.GET.get("ids", "")),
        fields_wanted=[f.strip() for f in fields_param.split(",") if f.strip()] if fields_param else None,
        expand=_expand(request.GET.get("$expand")), as_of=selectors.as_of_datetime(request.GET.get("asOf")),
        error_policy=request.GET.get("errorPolicy", "fail").lower(), project=project_obj,
    )
    return listing(values)


def _created_or_updated(request, ctx, item, expand="none"):
    urls = urls_of(request, ctx)
    body = work_item_json(item, urls, expand="all" if expand == "none" else expand)
    if not item.item_id:
        body.pop("id", None)
        body.pop("url", None)
        body.pop("_links", None)
    return ok(body)


@ado_adapter.endpoint(name="wit.workItemCreate", scope={"*": "vso.work_write"})
def work_item_create(request, ctx, type_name, project=None, **_):
    if request.method not in ("POST", "PATCH"):
        raise method_not_allowed(request)
    api_version(request)
    require_patch_content_type(request)
    if not project:
        raise errors.bad_request("VS403357: Creating a work item needs the project in the URL.")
    project_obj = selectors.project_get(site=ctx.site, name_or_id=project)
    item = wit.work_item_create(site=ctx.site, project=project_obj, type_name=type_name, ops=body_json(request),
                                opts=write_options(request, ctx))
    return _created_or_updated(request, ctx, item, _expand(request.GET.get("$expand")))


@ado_adapter.endpoint(name="wit.workItem", scope=READ)
def work_item(request, ctx, item_id, project=None, **_):
    api_version(request)
    project_obj = project_or_none(ctx, project)
    item_id = int(item_id)
    if request.method == "GET":
        fields_param = request.GET.get("fields")
        values = items_payload(
            request, ctx, ids=[item_id],
            fields_wanted=[f.strip() for f in fields_param.split(",") if f.strip()] if fields_param else None,
            expand=_expand(request.GET.get("$expand")), as_of=selectors.as_of_datetime(request.GET.get("asOf")),
            error_policy="fail", project=project_obj,
        )
        return ok(values[0])
    if request.method == "PATCH":
        require_patch_content_type(request)
        item = wit.work_item_update(site=ctx.site, item_id=item_id, ops=body_json(request),
                                    opts=write_options(request, ctx), project=project_obj)
        return _created_or_updated(request, ctx, item, _expand(request.GET.get("$expand")))
    if request.method == "DELETE":
        actor = selectors.actor_for_token(site=ctx.site, token=ctx.token)
        item = wit.work_item_delete(site=ctx.site, item_id=item_id, actor=actor, destroy=flag(request, "destroy"),
                                    project=project_obj)
        return ok(_delete_reference(item, urls_of(request, ctx)))
    raise method_not_allowed(request)


def _delete_reference(item, urls: Urls, *, with_resource: bool = False) -> dict:
    body = {"id": item.item_id, "code": 200, "deletedBy": item.deleted_by, "deletedDate": iso(item.deleted_date),
            "name": item.fields.get("System.Title", ""), "project": item.project.name,
            "type": item.work_item_type, "url": f"{urls.base}/_apis/wit/recycleBin/{item.item_id}"}
    if with_resource:
        body["resource"] = work_item_json(item, urls, expand="all")
    return body


def _find_item(ctx, item_id, project=None) -> AdoWorkItem:
    item = AdoWorkItem.objects.filter(site=ctx.site, item_id=int(item_id), is_deleted=False).select_related("project").first()
    if item is None or (project is not None and item.project_id != project.pk):
        raise errors.work_item_not_found(item_id)
    return item


@ado_adapter.endpoint(name="wit.revisions", scope=READ)
def revisions(request, ctx, item_id, project=None, rev=None, **_):
    if request.method != "GET":
        raise method_not_allowed(request)
    api_version(request)
    item = _find_item(ctx, item_id, project_or_none(ctx, project))
    urls = urls_of(request, ctx)
    expand = _expand(request.GET.get("$expand"))
    history = selectors.work_item_history(item)
    if rev is not None:
        state = next((h for h in history if h["rev"] == int(rev)), None)
        if state is None:
            raise VendorError(404, f"VS402322: Revision {rev} of work item {item.item_id} does not exist.",
                              type_key="WorkItemRevisionNotFoundException")
        return ok(work_item_json(item, urls, fields=state["fields"], rev=state["rev"], relations=state["relations"], expand=expand))
    top, skip = int_param(request, "$top", 200, minimum=1), int_param(request, "$skip", 0)
    page = history[skip:skip + top]
    return listing([work_item_json(item, urls, fields=h["fields"], rev=h["rev"], relations=h["relations"], expand=expand)
                    for h in page])


def _update_json(item, update, urls: Urls) -> dict:
    body = {"id": update.rev, "workItemId": item.item_id, "rev": update.rev, "revisedBy": update.revised_by,
            "revisedDate": iso(update.revised_date)}
    if update.fields:
        body["fields"] = update.fields
    if update.relations:
        body["relations"] = {
            key: [{"rel": r["rel"], "url": urls.work_item(r["target_id"]) if "target_id" in r else
                   urls.attachment(r["attachment_guid"]) if "attachment_guid" in r else r["url"],
                   "attributes": r.get("attributes", {})} for r in value]
            for key, value in update.relations.items()
        }
    body["url"] = f"{urls.work_item(item.item_id)}/updates/{update.rev}"
    return body


@ado_adapter.endpoint(name="wit.updates", scope=READ)
def updates(request, ctx, item_id, project=None, number=None, **_):
    if request.method != "GET":
        raise method_not_allowed(request)
    api_version(request)
    item = _find_item(ctx, item_id, project_or_none(ctx, project))
    urls = urls_of(request, ctx)
    rows = item.updates.order_by("rev")
    if number is not None:
        update = rows.filter(rev=int(number)).first()
        if update is None:
            raise VendorError(404, f"VS402322: Update {number} of work item {item.item_id} does not exist.",
                              type_key="WorkItemUpdateNotFoundException")
        return ok(_update_json(item, update, urls))
    top, skip = int_param(request, "$top", 200, minimum=1), int_param(request, "$skip", 0)
    return listing([_update_json(item, u, urls) for u in rows[skip:skip + top]])


# ---------------------------------------------------------------------------------------------- comments

def comment_json(comment: AdoComment, item: AdoWorkItem, urls: Urls, *, rendered: bool) -> dict:
    body = {
        "workItemId": item.item_id, "id": comment.comment_id, "version": comment.version, "text": comment.text,
        "createdBy": comment.created_by, "createdDate": iso(comment.created_date),
        "modifiedBy": comment.modified_by, "modifiedDate": iso(comment.modified_date),
        "format": comment.format, "isDeleted": comment.is_deleted,
        "url": f"{urls.base}/{item.project.guid}/_apis/wit/workItems/{item.item_id}/comments/{comment.comment_id}",
    }
    if rendered:
        body["renderedText"] = wit.markdown_to_html(comment.text) if comment.format == "markdown" else comment.text
    return body


@ado_adapter.endpoint(name="wit.comments", scope=READ)
def comments(request, ctx, item_id, project=None, comment_id=None, **_):
    version = api_version(request, preview=True)
    project_obj = project_or_none(ctx, project)
    item = _find_item(ctx, item_id, project_obj)
    urls = urls_of(request, ctx)
    expand = (request.GET.get("$expand") or "none").lower()
    rendered = expand in ("renderedtext", "renderedtextonly", "all")
    fmt = (request.GET.get("format") or "html").lower()
    if fmt not in ("html", "markdown"):
        raise errors.bad_request(f"The format '{fmt}' is not valid: html or markdown.")
    actor = selectors.actor_for_token(site=ctx.site, token=ctx.token)
    if comment_id is None:
        if request.method == "POST":
            body = body_json(request)
            if not isinstance(body, dict):
                raise errors.bad_request("VS403354: Send {\"text\": ...}.")
            comment = wit.comment_add(site=ctx.site, item=item, text=body.get("text"), fmt=fmt, opts=write_options(request, ctx))
            return ok(comment_json(comment, item, urls, rendered=True), version=version)
        if request.method != "GET":
            raise method_not_allowed(request)
        rows = item.comments.all()
        if not flag(request, "includeDeleted"):
            rows = rows.filter(is_deleted=False)
        order = (request.GET.get("order") or "desc").lower()
        rows = rows.order_by("comment_id" if order == "asc" else "-comment_id")
        top = min(int_param(request, "$top", 200, minimum=1), 200)
        token = request.GET.get("continuationToken")
        total = rows.count()
        if token:
            try:
                position = int(token)
            except ValueError:
                raise errors.bad_request("The continuationToken is not valid.") from None
            rows = rows.filter(comment_id__gt=position) if order == "asc" else rows.filter(comment_id__lt=position)
        page = list(rows[:top + 1])
        body = {"totalCount": total, "count": min(len(page), top),
                "comments": [comment_json(c, item, urls, rendered=rendered) for c in page[:top]]}
        if len(page) > top:
            body["continuationToken"] = str(page[top - 1].comment_id)
            body["nextPage"] = (f"{urls.base}/{item.project.guid}/_apis/wit/workItems/{item.item_id}/comments"
                                f"?continuationToken={body['continuationToken']}&$top={top}&order={order}")
        body["url"] = f"{urls.base}/{item.project.guid}/_apis/wit/workItems/{item.item_id}/comments"
        return ok(body, version=version)
    comment = item.comments.filter(comment_id=int(comment_id)).first()
    if comment is None:
        raise VendorError(404, f"VS402800: Comment {comment_id} of work item {item.item_id} does not exist.",
                          type_key="WorkItemCommentNotFoundException")
    if request.method == "GET":
        return ok(comment_json(comment, item, urls, rendered=rendered), version=version)
    if request.method == "PATCH":
        body = body_json(request)
        comment = wit.comment_update(comment=comment, text=(body or {}).get("text") if isinstance(body, dict) else None, actor=actor)
        return ok(comment_json(comment, item, urls, rendered=True), version=version)
    if request.method == "DELETE":
        wit.comment_delete(comment=comment, actor=actor)
        return HttpResponse(status=204)
    raise method_not_allowed(request)


# ---------------------------------------------------------------------------------------------- attachments

@ado_adapter.endpoint(name="wit.attachments", scope=READ)
def attachments(request, ctx, project=None, guid=None, **_):
    api_version(request)
    project_or_none(ctx, project)
    urls = urls_of(request, ctx)
    if guid is None:
        if request.method != "POST":
            raise method_not_allowed(request)
        upload_type = (request.GET.get("uploadType") or "simple").lower()
        if upload_type not in ("simple", "chunked"):
            raise errors.bad_request(f"The uploadType '{upload_type}' is not valid: simple or chunked.")
        attachment = wit.attachment_create(site=ctx.site, file_name=request.GET.get("fileName", ""), content=request.body,
                                           chunked=upload_type == "chunked")
        return ok({"id": str(attachment.guid), "url": urls.attachment(attachment.guid, attachment.file_name)}, status=201)
    attachment = AdoAttachment.objects.filter(site=ctx.site, guid=guid).first()
    if request.method == "PUT":
        attachment = wit.attachment_upload_chunk(site=ctx.site, guid=guid, content=request.body,
                                                 content_range=request.META.get("HTTP_CONTENT_RANGE", ""))
        return ok({"id": str(attachment.guid), "url": urls.attachment(attachment.guid)}, status=201)
    if request.method != "GET":
        raise method_not_allowed(request)
    if attachment is None or not attachment.is_complete:
        raise VendorError(404, f"VS402335: The attachment {guid} does not exist.", type_key="AttachmentNotFoundException")
    name = request.GET.get("fileName") or attachment.file_name
    response = HttpResponse(bytes(attachment.content), content_type=mimetypes.guess_type(name)[0] or "application/octet-stream")
    disposition = "attachment" if flag(request, "download") else "inline"
    response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{_quote(name)}"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


# ---------------------------------------------------------------------------------------------- identities

def identity_json(identity: AdoIdentity) -> dict:
    return {
        "id": str(identity.guid), "descriptor": f"Microsoft.IdentityModel.Claims.ClaimsIdentity;{identity.unique_name}",
        "subjectDescriptor": identity_descriptor(identity), "providerDisplayName": identity.display_name,
        "isActive": identity.is_active and not identity.is_deleted, "isContainer": False, "members": [], "memberOf": [],
        "memberIds": [], "resourceVersion": 2, "metaTypeId": 0,
        "properties": {"Mail": {"$type": "System.String", "$value": identity.unique_name},
                       "Account": {"$type": "System.String", "$value": identity.unique_name}},
    }


@ado_adapter.endpoint(name="ims.identities", scope={"GET": "vso.identity", "*": "vso.identity_manage"})
def identities(request, ctx, **_):
    if request.method != "GET":
        raise method_not_allowed(request)
    api_version(request)
    search = (request.GET.get("searchFilter") or "General").lower()
    value = request.GET.get("filterValue")
    ids = request.GET.get("identityIds")
    rows = AdoIdentity.objects.filter(site=ctx.site)
    if ids:
        try:
            rows = rows.filter(guid__in=[uuid.UUID(i.strip()) for i in ids.split(",") if i.strip()])
        except ValueError:
            raise errors.bad_request("identityIds must be identity ids separated by commas.") from None
    elif value:
        if search in ("mailaddress", "accountname"):
            rows = rows.filter(unique_name__iexact=value)
        elif search == "displayname":
            rows = rows.filter(display_name__iexact=value)
        elif search == "general":
            rows = rows.filter(Q(unique_name__iexact=value) | Q(display_name__icontains=value))
        else:
            raise errors.bad_request(f"The searchFilter '{search}' is not valid: General, AccountName, DisplayName or MailAddress.")
    else:
        raise errors.bad_request("VS403357: Give filterValue with searchFilter, or identityIds.")
    return listing([identity_json(i) for i in rows.order_by("display_name")])


# ---------------------------------------------------------------------------------------------- recycle bin

@ado_adapter.endpoint(name="wit.recycleBin", scope=READ)
def recycle_bin(request, ctx, project, item_id=None, **_):
    api_version(request)
    project_obj = selectors.project_get(site=ctx.site, name_or_id=project)
    urls = urls_of(request, ctx)
    if item_id is None:
        if request.method != "GET":
            raise method_not_allowed(request)
        rows = AdoWorkItem.objects.filter(site=ctx.site, project=project_obj, is_deleted=True).order_by("item_id")
        return listing([{"id": i.item_id, "url": f"{urls.base}/_apis/wit/recycleBin/{i.item_id}"} for i in rows])
    item_id = int(item_id)
    if request.method == "GET":
        item = AdoWorkItem.objects.filter(site=ctx.site, project=project_obj, item_id=item_id, is_deleted=True).select_related("project").first()
        if item is None:
            raise errors.work_item_not_found(item_id)
        return ok(_delete_reference(item, urls, with_resource=True))
    if request.method == "PATCH":
        body = body_json(request)
        if not isinstance(body, dict) or body.get("isDeleted") is not False:
            raise errors.bad_request("VS403357: Send {\"isDeleted\": false} to restore a work item.")
        item = wit.work_item_restore(site=ctx.site, item_id=item_id, project=project_obj)
        return ok(_delete_reference(item, urls))
    if request.method == "DELETE":
        actor = selectors.actor_for_token(site=ctx.site, token=ctx.token)
        if not AdoWorkItem.objects.filter(site=ctx.site, project=project_obj, item_id=item_id, is_deleted=True).exists():
            raise errors.work_item_not_found(item_id)
        wit.work_item_delete(site=ctx.site, item_id=item_id, actor=actor, destroy=True, project=project_obj)
        return HttpResponse(status=204)
    raise method_not_allowed(request)


# ---------------------------------------------------------------------------------------------- $batch

_BATCH_URI = re.compile(r"^(?:/(?P<project>[^/?]+))?/_apis/wit/workitems/(?:\$(?P<type>[^/?]+)|(?P<id>\d+))/?(?:\?(?P<query>.*))?$",
                        re.IGNORECASE)


@ado_adapter.endpoint(name="wit.batch", scope={"*": "vso.work_write"})
def batch(request, ctx, **_):
    """The old `$batch`: a list of work item PATCH/DELETE/GET requests, each answered on its own."""
    if request.method != "POST":
        raise method_not_allowed(request)
    api_version(request)
    operations = body_json(request)
    if not isinstance(operations, list) or not operations:
        raise errors.bad_request("VS403357: Send a list of {method, uri, headers, body} requests.")
    if len(operations) > MAX_IDS:
        raise errors.bad_request(f"VS403474: A batch holds at most {MAX_IDS} requests.", "WorkItemTooManyIdsException")
    urls = urls_of(request, ctx)
    results = []
    for operation in operations:
        results.append(_batch_one(request, ctx, operation, urls))
    return listing(results)


def _batch_one(request, ctx, operation, urls):
    from urllib.parse import parse_qs, unquote

    from apps.sandbox.ado.adapter import ado_error_body

    try:
        if not isinstance(operation, dict):
            raise errors.bad_request("VS403357: Each batch entry is an object.")
        match = _BATCH_URI.match(str(operation.get("uri", "")))
        if not match:
            raise errors.bad_request(f"VS403357: The batch uri '{operation.get('uri')}' is not a work item uri.")
        query = {k: v[-1] for k, v in parse_qs(match["query"] or "").items()}
        method = str(operation.get("method", "")).upper()
        opts = wit.WriteOptions(actor=selectors.actor_for_token(site=ctx.site, token=ctx.token),
                                bypass_rules=query.get("bypassRules", "").lower() == "true",
                                validate_only=query.get("validateOnly", "").lower() == "true")
        # The uri is a URL path: the service decodes it ("/Fabrikam%20Fiber/.../$User%20Story").
        project = project_or_none(ctx, unquote(match["project"]) if match["project"] else None)
        if match["type"]:
            if method not in ("PATCH", "POST"):
                raise method_not_allowed(request)
            if project is None:
                raise errors.bad_request("VS403357: Creating a work item needs the project in the uri.")
            item = wit.work_item_create(site=ctx.site, project=project, type_name=unquote(match["type"]),
                                        ops=operation.get("body"), opts=opts)
            body = work_item_json(item, urls, expand="all")
        elif method == "PATCH":
            item = wit.work_item_update(site=ctx.site, item_id=int(match["id"]), ops=operation.get("body"), opts=opts, project=project)
            body = work_item_json(item, urls, expand="all")
        elif method == "DELETE":
            item = wit.work_item_delete(site=ctx.site, item_id=int(match["id"]), actor=opts.actor, project=project)
            body = _delete_reference(item, urls)
        elif method == "GET":
            body = work_item_json(_find_item(ctx, match["id"], project), urls, expand=_expand(query.get("$expand")))
        else:
            raise errors.bad_request(f"The batch method '{method}' is not supported.")
        code = 200
    except VendorError as error:
        code, body = error.status, ado_error_body(error.status, error.message, type_key=error.type_key)
    return {"code": code, "headers": {"Content-Type": "application/json; charset=utf-8"},
            "body": json.dumps(body, ensure_ascii=False)}
