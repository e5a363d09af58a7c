from django.db.models import QuerySet

from apps.connections.models import Connection


def connection_list(*, organisation, kind: str | None = None) -> QuerySet[Connection]:
    qs = Connection.objects.for_organisation(organisation).select_related("created_by", "oauth")
    return qs.filter(kind=kind) if kind else qs


def connection_get(*, organisation, connection_id) -> Connection:
    """Raises Connection.DoesNotExist for another organisation's connection, exactly as for a missing one."""
    return connection_list(organisation=organisation).get(pk=connection_id)
