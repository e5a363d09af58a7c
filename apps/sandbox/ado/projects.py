"""Making projects with their teams and classification trees (used by the seed generator and the importer)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.sandbox.ado.models import AdoNode, AdoProject, AdoTeam
from apps.sandbox.ado.wit import next_ids


def project_create(*, site, name: str, process: str = "Agile", description: str = "") -> AdoProject:
    if process not in AdoProject.Process.values:
        raise ApplicationError(f"Unknown process {process!r}: use one of {', '.join(AdoProject.Process.values)}.")
    if AdoProject.objects.filter(site=site, name__iexact=name).exists():
        raise ApplicationError(f"The sandbox organisation {site.slug} has a project named {name!r} already; reset it first.")
    project = AdoProject.objects.create(site=site, name=name, process=process, description=description,
                                        last_update_time=timezone.now())
    AdoTeam.objects.create(project=project, name=f"{name} Team", description="The default project team.")
    first = next_ids(site, "node", 2)
    AdoNode.objects.create(project=project, node_id=first, structure="area", name=name, path=name)
    AdoNode.objects.create(project=project, node_id=first + 1, structure="iteration", name=name, path=name)
    return project


def nodes_ensure(*, project: AdoProject, structure: str, paths: list[str],
                 dates: dict[str, tuple[datetime | None, datetime | None]] | None = None) -> dict[str, AdoNode]:
    """Every path (`Project\\A\\B`) exists afterwards, parents first; returns them by lower-cased path."""
    dates = dates or {}
    existing = {n.path.lower(): n for n in AdoNode.objects.filter(project=project, structure=structure)}
    wanted = set()
    for path in paths:
        parts = path.split("\\")
        for i in range(2, len(parts) + 1):
            wanted.add("\\".join(parts[:i]))
    for path in sorted(wanted, key=lambda p: p.count("\\")):
        if path.lower() in existing:
            continue
        parent = existing[path.rsplit("\\", 1)[0].lower()]
        start, finish = dates.get(path, (None, None))
        existing[path.lower()] = AdoNode.objects.create(
            project=project, node_id=next_ids(project.site, "node"), structure=structure, name=path.rsplit("\\", 1)[1],
            parent=parent, path=path, start_date=start, finish_date=finish)
    return existing
