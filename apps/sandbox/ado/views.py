"""The read-only page of a sandbox organisation: what a migration wrote, for a person to look at."""

import mimetypes

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import render

from apps.sandbox.ado.models import AdoAttachment, AdoProject, AdoWorkItem
from apps.sandbox.ado.processes import RELATION_BY_REF, SYSTEM_FIELDS
from apps.sandbox.models import SandboxSite


def _site(slug):
    site = SandboxSite.objects.filter(slug=slug, kind=SandboxSite.Kind.ADO).first()
    if site is None:
        raise Http404("No such sandbox organisation.")
    return site


def _person(value):
    if isinstance(value, dict):
        return value.get("displayName") or value.get("uniqueName") or ""
    return value or ""


@login_required
def site_page(request, site):
    site = _site(site)
    projects = list(AdoProject.objects.filter(site=site).order_by("name"))
    project = next((p for p in projects if p.name == request.GET.get("project")), projects[0] if projects else None)
    items = AdoWorkItem.objects.filter(site=site, project=project, is_deleted=False) if project else AdoWorkItem.objects.none()
    query = request.GET.get("q", "").strip()
    if query:
        items = items.filter(Q(fields__icontains=query) | Q(work_item_type__icontains=query))
    page = Paginator(items.order_by("item_id").only("item_id", "work_item_type", "state", "fields", "rev"), 50).get_page(request.GET.get("page"))
    rows = [{"id": i.item_id, "type": i.work_item_type, "state": i.state, "rev": i.rev,
             "title": i.fields.get("System.Title", ""), "assigned": _person(i.fields.get("System.AssignedTo"))} for i in page]
    counts = {p.pk: p.work_items.filter(is_deleted=False).count() for p in projects}
    return render(request, "sandbox_ado/site.html", {
        "site": site, "projects": [{"project": p, "count": counts[p.pk]} for p in projects], "project": project,
        "rows": rows, "page": page, "q": query,
    })


@login_required
def item_page(request, site, item_id):
    site = _site(site)
    item = AdoWorkItem.objects.filter(site=site, item_id=item_id).select_related("project").first()
    if item is None:
        raise Http404("No such work item.")
    fields = []
    for ref, value in sorted(item.fields.items()):
        definition = SYSTEM_FIELDS.get(ref, {})
        fields.append({"ref": ref, "name": definition.get("name", ref), "value": _person(value) if isinstance(value, dict) else value,
                       "html": definition.get("type") == "html"})
    links = []
    for relation in item.relations:
        kind = RELATION_BY_REF.get(relation["rel"].lower())
        links.append({"name": kind[1] if kind else relation["rel"], "target_id": relation.get("target_id"),
                      "attachment": relation.get("attachment_guid"), "url": relation.get("url"),
                      "attributes": relation.get("attributes", {})})
    history = []
    for update in item.updates.order_by("-rev")[:200]:
        history.append({"rev": update.rev, "by": _person(update.revised_by), "date": update.revised_date,
                        "changes": [(ref, _person(c.get("oldValue")), _person(c.get("newValue")))
                                    for ref, c in update.fields.items()
                                    if ref not in ("System.Rev", "System.AuthorizedDate", "System.RevisedDate",
                                                   "System.ChangedDate", "System.Watermark")],
                        "relations": update.relations})
    return render(request, "sandbox_ado/item.html", {
        "site": site, "item": item, "title": item.fields.get("System.Title", ""), "fields": fields, "links": links,
        "comments": item.comments.order_by("comment_id"), "history": history,
    })


@login_required
def attachment_download(request, site, guid):
    site = _site(site)
    attachment = AdoAttachment.objects.filter(site=site, guid=guid, is_complete=True).first()
    if attachment is None:
        raise Http404("No such attachment.")
    response = HttpResponse(bytes(attachment.content),
                            content_type=mimetypes.guess_type(attachment.file_name)[0] or "application/octet-stream")
    response["Content-Disposition"] = "attachment"
    return response
