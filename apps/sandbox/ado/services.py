"""Writes on the local Azure DevOps."""

from django.db import transaction

from apps.sandbox.ado.models import AdoAttachment, AdoCounter, AdoField, AdoIdentity, AdoProject


@transaction.atomic
def ado_site_reset(*, site) -> None:
    AdoProject.objects.filter(site=site).delete()  # cascades to items, updates, comments, nodes, teams
    AdoAttachment.objects.filter(site=site).delete()
    AdoField.objects.filter(site=site).delete()
    AdoIdentity.objects.filter(site=site).delete()
    AdoCounter.objects.filter(site=site).delete()
