"""The read-only page of a sandbox Jira site: its projects and issues, one issue with its fields, comments,
links, attachments and history, for a person to look at what a migration wrote."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render

from apps.sandbox.jira import catalog
from apps.sandbox.jira.adf import adf_plain_text
from apps.sandbox.jira.apis import attachment_download_response
from apps.sandbox.jira.models import JiraAttachment, JiraIssue, JiraIssueLink, JiraProject
from apps.sandbox.jira.render import Renderer
from apps.sandbox.models import SandboxSite


def _site(slug):
    site = SandboxSite.objects.filter(slug=slug, kind__in=("jira_cloud", "jira_dc")).first()
    if site is None:
        raise Http404("No such sandbox Jira site.")
    return site


@login_required
def site_page(request, site):
    site = _site(site)
    projects = list(JiraProject.objects.filter(site=site).order_by("key"))
    project = next((p for p in projects if p.key == request.GET.get("project")), projects[0] if projects else None)
    issues = JiraIssue.objects.filter(site=site, project=project) if project else JiraIssue.objects.none()
    query = request.GET.get("q", "").strip()
    if query:
        issues = issues.filter(Q(summary__icontains=query) | Q(key__iexact=query) | Q(labels_index__icontains=query))
    page = Paginator(issues.select_related("issue_type", "assignee").order_by("number"), 50).get_page(request.GET.get("page"))
    rows = [{"key": i.key, "type": i.issue_type.name, "summary": i.summary, "status": catalog.STATUSES[i.status_id][0],
             "assignee": i.assignee.display_name if i.assignee else ""} for i in page]
    counts = {p.pk: p.issues.count() for p in projects}
    return render(request, "sandbox_jira/site.html", {
        "site": site, "projects": [{"project": p, "count": counts[p.pk]} for p in projects], "project": project,
        "rows": rows, "page": page, "q": query,
    })


@login_required
def issue_page(request, site, key):
    site = _site(site)
    issue = (JiraIssue.objects.filter(site=site, key=key.upper())
             .select_related("project", "issue_type", "parent", "assignee", "reporter", "creator").first())
    if issue is None:
        raise Http404("No such issue.")
    renderer = Renderer(None, site)
    fields = [("Type", issue.issue_type.name), ("Status", catalog.STATUSES[issue.status_id][0]),
              ("Priority", catalog.PRIORITIES.get(issue.priority_id, ("",))[0]),
              ("Resolution", catalog.RESOLUTIONS.get(issue.resolution_id, ("",))[0]),
              ("Assignee", issue.assignee.display_name if issue.assignee else ""),
              ("Reporter", issue.reporter.display_name if issue.reporter else ""),
              ("Creator", issue.creator.display_name if issue.creator else ""),
              ("Labels", ", ".join(issue.labels)), ("Created", issue.created), ("Updated", issue.updated),
              ("Sprints", ", ".join(s.name for s in issue.sprints.all()))]
    versions = renderer.project_versions(issue.project_id)
    for field_id, (attribute, _) in catalog.VERSION_FIELDS.items():
        fields.append((renderer.system_field_name(field_id),
                       ", ".join(versions[pk].name for pk in getattr(issue, attribute) if pk in versions)))
    for field in renderer.fields():
        value = issue.custom.get(field.field_id)
        if value is not None:
            fields.append((field.name, adf_plain_text(value) if isinstance(value, dict) else value))
    links = []
    for link in JiraIssueLink.objects.filter(Q(inward_issue=issue) | Q(outward_issue=issue)).select_related("inward_issue", "outward_issue"):
        name, inward, outward = catalog.LINK_TYPES.get(link.link_type_id, ("?", "?", "?"))
        other = link.inward_issue if link.outward_issue_id == issue.pk else link.outward_issue
        links.append({"verb": outward if link.outward_issue_id == issue.pk else inward, "key": other.key})
    return render(request, "sandbox_jira/issue.html", {
        "site": site, "issue": issue, "fields": fields, "description": adf_plain_text(issue.description) if issue.description else "",
        "links": links, "remote_links": issue.remote_links.all(), "children": issue.children.order_by("number"),
        "comments": [{"author": c.author.display_name if c.author else "Anonymous", "created": c.created,
                      "text": adf_plain_text(c.body), "visibility": c.visibility} for c in issue.comments.select_related("author")],
        "attachments": issue.attachments.defer("content"),
        "history": [{"author": h.author.display_name if h.author else "", "created": h.created, "items": h.items}
                    for h in issue.changelogs.select_related("author").order_by("-created", "-id")[:200]],
    })


@login_required
def attachment_download(request, site, attachment_id):
    site = _site(site)
    attachment = JiraAttachment.objects.filter(issue__site=site, pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment_download_response(attachment)
