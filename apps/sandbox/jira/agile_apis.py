"""Jira Software's agile REST API 1.0: boards, their configuration, sprints and their state machine,
moving issues into sprints, the backlog and epics. Served on both kinds of site."""

from __future__ import annotations

from django.db.models import Q

from apps.sandbox.jira import catalog, services
from apps.sandbox.jira.adapter import (
    SCOPE_READ,
    SCOPE_WRITE,
    jira_adapter,
    jira_error,
    respond,
    respond_empty,
)
from apps.sandbox.jira.apis import (
    READ_WRITE,
    _parse,
    actor,
    body_json,
    field_selection,
    int_param,
    list_param,
)
from apps.sandbox.jira.models import JiraBoard, JiraIssue, JiraSprint
from apps.sandbox.jira.render import Renderer

AGILE_MAX = 50


def board_or_404(site, board_id) -> JiraBoard:
    board = JiraBoard.objects.filter(site=site, pk=board_id).select_related("project").first()
    if board is None:
        raise jira_error(404, "The requested board cannot be viewed because it either does not exist or you do not "
                              "have permission to view it.")
    return board


def sprint_or_404(site, sprint_id) -> JiraSprint:
    sprint = JiraSprint.objects.filter(site=site, pk=sprint_id).select_related("board").first()
    if sprint is None:
        raise jira_error(404, "The requested sprint does not exist or you do not have permission to view it.")
    return sprint


def board_json(renderer: Renderer, board: JiraBoard) -> dict:
    project = board.project
    return {"id": board.pk, "self": f"{renderer.base}/rest/agile/1.0/board/{board.pk}", "name": board.name,
            "type": board.type, "location": {
                "projectId": project.pk, "displayName": f"{project.name} ({project.key})", "projectName": project.name,
                "projectKey": project.key, "projectTypeKey": project.project_type,
                "avatarURI": f"{renderer.base}/avatar/project-{project.pk}", "name": f"{project.name} ({project.key})"}}


def issue_page(request, ctx, issues, *, default_fields=None):
    """The agile list shape: startAt, maxResults, total, issues (fields as asked, navigable by default)."""
    renderer = Renderer(request, ctx.site)
    renderer.preload_users()
    jql = request.GET.get("jql")
    if jql:
        parsed = _parse(ctx, jql)
        if parsed.where is not None:
            issues = issues.filter(parsed.where)
        if parsed.order_by:
            issues = issues.order_by(*parsed.order_by, "id")
    issues = issues.distinct()
    start = int_param(request, "startAt", 0)
    max_results = int_param(request, "maxResults", AGILE_MAX, minimum=0, maximum=AGILE_MAX)
    default = default_fields or (catalog.NAVIGABLE_FIELDS | {f.field_id for f in renderer.fields()})
    wanted = field_selection(renderer, list_param(request.GET.getlist("fields")), default=default)
    expand = set(list_param(request.GET.get("expand")))
    total = issues.count()
    page = list(issues.select_related("parent")[start:start + max_results])
    renderer.preload(page, wanted)
    values = [renderer.issue(i, fields=wanted, expand=expand) for i in page]
    return respond(request, {"expand": "schema,names", "startAt": start, "maxResults": max_results, "total": total,
                             "issues": values})


def values_page(request, values, *, maximum=AGILE_MAX):
    start = int_param(request, "startAt", 0)
    max_results = int_param(request, "maxResults", maximum, minimum=1, maximum=maximum)
    page = values[start:start + max_results]
    return {"maxResults": max_results, "startAt": start, "total": len(values),
            "isLast": start + len(page) >= len(values), "values": page}


@jira_adapter.endpoint(name="agile.boards", scope=SCOPE_READ)
def boards(request, ctx):
    renderer = Renderer(request, ctx.site)
    found = JiraBoard.objects.filter(site=ctx.site).select_related("project")
    if request.GET.get("type"):
        found = found.filter(type__in=list_param(request.GET.get("type")))
    if request.GET.get("name"):
        found = found.filter(name__icontains=request.GET["name"])
    location = request.GET.get("projectKeyOrId")
    if location:
        found = found.filter(Q(project__key=location.upper()) | (Q(project_id=int(location)) if location.isdigit() else Q(pk__in=[])))
    return respond(request, values_page(request, [board_json(renderer, b) for b in found]))


@jira_adapter.endpoint(name="agile.board", scope=SCOPE_READ)
def board(request, ctx, board_id):
    return respond(request, board_json(Renderer(request, ctx.site), board_or_404(ctx.site, board_id)))


@jira_adapter.endpoint(name="agile.board.configuration", scope=SCOPE_READ)
def board_configuration(request, ctx, board_id):
    found = board_or_404(ctx.site, board_id)
    renderer = Renderer(request, ctx.site)
    columns = []
    for status_id, (name, _, _) in catalog.STATUSES.items():
        columns.append({"name": name, "statuses": [{"id": status_id, "self": f"{renderer.rest}/status/{status_id}"}]})
    data = {"id": found.pk, "name": found.name, "type": found.type,
            "self": f"{renderer.base}/rest/agile/1.0/board/{found.pk}/configuration",
            "location": {"type": "project", "projectKeyOrId": found.project.key},
            "filter": {"id": str(10000 + found.pk), "self": f"{renderer.rest}/filter/{10000 + found.pk}"},
            "subQuery": {"query": "resolution = EMPTY OR resolution changed after -2w"},
            "columnConfig": {"columns": columns, "constraintType": "none"},
            "ranking": {"rankCustomFieldId": catalog.RANK_FIELD_ID}}
    if found.type == "scrum":
        data["estimation"] = {"type": "field", "field": {"fieldId": catalog.STORY_POINTS_FIELD,
                                                          "displayName": "Story point estimate"}}
    return respond(request, data)


@jira_adapter.endpoint(name="agile.board.sprints", scope=SCOPE_READ)
def board_sprints(request, ctx, board_id):
    found = board_or_404(ctx.site, board_id)
    if found.type != "scrum":
        raise jira_error(400, "The board does not support sprints.")
    sprints = found.sprints.all()
    states = list_param(request.GET.get("state"))
    if states:
        if any(s not in JiraSprint.State.values for s in states):
            raise jira_error(400, "The state parameter takes future, active and closed.")
        sprints = sprints.filter(state__in=states)
    renderer = Renderer(request, ctx.site)
    return respond(request, values_page(request, [renderer.sprint(s) for s in sprints]))


@jira_adapter.endpoint(name="agile.board.issues", scope=SCOPE_READ)
def board_issues(request, ctx, board_id):
    found = board_or_404(ctx.site, board_id)
    return issue_page(request, ctx, JiraIssue.objects.filter(project=found.project).order_by("rank", "id"))


@jira_adapter.endpoint(name="agile.board.backlog", scope=SCOPE_READ)
def board_backlog(request, ctx, board_id):
    found = board_or_404(ctx.site, board_id)
    issues = (JiraIssue.objects.filter(project=found.project).exclude(status_id=catalog.DONE_STATUS)
              .exclude(sprints__state__in=["active", "future"]).exclude(issue_type__hierarchy_level=1)
              .order_by("rank", "id"))
    return issue_page(request, ctx, issues)


@jira_adapter.endpoint(name="agile.board.epics", scope=SCOPE_READ)
def board_epics(request, ctx, board_id):
    found = board_or_404(ctx.site, board_id)
    renderer = Renderer(request, ctx.site)
    epics = JiraIssue.objects.filter(project=found.project, issue_type__hierarchy_level=1).order_by("rank", "id")
    done = request.GET.get("done")
    if done in ("true", "false"):
        epics = epics.filter(status_id=catalog.DONE_STATUS) if done == "true" else epics.exclude(status_id=catalog.DONE_STATUS)
    return respond(request, values_page(request, [epic_json(renderer, e) for e in epics]))


def epic_json(renderer, epic: JiraIssue) -> dict:
    return {"id": epic.pk, "key": epic.key, "self": f"{renderer.base}/rest/agile/1.0/epic/{epic.pk}",
            "name": epic.summary, "summary": epic.summary, "color": {"key": f"color_{epic.pk % 14 + 1}"},
            "done": epic.status_id == catalog.DONE_STATUS}


@jira_adapter.endpoint(name="agile.sprint.create", scope=SCOPE_WRITE)
def sprint_create(request, ctx):
    payload = body_json(request, allowed=("endDate", "goal", "name", "originBoardId", "startDate"))
    sprint = services.sprint_create(site=ctx.site, payload=payload)
    return respond(request, Renderer(request, ctx.site).sprint(sprint), status=201)


@jira_adapter.endpoint(name="agile.sprint", scope=READ_WRITE)
def sprint(request, ctx, sprint_id):
    found = sprint_or_404(ctx.site, sprint_id)
    if request.method in ("POST", "PUT"):
        payload = body_json(request, allowed=("completeDate", "createdDate", "endDate", "goal", "id", "name",
                                              "originBoardId", "self", "startDate", "state"))
        found = services.sprint_update(sprint=found, payload=payload, partial=request.method == "POST")
    elif request.method == "DELETE":
        if found.state != JiraSprint.State.FUTURE:
            raise jira_error(400, "Only a future sprint can be deleted; active and closed sprints hold history.")
        found.delete()
        return respond_empty(request)
    return respond(request, Renderer(request, ctx.site).sprint(found))


@jira_adapter.endpoint(name="agile.sprint.issues", scope=READ_WRITE)
def sprint_issues(request, ctx, sprint_id):
    found = sprint_or_404(ctx.site, sprint_id)
    if request.method == "POST":
        payload = body_json(request, allowed=("issues", "rankAfterIssue", "rankBeforeIssue", "rankCustomFieldId"))
        services.sprint_move_issues(sprint=found, actor=actor(ctx), payload=payload)
        return respond_empty(request)
    return issue_page(request, ctx, found.issues.all().order_by("rank", "id"))


@jira_adapter.endpoint(name="agile.epic", scope=SCOPE_READ)
def epic(request, ctx, epic_ref):
    found = services.issue_get(ctx.site, epic_ref)
    if found is None or found.issue_type.hierarchy_level != 1:
        raise jira_error(404, f"The epic {epic_ref} does not exist or you do not have permission to view it.")
    return respond(request, epic_json(Renderer(request, ctx.site), found))


@jira_adapter.endpoint(name="agile.epic.issues", scope=SCOPE_READ)
def epic_issues(request, ctx, epic_ref):
    found = services.issue_get(ctx.site, epic_ref)
    if found is None or found.issue_type.hierarchy_level != 1:
        raise jira_error(404, f"The epic {epic_ref} does not exist or you do not have permission to view it.")
    return issue_page(request, ctx, found.children.all().order_by("rank", "id"))
