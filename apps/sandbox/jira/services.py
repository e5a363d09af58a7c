"""Writes on a local Jira site, with Jira's rules: fields checked as Jira checks them (unknown or
read-only fields refused, rich text validated as ADF on Cloud), parent rules, status only through
transitions, changelog entries for every change, the per-issue write limit, sprints' state machine."""

from __future__ import annotations

import math
import re
import time
import uuid
from datetime import UTC, date, datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.sandbox.jira import catalog
from apps.sandbox.jira.adapter import jira_error
from apps.sandbox.jira.adf import adf_problem
from apps.sandbox.jira.models import (
    JiraAttachment,
    JiraBoard,
    JiraComment,
    JiraComponent,
    JiraEntityProperty,
    JiraField,
    JiraIssue,
    JiraIssueLink,
    JiraIssueType,
    JiraIssueWriteWindow,
    JiraProject,
    JiraRemoteLink,
    JiraSprint,
    JiraUser,
    JiraVersion,
)
from apps.sandbox.machinery import VendorError
from apps.sandbox.models import SandboxSite

CANNOT_SET = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
ADMIN_ACCOUNT_ID = "5b10a2844c20165700ede21g"
MAX_SUMMARY = 255
VISIBILITY_ROLES = ("Administrators", "Developers", "Users", "Member", "Viewer")


# --- site -------------------------------------------------------------------------------------------
def jira_principal(*, user: JiraUser) -> dict:
    return {"accountId": user.account_id, "email": user.email, "name": user.name, "displayName": user.display_name}


def jira_site_admin(*, site: SandboxSite) -> JiraUser:
    jira_site_bootstrap(site=site)
    return JiraUser.objects.get(site=site, account_id=ADMIN_ACCOUNT_ID)


def jira_site_bootstrap(*, site: SandboxSite) -> None:
    """What a new Jira site has before anyone uses it: its admin, the company-managed issue types and the
    custom fields. Idempotent."""
    if not JiraUser.objects.filter(site=site, account_id=ADMIN_ACCOUNT_ID).exists():
        JiraUser.objects.create(site=site, account_id=ADMIN_ACCOUNT_ID, name="admin", key="JIRAUSER10000",
                                display_name="Sandbox Admin", email="sandbox.admin@migrayt.local")
    if not JiraIssueType.objects.filter(site=site, project__isnull=True).exists():
        JiraIssueType.objects.bulk_create([
            JiraIssueType(site=site, name=name, hierarchy_level=level, description=description,
                          avatar_id=10300 + index)
            for index, (name, level, description) in enumerate(catalog.SITE_ISSUE_TYPES)
        ])
    existing = set(JiraField.objects.filter(site=site).values_list("field_id", flat=True))
    JiraField.objects.bulk_create([
        JiraField(site=site, field_id=field_id, name=name, kind=kind,
                  options=[{"id": str(10100 + 10 * int(field_id[-2:]) + i), "value": v} for i, v in enumerate(options)])
        for field_id, name, kind, options, dc_only in catalog.SITE_CUSTOM_FIELDS
        if field_id not in existing and (not dc_only or site.kind == "jira_dc")
    ])


def jira_project_create(*, site: SandboxSite, key: str, name: str, style: str = "classic", template: str = "scrum",
                        lead: JiraUser | None = None, description: str = "") -> JiraProject:
    """A project with its board (and, when team-managed, its own issue types). Idempotent on the key."""
    jira_site_bootstrap(site=site)
    project = JiraProject.objects.filter(site=site, key=key).first()
    if project:
        return project
    project = JiraProject.objects.create(site=site, key=key, name=name, style=style, template=template,
                                         lead=lead or jira_site_admin(site=site), description=description)
    if style == JiraProject.Style.NEXT_GEN:
        JiraIssueType.objects.bulk_create([
            JiraIssueType(site=site, project=project, name=type_name, hierarchy_level=level, description=text,
                          avatar_id=10400 + index)
            for index, (type_name, level, text) in enumerate(catalog.TEAM_MANAGED_ISSUE_TYPES)
        ])
    JiraBoard.objects.create(site=site, project=project, name=f"{key} board", type=template)
    return project


def jira_site_reset(*, site: SandboxSite) -> None:
    JiraIssueLink.objects.filter(site=site).delete()
    JiraIssue.objects.filter(site=site).update(parent=None)
    JiraIssue.objects.filter(site=site).delete()
    JiraSprint.objects.filter(site=site).delete()
    JiraBoard.objects.filter(site=site).delete()
    JiraIssueType.objects.filter(site=site).delete()
    JiraProject.objects.filter(site=site).delete()
    JiraField.objects.filter(site=site).delete()
    JiraUser.objects.filter(site=site).delete()


def project_issue_types(project: JiraProject) -> list[JiraIssueType]:
    if project.style == JiraProject.Style.NEXT_GEN:
        return list(project.own_issue_types.all())
    return list(JiraIssueType.objects.filter(site=project.site_id, project__isnull=True))


# --- the per-issue write limit ------------------------------------------------------------------------
def issue_write_check(*, issue: JiraIssue, now: float | None = None) -> None:
    """Jira Cloud refuses more than N writes to one issue in a short window (RateLimit-Reason
    jira-per-issue-on-write). Off unless the site's `per_issue_write_limit` option is set."""
    site = issue.site
    limit = int(site.options.get("per_issue_write_limit") or 0)
    if site.kind != "jira_cloud" or limit <= 0:
        return
    window = max(1, int(site.options.get("per_issue_write_window_seconds") or 2))
    now = time.time() if now is None else now
    window_start = int(now // window * window)
    rows = JiraIssueWriteWindow.objects.filter(issue=issue, window_start=window_start)
    if not rows.update(used=F("used") + 1):
        try:
            with transaction.atomic():
                JiraIssueWriteWindow.objects.create(issue=issue, window_start=window_start, used=1)
            JiraIssueWriteWindow.objects.filter(issue=issue, window_start__lt=window_start).delete()
        except IntegrityError:
            rows.update(used=F("used") + 1)
    used = rows.values_list("used", flat=True).first() or 1
    if used > limit:
        retry_after = max(1, math.ceil(window_start + window - now))
        reset = datetime.fromtimestamp(window_start + window, UTC).strftime("%Y-%m-%dT%H:%MZ")
        raise jira_error(429, f"Too many writes to issue {issue.key}; wait before writing to it again.", headers={
            "Retry-After": str(retry_after), "RateLimit-Reason": "jira-per-issue-on-write",
            "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset,
            "X-RateLimit-NearLimit": "true",
        })


# --- resolving references -----------------------------------------------------------------------------
def user_resolve(site: SandboxSite, value) -> JiraUser | None:
    """A user reference as a request names it: {"accountId"} on Cloud, {"name"} or {"key"} on DC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"accountId": value} if site.kind == "jira_cloud" else {"name": value}
    if not isinstance(value, dict):
        raise ValueError("invalid")
    users = JiraUser.objects.filter(site=site)
    if site.kind == "jira_cloud":
        if value.get("accountId") is None:
            if set(value) & {"name", "key"}:
                raise ValueError("The query parameter 'username' is not supported in GDPR strict mode.")
            return None
        user = users.filter(account_id=value["accountId"]).first()
    else:
        user = (users.filter(name=value["name"]).first() if value.get("name")
                else users.filter(key=value.get("key")).first() if value.get("key") else None)
    if user is None:
        raise ValueError("invalid")
    return user


def issue_get(site: SandboxSite, id_or_key) -> JiraIssue | None:
    id_or_key = str(id_or_key or "").strip()
    issues = JiraIssue.objects.filter(site=site).select_related("project", "issue_type", "parent")
    if id_or_key.isdigit():
        return issues.filter(pk=int(id_or_key)).first()
    return issues.filter(key=id_or_key.upper()).first()


def issues_by_refs(site: SandboxSite, refs) -> dict[str, JiraIssue]:
    """Issues named by ids or keys, in two queries; keyed by the reference as given (upper-cased)."""
    refs = [str(r).strip().upper() for r in refs]
    ids = [int(r) for r in refs if r.isdigit()]
    keys = [r for r in refs if not r.isdigit()]
    issues = JiraIssue.objects.filter(site=site).select_related("project", "issue_type", "parent")
    out = {str(i.pk): i for i in issues.filter(pk__in=ids)} if ids else {}
    if keys:
        out.update({i.key: i for i in issues.filter(key__in=keys)})
    return out


def issue_get_or_404(site, id_or_key) -> JiraIssue:
    issue = issue_get(site, id_or_key)
    if issue is None:
        raise jira_error(404, "Issue does not exist or you do not have permission to see it.")
    return issue


def _ref(value, *keys):
    if isinstance(value, dict):
        for key in keys:
            if value.get(key) not in (None, ""):
                return str(value[key])
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    return None


def _project(site, value) -> JiraProject | None:
    ref = _ref(value, "id", "key")
    if ref is None:
        return None
    projects = JiraProject.objects.filter(site=site)
    return projects.filter(pk=int(ref)).first() if ref.isdigit() else projects.filter(key=ref.upper()).first()


class Lookups:
    """What one request reads again and again (projects, issue types, custom fields, components, parents),
    read once: a bulk create of 50 issues names the same project, types and parents in every element."""

    def __init__(self, site: SandboxSite):
        self.site = site
        self._projects: dict[str, JiraProject | None] = {}
        self._types: dict[int, list[JiraIssueType]] = {}
        self._fields: dict[str, JiraField] | None = None
        self._components: dict[int, list[JiraComponent]] = {}
        self._versions: dict[int, list[JiraVersion]] = {}
        self._issues: dict[str, JiraIssue | None] = {}

    def project(self, value) -> JiraProject | None:
        ref = _ref(value, "id", "key")
        if ref is None:
            return None
        ref = ref.upper()
        if ref not in self._projects:
            self._projects[ref] = _project(self.site, ref)
        return self._projects[ref]

    def issue_types(self, project: JiraProject) -> list[JiraIssueType]:
        if project.pk not in self._types:
            self._types[project.pk] = project_issue_types(project)
        return self._types[project.pk]

    def custom_fields(self) -> dict[str, JiraField]:
        if self._fields is None:
            self._fields = {f.field_id: f for f in JiraField.objects.filter(site=self.site)}
        return self._fields

    def component(self, project: JiraProject, ref: str | None) -> JiraComponent | None:
        if project.pk not in self._components:
            self._components[project.pk] = list(project.components.all())
        if not ref:
            return None
        if ref.isdigit():
            return next((c for c in self._components[project.pk] if c.pk == int(ref)), None)
        return next((c for c in self._components[project.pk] if c.name == ref), None)

    def version(self, project: JiraProject, *, id: str = "", name: str = "") -> JiraVersion | None:
        """A version of the project by id, or by name (as written, else in any case)."""
        if project.pk not in self._versions:
            self._versions[project.pk] = list(project.versions.all())
        versions = self._versions[project.pk]
        if id:
            return next((v for v in versions if str(v.pk) == id), None)
        return (next((v for v in versions if v.name == name), None)
                or next((v for v in versions if v.name.casefold() == name.strip().casefold()), None))

    def prefetch_issues(self, refs) -> None:
        """Issues named by any element, in two queries (ids, keys)."""
        wanted = {str(r).strip().upper() for r in refs if r not in (None, "")} - set(self._issues)
        if wanted:
            found = issues_by_refs(self.site, wanted)
            self._issues.update({ref: found.get(ref) for ref in wanted})

    def issue(self, ref) -> JiraIssue | None:
        key = str(ref or "").strip().upper()
        if key not in self._issues:
            self._issues[key] = issue_get(self.site, key)
        return self._issues[key]


# --- fields ---------------------------------------------------------------------------------------
class FieldErrors(dict):
    def raise_if_any(self):
        if self:
            raise jira_error(400, errors=dict(self))


def _check_rich(site, name, value, errors) -> None:
    if value is None:
        return
    if site.kind == "jira_cloud":
        problem = adf_problem(value)
        if problem:
            errors[name] = problem
    elif not isinstance(value, str):
        errors[name] = "Operation value must be a string"


def _custom_value(site, field: JiraField, value, errors):
    """The value to keep for a custom field, or an error."""
    if value is None:
        return None
    kind = field.kind
    fid = field.field_id
    if kind in ("number", "storypoints"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors[fid] = "Operation value must be a number"
            return None
        return value
    if kind == "date":
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            errors[fid] = "Date value is invalid. Use the format yyyy-MM-dd."
            return None
        return value
    if kind in ("text", "url"):
        if not isinstance(value, str):
            errors[fid] = "Operation value must be a string"
            return None
        if len(value) > 255:
            errors[fid] = "The entered text is too long. It exceeds the allowed limit of 255 characters."
            return None
        if kind == "url" and value and not re.match(r"^[a-z][a-z0-9+.-]*://", value, re.I):
            errors[fid] = f"Not a valid URL: {value}"
            return None
        return value
    if kind == "paragraph":
        _check_rich(site, fid, value, errors)
        return value
    if kind == "labels":
        if not isinstance(value, list) or any(not isinstance(v, str) or " " in v or not v for v in value):
            errors[fid] = "The label can't contain spaces."
            return None
        return value
    if kind == "user":
        try:
            user = user_resolve(site, value)
        except ValueError:
            errors[fid] = "Specify a valid value for " + field.name
            return None
        return (user.account_id if site.kind == "jira_cloud" else user.name) if user else None
    if kind in ("select", "multiselect"):
        options = {o["id"]: o["value"] for o in field.options}
        wanted = value if kind == "multiselect" else [value]
        if not isinstance(wanted, list):
            errors[fid] = f"Specify the value for {field.name} in an array"
            return None
        ids = []
        for item in wanted:
            option_id = _ref(item, "id") if isinstance(item, dict) and "id" in item else None
            if option_id is None and isinstance(item, dict) and "value" in item:
                option_id = next((k for k, v in options.items() if v == item["value"]), None)
            if option_id not in options:
                errors[fid] = f"Option value '{_ref(item, 'value', 'id')}' is not valid"
                return None
            ids.append(option_id)
        return ids if kind == "multiselect" else ids[0]
    return value


def _check_parent(site, project, issue_type, parent, errors):
    if "parent" in errors:
        return
    if issue_type.subtask:
        if parent is None:
            errors["parent"] = "Parent id is required for a sub-task."
        elif parent.issue_type.hierarchy_level != 0:
            errors["parent"] = "Given parent work item does not belong to appropriate hierarchy."
        elif parent.project_id != project.pk:
            errors["parent"] = "A sub-task must be in the same project as its parent."
    elif parent is not None and parent.issue_type.hierarchy_level != issue_type.hierarchy_level + 1:
        errors["parent"] = "Given parent work item does not belong to appropriate hierarchy."


def _parse_fields(site, fields: dict, *, issue: JiraIssue | None, project: JiraProject, issue_type: JiraIssueType,
                  errors: FieldErrors, lookups: Lookups | None = None) -> dict:
    """Checked values of the settable fields named in `fields` -> {attribute or custom field id: value}."""
    lookups = lookups or Lookups(site)
    custom_fields = lookups.custom_fields()
    out = {}
    for name, value in fields.items():
        if name in ("project", "issuetype"):
            continue
        field = custom_fields.get(name)
        if field is not None:
            if field.kind == "sprint":
                if value is None:
                    out["sprint"] = None
                elif isinstance(value, int) and not isinstance(value, bool):
                    sprint = JiraSprint.objects.filter(site=site, pk=value).first()
                    if sprint is None or sprint.state == JiraSprint.State.CLOSED:
                        errors[name] = f"Sprint with id {value} does not exist or is closed."
                    else:
                        out["sprint"] = sprint
                else:
                    errors[name] = "Number value expected as the Sprint id."
            elif field.kind == "epiclink":
                if site.kind == "jira_cloud":
                    errors[name] = CANNOT_SET.format(name)
                    continue
                epic = lookups.issue(value) if value else None
                if value and (epic is None or epic.issue_type.hierarchy_level != 1):
                    errors[name] = f"The issue '{value}' is not an epic."
                else:
                    out["parent"] = epic
            else:
                out.setdefault("custom", {})[name] = _custom_value(site, field, value, errors)
            continue
        if name not in catalog.SETTABLE_SYSTEM_FIELDS:
            errors[name] = CANNOT_SET.format(name)
            continue
        if name == "summary":
            if not isinstance(value, str) or not value.strip():
                errors["summary"] = "You must specify a summary of the issue."
            elif len(value) > MAX_SUMMARY:
                errors["summary"] = "Summary must be less than 255 characters."
            elif "\n" in value or "\r" in value:
                errors["summary"] = "The summary is invalid because it contains newline characters."
            else:
                out["summary"] = value
        elif name in catalog.RICH_TEXT_SYSTEM_FIELDS:
            _check_rich(site, name, value, errors)
            out[name] = value
        elif name == "priority":
            match = catalog.priority_id_for(_ref(value, "id", "name"))
            if match is None:
                errors["priority"] = "Specify the Priority (id or name) in the string format"
            else:
                out["priority_id"] = match
        elif name == "resolution":
            if value is None:
                out["resolution_id"] = ""
                continue
            match = catalog.resolution_id_for(_ref(value, "id", "name"))
            if match is None:
                errors["resolution"] = "Resolution name or id is invalid."
            else:
                out["resolution_id"] = match
        elif name == "labels":
            if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
                errors["labels"] = "The value of labels must be an array of strings."
            elif any(" " in v or not v for v in value):
                errors["labels"] = "The label can't contain spaces."
            elif any(len(v) > 255 for v in value):
                errors["labels"] = "The label must not exceed 255 characters."
            else:
                out["labels"] = list(dict.fromkeys(value))
        elif name == "components":
            if not isinstance(value, list):
                errors["components"] = "Specify the components in an array."
                continue
            ids = []
            for item in value:
                ref = _ref(item, "id", "name")
                comp = lookups.component(project, ref)
                if comp is None:
                    errors["components"] = f"Component name '{ref}' is not valid"
                    break
                ids.append(comp.pk)
            else:
                out["component_ids"] = ids
        elif name in catalog.VERSION_FIELDS:
            ids = _version_ids(value, name, project=project, lookups=lookups, errors=errors)
            if ids is not None:
                out[catalog.VERSION_FIELDS[name][0]] = ids
        elif name in ("assignee", "reporter"):
            try:
                user = user_resolve(site, value)
            except ValueError as exc:
                errors[name] = str(exc) if str(exc) != "invalid" else f"Specify a valid value for {name}"
                continue
            if name == "reporter" and user is None:
                errors["reporter"] = "Reporter is required."
            elif user is not None and not user.active:
                errors[name] = f"User '{user.display_name}' cannot be assigned issues." if name == "assignee" \
                    else "The reporter specified is not a user."
            else:
                out[name] = user
        elif name == "duedate":
            if value is None:
                out["duedate"] = None
                continue
            try:
                out["duedate"] = date.fromisoformat(value)
            except (TypeError, ValueError):
                errors["duedate"] = "Error parsing date string: " + str(value)
        elif name == "parent":
            if value is None:
                out["parent"] = None
                continue
            ref = _ref(value, "key", "id")
            parent = lookups.issue(ref) if ref else None
            if parent is None:
                errors["parent"] = "Could not find issue by id or key."
            elif issue is not None and parent.pk == issue.pk:
                errors["parent"] = "An issue cannot be its own parent."
            else:
                if site.kind == "jira_dc" and not issue_type.subtask:
                    errors["parent"] = "The parent of a standard issue is set through the Epic Link field on Data Center."
                    continue
                out["parent"] = parent
    return out


def _version_ref(item, name, *, project, lookups, errors) -> JiraVersion | None:
    """The project's version a `{"id"}` or `{"name"}` names; Jira's error when there is none."""
    if isinstance(item, dict) and item.get("id") not in (None, ""):
        found = lookups.version(project, id=str(item["id"]))
        if found is None:
            errors[name] = f"Version id '{item['id']}' is not valid"
        return found
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        found = lookups.version(project, name=item["name"])
        if found is None:
            errors[name] = f"Version name '{item['name']}' is not valid"
        return found
    errors[name] = "A version is given by its id or its name: {\"id\": \"10000\"} or {\"name\": \"1.0\"}."
    return None


def _version_ids(value, name, *, project, lookups, errors) -> list[int] | None:
    """fixVersions / versions: a list of versions of the issue's project, each by id or name."""
    if not isinstance(value, list):
        errors[name] = "data was not an array"
        return None
    ids = []
    for item in value:
        found = _version_ref(item, name, project=project, lookups=lookups, errors=errors)
        if found is None:
            return None
        ids.append(found.pk)
    return list(dict.fromkeys(ids))


def _apply_version_ops(update: dict, values: dict, errors: FieldErrors, *, project, lookups,
                       current: dict[str, list[int]]) -> None:
    """`update` verbs on the version fields: add, remove (each one version, by id or name) and set (a list)."""
    for name, (attribute, _) in catalog.VERSION_FIELDS.items():
        operations = update.get(name)
        if operations is None:
            continue
        if not isinstance(operations, list):
            errors[name] = "Field operations must be a list."
            continue
        ids = list(values.get(attribute, current.get(attribute, [])))
        for operation in operations:
            if not isinstance(operation, dict) or len(operation) != 1 or next(iter(operation)) not in (
                    "add", "remove", "set"):
                errors[name] = "Each operation must have one verb: add, remove or set."
                break
            verb, value = next(iter(operation.items()))
            if verb == "set":
                found = _version_ids(value, name, project=project, lookups=lookups, errors=errors)
                if found is None:
                    break
                ids = found
                continue
            version = _version_ref(value, name, project=project, lookups=lookups, errors=errors)
            if version is None:
                break
            if verb == "add" and version.pk not in ids:
                ids.append(version.pk)
            elif verb == "remove":
                ids = [i for i in ids if i != version.pk]
        values[attribute] = ids


def _label_index(labels) -> str:
    return "|" + "|".join(labels) + "|" if labels else ""


def _display(value):
    if value is None:
        return None
    return str(value)


class _Prepared:
    """One checked create: the issue to insert (no number yet) and what goes with it."""

    def __init__(self, issue: JiraIssue, sprint, properties: list, transition):
        self.issue = issue
        self.sprint = sprint
        self.properties = properties
        self.transition = transition


def _issue_prepare(*, site: SandboxSite, actor: JiraUser, payload, now: datetime, lookups: Lookups) -> _Prepared:
    """Check an IssueUpdateDetails body as Jira does; raises VendorError 400 with Jira's field errors."""
    if not isinstance(payload, dict):
        raise jira_error(400, "Can not deserialize the request body: expected an object.")
    fields = payload.get("fields") or {}
    update = payload.get("update") or {}
    if not isinstance(fields, dict) or not isinstance(update, dict):
        raise jira_error(400, "Can not deserialize the request body: fields and update must be objects.")
    errors = FieldErrors()
    for name in ("status", "created", "creator", "updated", "resolutiondate"):
        if name in fields:
            errors[name] = CANNOT_SET.format(name)
    project = lookups.project(fields.get("project"))
    if project is None:
        errors["project"] = "Specify a valid project ID or key"
        errors.raise_if_any()
    types = lookups.issue_types(project)
    type_ref = _ref(fields.get("issuetype"), "id", "name")
    issue_type = next((t for t in types if type_ref in (str(t.pk), t.name)), None)
    if type_ref is None:
        errors["issuetype"] = "Specify an issue type"
    elif issue_type is None:
        errors["issuetype"] = "Specify a valid issue type"
    if "summary" not in fields:
        errors["summary"] = "You must specify a summary of the issue."
    if issue_type is None:
        errors.raise_if_any()
    settable = {k: v for k, v in fields.items() if k not in ("status", "created", "creator", "updated", "resolutiondate")}
    values = _parse_fields(site, settable, issue=None, project=project, issue_type=issue_type, errors=errors,
                           lookups=lookups)
    _apply_update_ops(update, values, errors, current_labels=values.get("labels", []))
    _apply_version_ops(update, values, errors, project=project, lookups=lookups, current={})
    if issue_type.subtask or "parent" in values:
        _check_parent(site, project, issue_type, values.get("parent"), errors)
    transition = None
    if payload.get("transition") is not None:
        transition = _transition_lookup(project, catalog.INITIAL_STATUS, payload["transition"], errors)
    properties = payload.get("properties") or []
    _check_properties(properties, errors)
    errors.raise_if_any()
    issue = JiraIssue(
        site=site, project=project, issue_type=issue_type,
        summary=values["summary"], description=values.get("description"), environment=values.get("environment"),
        status_id=catalog.INITIAL_STATUS, priority_id=values.get("priority_id", catalog.DEFAULT_PRIORITY),
        resolution_id=values.get("resolution_id", ""), parent=values.get("parent"),
        reporter=values.get("reporter", actor), creator=actor, assignee=values.get("assignee"),
        labels=values.get("labels", []), labels_index=_label_index(values.get("labels", [])),
        component_ids=values.get("component_ids", []), custom={k: v for k, v in values.get("custom", {}).items() if v is not None},
        fix_version_ids=values.get("fix_version_ids", []), affects_version_ids=values.get("affects_version_ids", []),
        duedate=values.get("duedate"), created=now, updated=now,
    )
    return _Prepared(issue, values.get("sprint"), properties, transition)


def _issues_insert(prepared: list[_Prepared], *, actor: JiraUser, now: datetime) -> list[JiraIssue]:
    """Number and insert checked creates, in order, in one transaction: one counter update per project,
    one insert of the issues, one of their properties and one of their sprint rows."""
    if not prepared:
        return []
    with transaction.atomic():
        wanted: dict[int, int] = {}
        for one in prepared:
            wanted[one.issue.project_id] = wanted.get(one.issue.project_id, 0) + 1
        next_of = {project_id: _next_numbers(project_id, count) for project_id, count in wanted.items()}
        for one in prepared:
            issue = one.issue
            issue.number = next_of[issue.project_id]
            next_of[issue.project_id] += 1
            issue.key = f"{issue.project.key}-{issue.number}"
            issue.rank = issue.number
        issues = JiraIssue.objects.bulk_create([one.issue for one in prepared])
        JiraEntityProperty.objects.bulk_create([
            JiraEntityProperty(issue=one.issue, key=prop["key"], value=prop.get("value"))
            for one in prepared for prop in one.properties])
        Through = JiraIssue.sprints.through
        Through.objects.bulk_create([Through(jiraissue_id=one.issue.pk, jirasprint_id=one.sprint.pk)
                                     for one in prepared if one.sprint])
        for one in prepared:
            if one.transition is not None:
                _do_transition(one.issue, one.transition, actor, now)
    return issues


def issue_create(*, site: SandboxSite, actor: JiraUser, payload, now: datetime | None = None) -> JiraIssue:
    """POST /issue: one issue from an IssueUpdateDetails body. Raises VendorError 400 with Jira's
    field errors."""
    now = now or timezone.now()
    prepared = _issue_prepare(site=site, actor=actor, payload=payload, now=now, lookups=Lookups(site))
    return _issues_insert([prepared], actor=actor, now=now)[0]


def issue_bulk_create(*, site: SandboxSite, actor: JiraUser, updates: list, now: datetime | None = None) -> list:
    """POST /issue/bulk: each element checked on its own (a bad one fails alone, with its element number),
    the good ones created in order. Returns one entry per element: the created JiraIssue or the
    VendorError that refused it."""
    now = now or timezone.now()
    lookups = Lookups(site)
    lookups.prefetch_issues(_ref((u.get("fields") or {}).get("parent"), "key", "id")
                            for u in updates if isinstance(u, dict) and isinstance(u.get("fields"), dict))
    outcome: list = []
    for update in updates:
        try:
            outcome.append(_issue_prepare(site=site, actor=actor, payload=update, now=now, lookups=lookups))
        except VendorError as error:
            outcome.append(error)
    created = iter(_issues_insert([o for o in outcome if isinstance(o, _Prepared)], actor=actor, now=now))
    return [next(created) if isinstance(o, _Prepared) else o for o in outcome]


def _next_numbers(project_id: int, count: int) -> int:
    """Reserve `count` issue numbers in a project; returns the first."""
    JiraProject.objects.filter(pk=project_id).update(next_number=F("next_number") + count)
    return JiraProject.objects.filter(pk=project_id).values_list("next_number", flat=True).get() - count


def _apply_update_ops(update: dict, values: dict, errors: FieldErrors, *, current_labels: list[str]) -> None:
    """The `update` verbs Jira offers; labels get add/remove/set, any settable field `set`."""
    for name, operations in update.items():
        if not isinstance(operations, list):
            errors[name] = "Field operations must be a list."
            continue
        if name in catalog.VERSION_FIELDS:
            continue  # _apply_version_ops
        if name != "labels":
            for operation in operations:
                if not isinstance(operation, dict) or set(operation) != {"set"}:
                    errors[name] = f"Field '{name}' supports only the set operation here."
                    break
            continue
        labels = list(current_labels)
        for operation in operations:
            if not isinstance(operation, dict) or len(operation) != 1:
                errors["labels"] = "Each operation must have one verb: add, remove or set."
                break
            verb, value = next(iter(operation.items()))
            if verb == "add" and isinstance(value, str) and value and " " not in value:
                labels = labels + [value] if value not in labels else labels
            elif verb == "remove" and isinstance(value, str):
                labels = [label for label in labels if label != value]
            elif verb == "set" and isinstance(value, list) and all(isinstance(v, str) and v and " " not in v for v in value):
                labels = list(dict.fromkeys(value))
            else:
                errors["labels"] = "The label can't contain spaces."
                break
        values["labels"] = labels


def _check_properties(properties, errors):
    if not isinstance(properties, list):
        errors["properties"] = "Properties must be a list."
        return
    for prop in properties:
        problem = property_problem(prop.get("key") if isinstance(prop, dict) else None,
                                   prop.get("value") if isinstance(prop, dict) else None)
        if problem:
            errors["properties"] = problem
            return


def issue_edit(*, issue: JiraIssue, actor: JiraUser, payload, now: datetime | None = None) -> None:
    if not isinstance(payload, dict):
        raise jira_error(400, "Can not deserialize the request body: expected an object.")
    fields = payload.get("fields") or {}
    update = payload.get("update") or {}
    if not isinstance(fields, dict) or not isinstance(update, dict):
        raise jira_error(400, "Can not deserialize the request body: fields and update must be objects.")
    site = issue.site
    errors = FieldErrors()
    for name in ("project", "issuetype"):
        if name in fields:
            current = issue.project if name == "project" else issue.issue_type
            ref = _ref(fields[name], "id", "key", "name")
            if ref not in (str(current.pk), getattr(current, "key", None), current.name):
                errors[name] = f"Changing the {name} is a move; it cannot be done by editing the issue."
    for name in ("status",):
        if name in fields:
            errors[name] = CANNOT_SET.format(name)
    settable = {k: v for k, v in fields.items() if k not in ("status", "project", "issuetype")}
    for name, operations in update.items():
        if name != "labels" and name not in catalog.VERSION_FIELDS and isinstance(operations, list) and operations \
                and isinstance(operations[0], dict) and "set" in operations[0]:
            settable.setdefault(name, operations[0]["set"])
    lookups = Lookups(site)
    values = _parse_fields(site, settable, issue=issue, project=issue.project, issue_type=issue.issue_type, errors=errors,
                           lookups=lookups)
    _apply_version_ops(update, values, errors, project=issue.project, lookups=lookups,
                       current={attribute: list(getattr(issue, attribute))
                                for attribute, _ in catalog.VERSION_FIELDS.values()})
    if "labels" in update:
        _apply_update_ops({"labels": update["labels"]}, values, errors, current_labels=values.get("labels", issue.labels))
    if "parent" in values:
        _check_parent(site, issue.project, issue.issue_type, values["parent"], errors)
    errors.raise_if_any()
    issue_write_check(issue=issue)

    now = now or timezone.now()
    items = []
    with transaction.atomic():
        for attribute, value in values.items():
            if attribute == "custom":
                custom = dict(issue.custom)
                for fid, fvalue in value.items():
                    if custom.get(fid) != fvalue:
                        items.append(_change(fid, custom.get(fid), fvalue, custom=True))
                    if fvalue is None:
                        custom.pop(fid, None)
                    else:
                        custom[fid] = fvalue
                issue.custom = custom
                continue
            if attribute == "sprint":
                before = list(issue.sprints.filter(state__in=["active", "future"]))
                issue.sprints.remove(*before)
                if value is not None:
                    issue.sprints.add(value)
                items.append(_change("Sprint", ", ".join(s.name for s in before) or None, value.name if value else None,
                                     field_id=catalog.SPRINT_FIELD, from_id=",".join(str(s.pk) for s in before) or None,
                                     to_id=str(value.pk) if value else None))
                continue
            if attribute in VERSION_ATTRIBUTES:
                items += _version_changes(attribute, list(getattr(issue, attribute)), value, lookups=lookups,
                                          project=issue.project)
                setattr(issue, attribute, value)
                continue
            old = getattr(issue, attribute if attribute not in ("assignee", "reporter", "parent") else attribute)
            if old != value:
                items.append(_attribute_change(attribute, old, value))
            setattr(issue, attribute, value)
            if attribute == "labels":
                issue.labels_index = _label_index(value)
        issue.updated = now
        issue.save()
        if items:
            issue.changelogs.create(author=actor, created=now, items=[i for i in items if i])


VERSION_ATTRIBUTES = {attribute: (field_id, label) for field_id, (attribute, label) in catalog.VERSION_FIELDS.items()}


def _version_changes(attribute, old: list[int], new: list[int], *, lookups, project) -> list[dict]:
    """One changelog item per version added and per version removed, as Jira writes them ("Fix Version", the
    version's id and name on one side, null on the other)."""
    field_id, label = VERSION_ATTRIBUTES[attribute]

    def name(pk):
        found = lookups.version(project, id=str(pk))
        return found.name if found else str(pk)

    added = [_change(label, None, name(pk), field_id=field_id, to_id=str(pk)) for pk in new if pk not in old]
    removed = [_change(label, name(pk), None, field_id=field_id, from_id=str(pk)) for pk in old if pk not in new]
    return added + removed


def _change(field, old, new, *, custom=False, field_id=None, from_id=None, to_id=None, fieldtype=None):
    return {"field": field, "fieldtype": fieldtype or ("custom" if custom else "jira"), "fieldId": field_id or field,
            "from": from_id, "fromString": _display(old), "to": to_id, "toString": _display(new)}


def _attribute_change(attribute, old, new):
    names = {"summary": "summary", "description": "description", "environment": "environment", "priority_id": "priority",
             "resolution_id": "resolution", "labels": "labels", "component_ids": "Component", "assignee": "assignee",
             "reporter": "reporter", "duedate": "duedate", "parent": "IssueParentAssociation"}
    field = names.get(attribute, attribute)
    if attribute in ("assignee", "reporter"):
        return {"field": field, "fieldtype": "jira", "fieldId": field,
                "from": old.account_id if old else None, "fromString": old.display_name if old else None,
                "to": new.account_id if new else None, "toString": new.display_name if new else None}
    if attribute == "parent":
        return {"field": field, "fieldtype": "jira", "fieldId": "parent", "from": str(old.pk) if old else None,
                "fromString": old.key if old else None, "to": str(new.pk) if new else None, "toString": new.key if new else None}
    if attribute == "priority_id":
        return {"field": field, "fieldtype": "jira", "fieldId": field, "from": old or None,
                "fromString": catalog.PRIORITIES.get(old, ("",))[0] or None, "to": new, "toString": catalog.PRIORITIES[new][0]}
    if attribute == "labels":
        return _change(field, " ".join(old) or None, " ".join(new) or None)
    if attribute in ("description", "environment"):
        from apps.sandbox.jira.adf import adf_plain_text

        return _change(field, adf_plain_text(old) if old else None, adf_plain_text(new) if new else None)
    return _change(field, old, new)


# --- transitions ------------------------------------------------------------------------------------
def _transition_lookup(project, status_id, value, errors):
    ref = _ref(value, "id")
    if ref is None:
        errors["transition"] = "Transition id must be specified."
        return None
    match = next((t for t in catalog.available_transitions(project.style, status_id) if t.id == ref), None)
    if match is None:
        errors["transition"] = f"Transition id '{ref}' is not valid for this issue."
    return match


def _do_transition(issue: JiraIssue, transition, actor, now, resolution_id: str | None = None):
    old_status = issue.status_id
    items = [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": old_status,
              "fromString": catalog.STATUSES[old_status][0], "to": transition.to,
              "toString": catalog.STATUSES[transition.to][0]}]
    done = catalog.STATUSES[transition.to][1] == "done"
    new_resolution = (resolution_id or catalog.DONE_RESOLUTION) if done else ""
    if new_resolution != issue.resolution_id:
        items.append({"field": "resolution", "fieldtype": "jira", "fieldId": "resolution",
                      "from": issue.resolution_id or None,
                      "fromString": catalog.RESOLUTIONS[issue.resolution_id][0] if issue.resolution_id else None,
                      "to": new_resolution or None,
                      "toString": catalog.RESOLUTIONS[new_resolution][0] if new_resolution else None})
    issue.status_id = transition.to
    issue.resolution_id = new_resolution
    issue.resolutiondate = now if done else None
    issue.updated = now
    issue.save(update_fields=["status_id", "resolution_id", "resolutiondate", "updated"])
    issue.changelogs.create(author=actor, created=now, items=items)


def issue_transition(*, issue: JiraIssue, actor: JiraUser, payload, now=None) -> None:
    if not isinstance(payload, dict):
        raise jira_error(400, "Can not deserialize the request body: expected an object.")
    errors = FieldErrors()
    transition = _transition_lookup(issue.project, issue.status_id, payload.get("transition"), errors)
    fields = payload.get("fields") or {}
    resolution_id = None
    if "resolution" in fields:
        resolution_id = catalog.resolution_id_for(_ref(fields["resolution"], "id", "name"))
        if resolution_id is None:
            errors["resolution"] = "Resolution name or id is invalid."
    for name in fields:
        if name != "resolution":
            errors[name] = CANNOT_SET.format(name)
    errors.raise_if_any()
    issue_write_check(issue=issue)
    with transaction.atomic():
        _do_transition(issue, transition, actor, now or timezone.now(), resolution_id)


def issue_delete(*, issue: JiraIssue, delete_subtasks: bool) -> None:
    if issue.children.filter(issue_type__hierarchy_level=-1).exists() and not delete_subtasks:
        raise jira_error(400, "The issue has subtasks. Set the deleteSubtasks parameter to true to delete it with them.")
    with transaction.atomic():
        issue.children.filter(issue_type__hierarchy_level=-1).delete()
        issue.children.update(parent=None)
        issue.delete()


# --- comments ----------------------------------------------------------------------------------------
def _comment_fields(site, payload, errors):
    if not isinstance(payload, dict):
        raise jira_error(400, "Can not deserialize the request body: expected an object.")
    for name in ("author", "updateAuthor", "created", "updated", "id", "self", "renderedBody", "jsdPublic"):
        if name in payload:
            errors[name] = CANNOT_SET.format(name)
    if "body" not in payload or payload["body"] in (None, ""):
        errors["comment"] = "Comment body can not be empty!"
    else:
        _check_rich(site, "comment", payload["body"], errors)
    visibility = payload.get("visibility")
    if visibility is not None:
        if not isinstance(visibility, dict) or visibility.get("type") not in ("group", "role") or not visibility.get("value"):
            errors["commentLevel"] = "Visibility must name a type (group or role) and a value."
        elif visibility["type"] == "role" and visibility["value"] not in VISIBILITY_ROLES:
            errors["commentLevel"] = f"You are currently not a member of the project role: {visibility['value']}."
    return visibility


def comment_add(*, issue: JiraIssue, actor: JiraUser, payload, now=None) -> JiraComment:
    errors = FieldErrors()
    visibility = _comment_fields(issue.site, payload, errors)
    errors.raise_if_any()
    issue_write_check(issue=issue)
    now = now or timezone.now()
    comment = JiraComment.objects.create(issue=issue, author=actor, update_author=actor, body=payload["body"],
                                         visibility=visibility, created=now, updated=now)
    JiraIssue.objects.filter(pk=issue.pk).update(updated=now)
    return comment


def comment_update(*, comment: JiraComment, actor: JiraUser, payload, now=None) -> JiraComment:
    errors = FieldErrors()
    visibility = _comment_fields(comment.issue.site, payload, errors)
    errors.raise_if_any()
    issue_write_check(issue=comment.issue)
    comment.body = payload["body"]
    if "visibility" in payload:
        comment.visibility = visibility
    comment.update_author = actor
    comment.updated = now or timezone.now()
    comment.save()
    return comment


# --- links -----------------------------------------------------------------------------------------
def link_type_resolve(value) -> str | None:
    ref_id = _ref(value, "id")
    if ref_id in catalog.LINK_TYPES:
        return ref_id
    name = _ref(value, "name")
    return next((tid for tid, (tname, _, _) in catalog.LINK_TYPES.items() if name and tname.lower() == name.lower()), None)


def issue_link_create(*, site: SandboxSite, actor: JiraUser, payload) -> JiraIssueLink:
    """POST /issueLink. A link that exists already is accepted silently and not made twice, as in Jira."""
    if not isinstance(payload, dict):
        raise jira_error(400, "Can not deserialize the request body: expected an object.")
    type_id = link_type_resolve(payload.get("type"))
    if type_id is None:
        raise jira_error(404, "No issue link type with name '{}' found.".format(_ref(payload.get("type"), "name", "id")))
    inward = issue_get(site, _ref(payload.get("inwardIssue"), "key", "id"))
    outward = issue_get(site, _ref(payload.get("outwardIssue"), "key", "id"))
    if inward is None or outward is None:
        raise jira_error(404, "Issue does not exist or you do not have permission to see it.")
    if inward.pk == outward.pk:
        raise jira_error(400, "You cannot link an issue to itself.")
    errors = FieldErrors()
    if payload.get("comment") is not None:
        _comment_fields(site, payload["comment"], errors)
    errors.raise_if_any()
    issue_write_check(issue=outward)
    link, created = JiraIssueLink.objects.get_or_create(site=site, link_type_id=type_id, inward_issue=inward, outward_issue=outward)
    if created:
        now = timezone.now()
        name, inward_word, outward_word = catalog.LINK_TYPES[type_id]
        # POST /issueLink {inwardIssue: A, outwardIssue: B, type: Blocks} reads "A blocks B".
        inward.changelogs.create(author=actor, created=now, items=[_change("Link", None, f"This issue {outward_word} {outward.key}",
                                                                           field_id="issuelinks", to_id=outward.key)])
        outward.changelogs.create(author=actor, created=now, items=[_change("Link", None, f"This issue {inward_word} {inward.key}",
                                                                            field_id="issuelinks", to_id=inward.key)])
        if payload.get("comment"):
            comment_add(issue=outward, actor=actor, payload={k: v for k, v in payload["comment"].items()})
    return link


def _remote_link_checked(payload) -> dict:
    if not isinstance(payload, dict):
        raise jira_error(400, "Can not deserialize the request body: expected an object.")
    errors = FieldErrors()
    obj = payload.get("object")
    if not isinstance(obj, dict):
        errors["object"] = "Link object is required."
    else:
        if not obj.get("url"):
            errors["url"] = "'url' is required."
        elif not re.match(r"^[a-z][a-z0-9+.-]*:", str(obj["url"]), re.I):
            errors["url"] = "'url' must be a valid URL."
        if not obj.get("title"):
            errors["title"] = "'title' is required."
    global_id = payload.get("globalId") or ""
    if not isinstance(global_id, str) or len(global_id) > 255:
        errors["globalId"] = "globalId must be a string of 255 characters at most."
    errors.raise_if_any()
    return {"global_id": global_id, "object": obj, "relationship": payload.get("relationship") or "",
            "application": payload.get("application")}


def remote_link_upsert(*, issue: JiraIssue, payload) -> tuple[JiraRemoteLink, bool]:
    """POST /remotelink: a link with a globalId the issue has already is updated, not added."""
    values = _remote_link_checked(payload)
    issue_write_check(issue=issue)
    existing = issue.remote_links.filter(global_id=values["global_id"]).first() if values["global_id"] else None
    if existing:
        for key, value in values.items():
            setattr(existing, key, value)
        existing.save()
        return existing, False
    return JiraRemoteLink.objects.create(issue=issue, **values), True


def remote_link_update(*, link: JiraRemoteLink, payload) -> JiraRemoteLink:
    values = _remote_link_checked(payload)
    if values["global_id"] and link.issue.remote_links.filter(global_id=values["global_id"]).exclude(pk=link.pk).exists():
        raise jira_error(400, "Another remote link of this issue has that globalId.")
    issue_write_check(issue=link.issue)
    for key, value in values.items():
        setattr(link, key, value)
    link.save()
    return link


# --- attachments -----------------------------------------------------------------------------------
def attachment_add(*, issue: JiraIssue, actor: JiraUser, upload, now=None) -> JiraAttachment:
    content = upload.read()
    mime = getattr(upload, "content_type", None) or "application/octet-stream"
    attachment = JiraAttachment.objects.create(issue=issue, author=actor, filename=upload.name[:255] or "file",
                                               mime_type=mime, size=len(content), content=content,
                                               created=now or timezone.now())
    issue.changelogs.create(author=actor, created=attachment.created, items=[
        _change("Attachment", None, attachment.filename, field_id="attachment", to_id=str(attachment.pk))])
    return attachment


# --- entity properties -----------------------------------------------------------------------------
def property_problem(key, value) -> str | None:
    import json

    if not isinstance(key, str) or not key:
        return "The property key must be a non-empty string."
    if len(key) > catalog.PROPERTY_KEY_MAX:
        return f"The property key can not be longer than {catalog.PROPERTY_KEY_MAX} characters."
    if len(json.dumps(value, ensure_ascii=False).encode("utf-8")) > catalog.PROPERTY_VALUE_MAX_BYTES:
        return f"The property value can not be longer than {catalog.PROPERTY_VALUE_MAX_BYTES} bytes."
    return None


def property_set(*, issue: JiraIssue, key: str, value) -> bool:
    problem = property_problem(key, value)
    if problem:
        raise jira_error(400, problem)
    issue_write_check(issue=issue)
    _, created = JiraEntityProperty.objects.update_or_create(issue=issue, key=key, defaults={"value": value})
    return created


# --- agile ------------------------------------------------------------------------------------------
def _parse_datetime(value, name, errors):
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        errors[name] = f"{name} must be a date and time."
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        match = re.fullmatch(r"(.*\.\d{3})([+-]\d{2})(\d{2})", value)
        try:
            parsed = datetime.fromisoformat(f"{match.group(1)}{match.group(2)}:{match.group(3)}") if match else None
        except ValueError:
            parsed = None
    if parsed is None:
        errors[name] = f"{name} is not a valid date: {value}"
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _named_body(payload, *, empty: str, too_long: str, limit: int) -> tuple[FieldErrors, str]:
    """The errors so far and the name of a create body that needs a name (sprint, component, version)."""
    if not isinstance(payload, dict):
        raise jira_error(400, "Can not deserialize the request body: expected an object.")
    errors = FieldErrors()
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = empty
    elif len(name) > limit:
        errors["name"] = too_long
    return errors, name if isinstance(name, str) else ""


def sprint_create(*, site: SandboxSite, payload) -> JiraSprint:
    errors, name = _named_body(payload, empty="The sprint name can not be empty.",
                               too_long="The sprint name must not exceed 30 characters.", limit=30)
    board = JiraBoard.objects.filter(site=site, pk=payload.get("originBoardId")).first() \
        if isinstance(payload.get("originBoardId"), int) else None
    if board is None:
        errors["originBoardId"] = "The board does not exist or you do not have permission to view it."
    start = _parse_datetime(payload.get("startDate"), "startDate", errors)
    end = _parse_datetime(payload.get("endDate"), "endDate", errors)
    if start and end and end < start:
        errors["endDate"] = "The end date of the sprint must be after its start date."
    errors.raise_if_any()
    return JiraSprint.objects.create(site=site, board=board, name=name.strip(), goal=payload.get("goal") or "",
                                     start_date=start, end_date=end, created=timezone.now())


def sprint_update(*, sprint: JiraSprint, payload, partial: bool, now=None) -> JiraSprint:
    """future -> active (needs start and end dates) -> closed (completeDate is the time of closing)."""
    if not isinstance(payload, dict):
        raise jira_error(400, "Can not deserialize the request body: expected an object.")
    errors = FieldErrors()
    now = now or timezone.now()
    # completeDate, createdDate, id and self are Jira's to set: a value sent for them is ignored, as Jira does.
    if "name" in payload:
        name = payload["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 30:
            errors["name"] = "The sprint name must be between 1 and 30 characters."
    elif not partial:
        errors["name"] = "The sprint name can not be empty."
    start = _parse_datetime(payload.get("startDate"), "startDate", errors) if "startDate" in payload else sprint.start_date
    end = _parse_datetime(payload.get("endDate"), "endDate", errors) if "endDate" in payload else sprint.end_date
    state = payload.get("state", sprint.state)
    if state not in JiraSprint.State.values:
        errors["state"] = f"The sprint state '{state}' is invalid."
    errors.raise_if_any()
    if sprint.state == JiraSprint.State.CLOSED:
        allowed = {"name", "goal", "id", "self", "state", "originBoardId"}
        if set(payload) - allowed or state != JiraSprint.State.CLOSED:
            raise jira_error(400, "A closed sprint can not be changed, apart from its name and goal.")
    if state != sprint.state:
        moves = {("future", "active"), ("active", "closed")}
        if (sprint.state, state) not in moves:
            raise jira_error(400, f"A sprint can not go from {sprint.state} to {state}; "
                                  "sprints go from future to active to closed.")
        if state == JiraSprint.State.ACTIVE:
            if not start or not end:
                raise jira_error(400, errors={"startDate": "A sprint needs a start date and an end date to be started."})
            if JiraSprint.objects.filter(board=sprint.board, state=JiraSprint.State.ACTIVE).exists():
                raise jira_error(400, "The board has an active sprint already; close it first.")
        if state == JiraSprint.State.CLOSED:
            sprint.complete_date = now
    if start and end and end < start:
        raise jira_error(400, errors={"endDate": "The end date of the sprint must be after its start date."})
    sprint.name = payload.get("name", sprint.name).strip() if isinstance(payload.get("name", sprint.name), str) else sprint.name
    sprint.goal = payload.get("goal", sprint.goal) or ""
    sprint.start_date, sprint.end_date, sprint.state = start, end, state
    sprint.save()
    return sprint


SPRINT_MOVE_MAX = 50


def sprint_move_issues(*, sprint: JiraSprint, actor: JiraUser, payload, now=None) -> None:
    if not isinstance(payload, dict) or not isinstance(payload.get("issues"), list):
        raise jira_error(400, errors={"issues": "Specify the issues to move, as a list of keys or ids."})
    keys = payload["issues"]
    if len(keys) > SPRINT_MOVE_MAX:
        raise jira_error(400, f"Cannot move more than {SPRINT_MOVE_MAX} issues at once; this request names {len(keys)}.")
    if sprint.state == JiraSprint.State.CLOSED:
        raise jira_error(400, "Issues can only be moved into an open or active sprint; this sprint is closed.")
    issues = []
    for ref in keys:
        issue = issue_get(sprint.site, ref)
        if issue is None:
            raise jira_error(400, f"Issue {ref} does not exist or you do not have permission to see it.")
        if issue.issue_type.subtask:
            raise jira_error(400, f"Issue {issue.key} is a sub-task; sub-tasks move with their parent.")
        issues.append(issue)
    now = now or timezone.now()
    with transaction.atomic():
        for issue in issues:
            before = list(issue.sprints.exclude(state=JiraSprint.State.CLOSED))
            if before == [sprint]:
                continue
            issue.sprints.remove(*before)
            issue.sprints.add(sprint)
            issue.changelogs.create(author=actor, created=now, items=[_change(
                "Sprint", ", ".join(s.name for s in before) or None, sprint.name, custom=True,
                field_id=catalog.SPRINT_FIELD, from_id=",".join(str(s.pk) for s in before) or None, to_id=str(sprint.pk))])
            JiraIssue.objects.filter(pk=issue.pk).update(updated=now)
            for child in issue.children.filter(issue_type__hierarchy_level=-1):
                child.sprints.remove(*child.sprints.exclude(state=JiraSprint.State.CLOSED))
                child.sprints.add(sprint)


def component_create(*, project: JiraProject, name: str, description: str = "", lead: JiraUser | None = None) -> JiraComponent:
    return JiraComponent.objects.get_or_create(project=project, name=name, defaults={"description": description, "lead": lead})[0]


def component_add(*, site: SandboxSite, payload) -> JiraComponent:
    """POST /component: a component of a project, its name unique in the project (case-insensitive, as
    Jira compares them)."""
    errors, name = _named_body(payload, empty="The component name must not be empty.",
                               too_long="The component name must not exceed 255 characters.", limit=255)
    if payload.get("project") in (None, ""):
        errors["project"] = "The project key must be specified."
    description = payload.get("description", "")
    if not isinstance(description, str):
        errors["description"] = "The description must be a string."
    errors.raise_if_any()
    project = _project(site, payload["project"])
    if project is None:
        raise jira_error(404, f"No project could be found with key '{payload['project']}'.")
    lead = None
    lead_ref = payload.get("leadAccountId") if site.kind == "jira_cloud" else payload.get("leadUserName")
    if lead_ref:
        try:
            lead = user_resolve(site, lead_ref)
        except ValueError:
            lead = None
        if lead is None:
            errors["leadAccountId" if site.kind == "jira_cloud" else "leadUserName"] = \
                f"The user {lead_ref} does not exist."
    if project.components.filter(name__iexact=name.strip()).exists():
        errors["name"] = f"A component with the name {name.strip()} already exists in this project."
    errors.raise_if_any()
    return JiraComponent.objects.create(project=project, name=name.strip(), description=description, lead=lead)


def version_add(*, site: SandboxSite, payload) -> JiraVersion:
    """POST /version: a version of a project (projectId, or the deprecated project key), its name unique in
    the project."""
    errors, name = _named_body(payload, empty="You must specify a valid version name",
                               too_long="The version name must not exceed 255 characters.", limit=255)
    description = payload.get("description", "")
    if not isinstance(description, str):
        errors["description"] = "The description must be a string."
    elif len(description.encode()) > 16384:
        errors["description"] = "The description must not exceed 16,384 bytes."
    dates = {}
    for field in ("startDate", "releaseDate"):
        value = payload.get(field)
        if value in (None, ""):
            continue
        try:
            dates[field] = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
        except ValueError:
            dates[field] = None
        if dates[field] is None:
            errors[field] = "Please enter the date in the following format: yyyy-MM-dd"
    for field in ("released", "archived"):
        if field in payload and not isinstance(payload[field], bool):
            errors[field] = f"{field} must be true or false."
    project_ref = payload.get("projectId", payload.get("project"))
    if project_ref in (None, ""):
        errors["project"] = "Project must be specified to create a version."
    errors.raise_if_any()
    project = _project(site, project_ref)
    if project is None:
        raise jira_error(404, f"No project could be found with id or key '{project_ref}'.")
    if project.versions.filter(name__iexact=name.strip()).exists():
        errors["name"] = "A version with this name already exists in this project."
    if dates.get("startDate") and dates.get("releaseDate") and dates["startDate"] > dates["releaseDate"]:
        errors["startDate"] = "The start date must be before the release date."
    errors.raise_if_any()
    return JiraVersion.objects.create(
        project=project, name=name.strip(), description=description, released=bool(payload.get("released")),
        archived=bool(payload.get("archived")), start_date=dates.get("startDate"), release_date=dates.get("releaseDate"))


def new_account_id() -> str:
    return "712020:" + str(uuid.uuid4())
