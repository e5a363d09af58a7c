"""Site rows -> the JSON Jira answers. One `Renderer` per request: it knows the site's base URL, its API
version (3 on Cloud, 2 on Data Center) and caches users, types and fields while rendering lists."""

from __future__ import annotations

from django.utils import timezone

from apps.sandbox.jira import catalog
from apps.sandbox.jira.adapter import jira_datetime
from apps.sandbox.jira.models import (
    JiraAttachment,
    JiraComment,
    JiraField,
    JiraIssue,
    JiraIssueLink,
    JiraIssueType,
    JiraProject,
    JiraSprint,
    JiraUser,
)

AVATAR_SIZES = ("48x48", "24x24", "16x16", "32x32")


def duration_text(seconds: int | None) -> str | None:
    """Jira's "1d 2h 30m" (8-hour days, 5-day weeks)."""
    if seconds is None:
        return None
    parts, rest = [], int(seconds) // 60
    for unit, size in (("w", 5 * 8 * 60), ("d", 8 * 60), ("h", 60), ("m", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return " ".join(parts) or "0m"


class Renderer:
    def __init__(self, request, site):
        self.site = site
        self.cloud = site.kind == "jira_cloud"
        self.api = "3" if self.cloud else "2"
        self.base = request.build_absolute_uri(f"/sandbox/jira/{site.slug}").rstrip("/") if request else f"/sandbox/jira/{site.slug}"
        self.rest = f"{self.base}/rest/api/{self.api}"
        self._users: dict[int, JiraUser] = {}
        self._types: dict[int, JiraIssueType] | None = None
        self._fields: list[JiraField] | None = None
        self._projects: dict[int, JiraProject] = {}
        self._versions: dict[int, dict] = {}

    # --- caches -----------------------------------------------------------------------------------
    def user_by_pk(self, pk):
        if pk is None:
            return None
        if pk not in self._users:
            self._users[pk] = JiraUser.objects.filter(pk=pk).first()
        return self._users[pk]

    def preload(self, issues: list[JiraIssue], fields: set[str] | None):
        """Fetch what rendering a page of issues needs in a few queries instead of a few per issue."""
        from collections import defaultdict

        from django.db.models import Q

        from apps.sandbox.jira.models import JiraComponent

        self.preload_users()
        ids = [i.pk for i in issues]
        wanted = (lambda name: True) if fields is None else (lambda name: name in fields)
        self._pre = {}
        if wanted("issuelinks"):
            links = defaultdict(list)
            for link in JiraIssueLink.objects.filter(Q(inward_issue_id__in=ids) | Q(outward_issue_id__in=ids)).select_related(
                    "inward_issue", "outward_issue"):
                links[link.inward_issue_id].append(link)
                if link.outward_issue_id != link.inward_issue_id:
                    links[link.outward_issue_id].append(link)
            self._pre["issuelinks"] = links
        if wanted("subtasks"):
            children = defaultdict(list)
            for child in JiraIssue.objects.filter(parent_id__in=ids).order_by("id"):
                children[child.parent_id].append(child)
            self._pre["subtasks"] = children
        sprint_field = next((f.field_id for f in self.fields() if f.kind == "sprint"), None)
        if sprint_field and wanted(sprint_field):
            sprints = defaultdict(list)
            through = JiraIssue.sprints.through
            for row in through.objects.filter(jiraissue_id__in=ids).select_related("jirasprint").order_by("jirasprint_id"):
                sprints[row.jiraissue_id].append(row.jirasprint)
            self._pre["sprints"] = sprints
        if wanted("components"):
            component_ids = {c for i in issues for c in i.component_ids}
            self._pre["components"] = {c.pk: c for c in JiraComponent.objects.filter(pk__in=component_ids)}
        if wanted("comment"):
            comments = defaultdict(list)
            for comment in JiraComment.objects.filter(issue_id__in=ids).order_by("created", "id"):
                comments[comment.issue_id].append(comment)
            self._pre["comment"] = comments
        if wanted("attachment"):
            attachments = defaultdict(list)
            for attachment in JiraAttachment.objects.filter(issue_id__in=ids).defer("content").order_by("id"):
                attachments[attachment.issue_id].append(attachment)
            self._pre["attachment"] = attachments

    def _preloaded(self, name, issue, fallback):
        pre = getattr(self, "_pre", None)
        if pre is not None and name in pre:
            return pre[name].get(issue.pk, []) if name != "components" else pre[name]
        return fallback()

    def preload_users(self):
        for user in JiraUser.objects.filter(site=self.site):
            self._users[user.pk] = user

    def types(self) -> dict[int, JiraIssueType]:
        if self._types is None:
            self._types = {t.pk: t for t in JiraIssueType.objects.filter(site=self.site)}
        return self._types

    def fields(self) -> list[JiraField]:
        if self._fields is None:
            fields = JiraField.objects.filter(site=self.site)
            self._fields = [f for f in fields if self.cloud or f.kind != "storypoints"]
        return self._fields

    def project_versions(self, project_id) -> dict:
        """{version id: JiraVersion} of one project, read once per request."""
        if project_id not in self._versions:
            from apps.sandbox.jira.models import JiraVersion

            self._versions[project_id] = {v.pk: v for v in JiraVersion.objects.filter(project_id=project_id)}
        return self._versions[project_id]

    def project(self, pk) -> JiraProject:
        if pk not in self._projects:
            self._projects[pk] = JiraProject.objects.get(pk=pk)
        return self._projects[pk]

    # --- people -----------------------------------------------------------------------------------
    def avatars(self, seed: str) -> dict:
        return {size: f"{self.base}/avatar/{seed}?s={size.split('x')[0]}" for size in AVATAR_SIZES}

    def user(self, user: JiraUser | None, *, full: bool = False) -> dict | None:
        if user is None:
            return None
        data = {"self": f"{self.rest}/user?" + (f"accountId={user.account_id}" if self.cloud else f"username={user.name}")}
        if self.cloud:
            data["accountId"] = user.account_id
            data["accountType"] = user.account_type
        else:
            data["name"] = user.name
            data["key"] = user.key
        if user.email and (user.email_visible or not self.cloud):
            data["emailAddress"] = user.email
        data["avatarUrls"] = self.avatars(user.account_id if self.cloud else user.key)
        data["displayName"] = user.display_name
        data["active"] = user.active
        data["timeZone"] = user.time_zone
        if full:
            data["locale"] = "en_GB"
            data["groups"] = {"size": 1, "items": []}
            data["applicationRoles"] = {"size": 1, "items": []}
            data["expand"] = "groups,applicationRoles"
        return data

    # --- metadata ---------------------------------------------------------------------------------
    def status_category(self, key: str) -> dict:
        category = catalog.STATUS_CATEGORIES[key]
        return {"self": f"{self.rest}/statuscategory/{category['id']}", **category}

    def status(self, status_id: str) -> dict:
        name, category, description = catalog.STATUSES[status_id]
        data = {"self": f"{self.rest}/status/{status_id}", "description": description,
                "iconUrl": f"{self.base}/images/icons/statuses/generic.png", "name": name, "id": status_id,
                "statusCategory": self.status_category(category)}
        return data

    def priority(self, priority_id: str) -> dict | None:
        if not priority_id:
            return None
        name, colour = catalog.PRIORITIES[priority_id]
        return {"self": f"{self.rest}/priority/{priority_id}", "iconUrl": f"{self.base}/images/icons/priorities/{name.lower()}.svg",
                "name": name, "id": priority_id}

    def priority_full(self, priority_id: str) -> dict:
        data = self.priority(priority_id)
        data.update({"statusColor": catalog.PRIORITIES[priority_id][1], "description": f"{data['name']} priority",
                     "isDefault": priority_id == catalog.DEFAULT_PRIORITY})
        return data

    def resolution(self, resolution_id: str) -> dict | None:
        if not resolution_id:
            return None
        name, description = catalog.RESOLUTIONS[resolution_id]
        return {"self": f"{self.rest}/resolution/{resolution_id}", "id": resolution_id, "description": description, "name": name}

    def issue_type(self, issue_type: JiraIssueType) -> dict:
        data = {"self": f"{self.rest}/issuetype/{issue_type.pk}", "id": str(issue_type.pk),
                "description": issue_type.description,
                "iconUrl": f"{self.base}/rest/api/2/universal_avatar/view/type/issuetype/avatar/{issue_type.avatar_id}?size=medium",
                "name": issue_type.name, "subtask": issue_type.subtask, "avatarId": issue_type.avatar_id}
        if self.cloud:
            data["hierarchyLevel"] = issue_type.hierarchy_level
            data["entityId"] = f"{issue_type.pk:08d}-0000-4000-8000-{issue_type.site_id:012d}"
            if issue_type.project_id:
                data["scope"] = {"type": "PROJECT", "project": {"id": str(issue_type.project_id)}}
        return data

    def project_ref(self, project: JiraProject) -> dict:
        data = {"self": f"{self.rest}/project/{project.pk}", "id": str(project.pk), "key": project.key,
                "name": project.name, "projectTypeKey": project.project_type, "avatarUrls": self.avatars(f"project-{project.pk}")}
        if self.cloud:
            data["simplified"] = project.simplified
        return data

    def project_full(self, project: JiraProject, types: list[JiraIssueType]) -> dict:
        data = self.project_ref(project)
        data.update({"description": project.description, "lead": self.user(self.user_by_pk(project.lead_id)),
                     "issueTypes": [self.issue_type(t) for t in types], "assigneeType": "UNASSIGNED",
                     "isPrivate": False, "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight"})
        if self.cloud:
            data["style"] = project.style
            data["uuid"] = str(project.uuid)
            data["properties"] = {}
        return data

    def component(self, component, project: JiraProject) -> dict:
        data = {"self": f"{self.rest}/component/{component.pk}", "id": str(component.pk), "name": component.name,
                "description": component.description, "assigneeType": "PROJECT_DEFAULT",
                "realAssigneeType": "PROJECT_DEFAULT", "isAssigneeTypeValid": False,
                "project": project.key, "projectId": project.pk}
        lead = self.user_by_pk(component.lead_id)
        if lead:
            data["lead"] = self.user(lead)
        return data

    def version(self, version) -> dict:
        data = {"self": f"{self.rest}/version/{version.pk}", "id": str(version.pk), "name": version.name,
                "archived": version.archived, "released": version.released, "projectId": version.project_id}
        if version.description:
            data["description"] = version.description
        if version.start_date:
            data["startDate"] = version.start_date.isoformat()
        if version.release_date:
            data["releaseDate"] = version.release_date.isoformat()
            data["overdue"] = not version.released and version.release_date < timezone.localdate()
        return data

    def issue_version(self, version) -> dict:
        """A version as an issue's fixVersions / versions show it (no project id, no overdue flag)."""
        data = {"self": f"{self.rest}/version/{version.pk}", "id": str(version.pk),
                "description": version.description, "name": version.name, "archived": version.archived,
                "released": version.released}
        if version.release_date:
            data["releaseDate"] = version.release_date.isoformat()
        return data

    def link_type(self, type_id: str) -> dict:
        name, inward, outward = catalog.LINK_TYPES[type_id]
        return {"id": type_id, "name": name, "inward": inward, "outward": outward, "self": f"{self.rest}/issueLinkType/{type_id}"}

    def field_schema(self, field: JiraField) -> dict:
        schema_type, items, custom, _ = catalog.CUSTOM_FIELD_KINDS.get(field.kind, catalog.CUSTOM_FIELD_KINDS["imported"])
        if field.kind == "imported" and field.schema:
            return {k: v for k, v in field.schema.items() if k in ("type", "items", "custom", "customId", "system")}
        schema = {"type": schema_type, "custom": custom, "customId": int(field.field_id.rsplit("_", 1)[-1])}
        if items:
            schema["items"] = items
        return schema

    def field(self, field: JiraField) -> dict:
        number = field.field_id.rsplit("_", 1)[-1]
        return {"id": field.field_id, "key": field.field_id, "name": field.name, "custom": True, "orderable": True,
                "navigable": True, "searchable": True,
                "clauseNames": [f"cf[{number}]", field.name], "schema": self.field_schema(field)}

    def system_field_name(self, field_id: str) -> str:
        name = catalog.SYSTEM_FIELDS[field_id][0]
        return name if self.cloud else catalog.DC_FIELD_NAMES.get(field_id, name)

    def system_field(self, field_id: str) -> dict:
        _, schema, orderable = catalog.SYSTEM_FIELDS[field_id]
        return {"id": field_id, "key": field_id, "name": self.system_field_name(field_id), "custom": False,
                "orderable": orderable, "navigable": field_id in catalog.NAVIGABLE_FIELDS, "searchable": True,
                "clauseNames": catalog.CLAUSE_NAMES.get(field_id, [field_id]), "schema": schema}

    # --- issues -----------------------------------------------------------------------------------
    def issue_ref(self, issue: JiraIssue, *, with_fields: bool = True) -> dict:
        data = {"id": str(issue.pk), "key": issue.key, "self": f"{self.rest}/issue/{issue.pk}"}
        if with_fields:
            data["fields"] = {"summary": issue.summary, "status": self.status(issue.status_id),
                              "priority": self.priority(issue.priority_id or catalog.DEFAULT_PRIORITY),
                              "issuetype": self.issue_type(self.types()[issue.issue_type_id])}
        return data

    def sprint(self, sprint: JiraSprint) -> dict:
        data = {"id": sprint.pk, "self": f"{self.base}/rest/agile/1.0/sprint/{sprint.pk}", "state": sprint.state,
                "name": sprint.name, "originBoardId": sprint.board_id, "goal": sprint.goal,
                "createdDate": jira_datetime(sprint.created)}
        if sprint.start_date:
            data["startDate"] = jira_datetime(sprint.start_date)
        if sprint.end_date:
            data["endDate"] = jira_datetime(sprint.end_date)
        if sprint.complete_date:
            data["completeDate"] = jira_datetime(sprint.complete_date)
        return data

    def sprint_field_value(self, sprint: JiraSprint) -> dict:
        data = {"id": sprint.pk, "name": sprint.name, "state": sprint.state, "boardId": sprint.board_id, "goal": sprint.goal}
        for key in ("startDate", "endDate", "completeDate"):
            value = getattr(sprint, {"startDate": "start_date", "endDate": "end_date", "completeDate": "complete_date"}[key])
            if value:
                data[key] = jira_datetime(value)
        return data

    def attachment(self, attachment: JiraAttachment) -> dict:
        data = {"self": f"{self.rest}/attachment/{attachment.pk}", "id": str(attachment.pk),
                "filename": attachment.filename, "author": self.user(self.user_by_pk(attachment.author_id)),
                "created": jira_datetime(attachment.created), "size": attachment.size, "mimeType": attachment.mime_type,
                "content": f"{self.rest}/attachment/content/{attachment.pk}"}
        if attachment.mime_type.startswith("image/"):
            data["thumbnail"] = f"{self.rest}/attachment/thumbnail/{attachment.pk}"
        return data

    def attachment_meta(self, attachment: JiraAttachment) -> dict:
        data = self.attachment(attachment)
        data["id"] = attachment.pk
        data["properties"] = {}
        return data

    def comment(self, comment: JiraComment, issue_id: int) -> dict:
        data = {"self": f"{self.rest}/issue/{issue_id}/comment/{comment.pk}", "id": str(comment.pk),
                "author": self.user(self.user_by_pk(comment.author_id)), "body": comment.body,
                "updateAuthor": self.user(self.user_by_pk(comment.update_author_id or comment.author_id)),
                "created": jira_datetime(comment.created), "updated": jira_datetime(comment.updated)}
        if self.cloud:
            data["jsdPublic"] = True
        if comment.visibility:
            data["visibility"] = comment.visibility
        return data

    def worklog(self, worklog, issue_id: int) -> dict:
        author = self.user(self.user_by_pk(worklog.author_id))
        seconds = worklog.time_spent_seconds
        data = {"self": f"{self.rest}/issue/{issue_id}/worklog/{worklog.pk}", "id": str(worklog.pk),
                "issueId": str(issue_id), "author": author, "updateAuthor": author,
                "created": jira_datetime(worklog.created), "updated": jira_datetime(worklog.updated),
                "started": jira_datetime(worklog.started), "timeSpent": duration_text(seconds),
                "timeSpentSeconds": seconds}
        if worklog.comment:
            data["comment"] = worklog.comment
        return data

    def changelog(self, entry) -> dict:
        data = {"id": str(entry.pk), "author": self.user(self.user_by_pk(entry.author_id)),
                "created": jira_datetime(entry.created), "items": entry.items}
        return data

    def issue_link(self, link: JiraIssueLink, *, from_issue: JiraIssue | None) -> dict:
        data = {"id": str(link.pk), "self": f"{self.rest}/issueLink/{link.pk}", "type": self.link_type(link.link_type_id)}
        if from_issue is None:
            data["inwardIssue"] = self.issue_ref(link.inward_issue)
            data["outwardIssue"] = self.issue_ref(link.outward_issue)
        elif link.inward_issue_id == from_issue.pk:
            data["outwardIssue"] = self.issue_ref(link.outward_issue)
        else:
            data["inwardIssue"] = self.issue_ref(link.inward_issue)
        return data

    def rich(self, value):
        """Rich text in the site's own form (both are stored that way)."""
        return value

    def issue(self, issue: JiraIssue, *, fields: set[str] | None, expand: set[str] = frozenset(),
              properties: list[str] = ()) -> dict:
        """`fields` None means every field; an empty set, none (only id, key and self)."""
        data = {"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
                "id": str(issue.pk), "self": f"{self.rest}/issue/{issue.pk}", "key": issue.key}
        wanted = (lambda name: True) if fields is None else (lambda name: name in fields)
        values = {}
        if wanted("summary"):
            values["summary"] = issue.summary
        if wanted("issuetype"):
            values["issuetype"] = self.issue_type(self.types()[issue.issue_type_id])
        if wanted("project"):
            values["project"] = self.project_ref(self.project(issue.project_id))
        if wanted("status"):
            values["status"] = self.status(issue.status_id)
        if wanted("statuscategorychangedate"):
            values["statuscategorychangedate"] = jira_datetime(issue.updated)
        if wanted("priority"):
            values["priority"] = self.priority(issue.priority_id)
        if wanted("resolution"):
            values["resolution"] = self.resolution(issue.resolution_id)
        if wanted("resolutiondate"):
            values["resolutiondate"] = jira_datetime(issue.resolutiondate)
        if wanted("description"):
            values["description"] = self.rich(issue.description)
        if wanted("environment"):
            values["environment"] = self.rich(issue.environment)
        if wanted("labels"):
            values["labels"] = list(issue.labels)
        for role in ("assignee", "reporter", "creator"):
            if wanted(role):
                values[role] = self.user(self.user_by_pk(getattr(issue, f"{role}_id")))
        if wanted("created"):
            values["created"] = jira_datetime(issue.created)
        if wanted("updated"):
            values["updated"] = jira_datetime(issue.updated)
        if wanted("duedate"):
            values["duedate"] = issue.duedate.isoformat() if issue.duedate else None
        if wanted("components"):
            from apps.sandbox.jira.models import JiraComponent

            components = self._preloaded("components", issue, lambda: {
                c.pk: c for c in JiraComponent.objects.filter(pk__in=issue.component_ids)})
            project = self.project(issue.project_id)
            values["components"] = [self.component(components[c], project) for c in issue.component_ids if c in components]
        for field_id, (attribute, _) in catalog.VERSION_FIELDS.items():
            if wanted(field_id):  # in the project's order of versions, as Jira lists them
                held = set(getattr(issue, attribute))
                values[field_id] = [self.issue_version(version) for pk, version in
                                    self.project_versions(issue.project_id).items() if pk in held]
        if wanted("parent") and issue.parent_id and (self.cloud or self.types()[issue.issue_type_id].subtask):
            values["parent"] = self.issue_ref(issue.parent)
        if wanted("subtasks"):
            children = self._preloaded("subtasks", issue, lambda: list(issue.children.all()))
            values["subtasks"] = [self.issue_ref(child) for child in children if self.types()[child.issue_type_id].subtask]
        if wanted("issuelinks"):
            links = self._preloaded("issuelinks", issue, lambda: list(
                JiraIssueLink.objects.filter(inward_issue=issue).select_related("outward_issue", "inward_issue"))
                + list(JiraIssueLink.objects.filter(outward_issue=issue).select_related("inward_issue", "outward_issue")))
            values["issuelinks"] = [self.issue_link(link, from_issue=issue) for link in sorted(links, key=lambda x: x.pk)]
        if wanted("comment"):
            comments = self._preloaded("comment", issue, lambda: list(issue.comments.all()))
            values["comment"] = {"comments": [self.comment(c, issue.pk) for c in comments], "self": f"{self.rest}/issue/{issue.pk}/comment",
                                 "maxResults": len(comments), "total": len(comments), "startAt": 0}
        if {"worklog", "timespent", "timetracking", "aggregatetimespent"} & (fields if fields is not None else {"worklog"}):
            worklogs = self._preloaded("worklog", issue, lambda: list(issue.worklogs.all()))
            spent = sum(w.time_spent_seconds for w in worklogs) or None
            original, remaining = issue.original_estimate_seconds, issue.remaining_estimate_seconds
            for name, value in (("timeoriginalestimate", original), ("aggregatetimeoriginalestimate", original),
                                ("timeestimate", remaining), ("aggregatetimeestimate", remaining),
                                ("timespent", spent), ("aggregatetimespent", spent)):
                if wanted(name):
                    values[name] = value
            if wanted("timetracking"):
                values["timetracking"] = {k: v for k, v in (
                    ("originalEstimate", duration_text(original)), ("remainingEstimate", duration_text(remaining)),
                    ("timeSpent", duration_text(spent)), ("originalEstimateSeconds", original),
                    ("remainingEstimateSeconds", remaining), ("timeSpentSeconds", spent)) if v is not None}
            if wanted("worklog"):
                values["worklog"] = {"startAt": 0, "maxResults": 20, "total": len(worklogs),
                                     "worklogs": [self.worklog(w, issue.pk) for w in worklogs[:20]]}
        if wanted("attachment"):
            values["attachment"] = [self.attachment(a) for a in self._preloaded(
                "attachment", issue, lambda: list(issue.attachments.all().defer("content")))]
        for field in self.fields():
            if not wanted(field.field_id):
                continue
            if field.kind == "sprint":
                sprints = self._preloaded("sprints", issue, lambda: list(issue.sprints.all()))
                values[field.field_id] = [self.sprint_field_value(s) for s in sprints] or None
            elif field.kind == "epiclink":
                if self.cloud:
                    continue
                parent = issue.parent if issue.parent_id else None
                values[field.field_id] = parent.key if parent and self.types()[parent.issue_type_id].hierarchy_level == 1 else None
            else:
                values[field.field_id] = self.custom_value(field, issue.custom.get(field.field_id))
        if fields is None or fields:
            data["fields"] = values
        if "changelog" in expand:
            histories = [self.changelog(entry) for entry in issue.changelogs.all()]
            data["changelog"] = {"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories}
        if "names" in expand:
            data["names"] = {name: self.field_name(name) for name in values}
        if properties:
            props = {p.key: p.value for p in issue.properties.all()}
            data["properties"] = {k: props[k] for k in props if "*all" in properties or k in properties}
        return data

    def field_name(self, field_id: str) -> str:
        if field_id in catalog.SYSTEM_FIELDS:
            return self.system_field_name(field_id)
        return next((f.name for f in self.fields() if f.field_id == field_id), field_id)

    def custom_value(self, field: JiraField, value):
        if value is None:
            return None
        if field.kind == "user":
            if not getattr(self, "_users_by_ref", None):
                users = list(JiraUser.objects.filter(site=self.site))
                self._users_by_ref = {(u.account_id if self.cloud else u.name): u for u in users}
            return self.user(self._users_by_ref.get(value))
        if field.kind == "select":
            option = next((o for o in field.options if o["id"] == value), None)
            return {"self": f"{self.rest}/customFieldOption/{value}", "value": option["value"], "id": value} if option else None
        if field.kind == "multiselect":
            options = {o["id"]: o["value"] for o in field.options}
            return [{"self": f"{self.rest}/customFieldOption/{v}", "value": options[v], "id": v} for v in value if v in options]
        return value
