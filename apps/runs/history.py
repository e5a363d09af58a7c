"""The change history of a run's items as CSV, read from the source when it is asked for and streamed:
nothing of it is stored (the changelog comments in the destination carry the same rows)."""

import csv
from collections.abc import Iterator

from django.http import StreamingHttpResponse

from apps.core.exceptions import ApplicationError
from apps.runs import changelog
from apps.runs.models import Run, RunItem

MAX_ITEMS_PER_DOWNLOAD = 5000


class _Line:
    def write(self, value):
        return value


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text  # not a formula in a spreadsheet


def run_history_items(*, run: Run, items: str = "") -> list[str]:
    """The source ids asked for ("12,15"; empty: every item the run planned), checked against the run."""
    planned = RunItem.unscoped.filter(run_id=run.pk).exclude(state=RunItem.State.SKIPPED)
    if not items.strip():
        ids = list(planned.order_by("ordinal").values_list("source_id", flat=True)[:MAX_ITEMS_PER_DOWNLOAD + 1])
    else:
        wanted = [part.strip() for part in items.split(",") if part.strip()]
        if not all(part.isdigit() for part in wanted):
            raise ApplicationError("`items` is a comma-separated list of source item ids (numbers).")
        known = set(planned.filter(source_id__in=wanted).values_list("source_id", flat=True))
        unknown = [part for part in wanted if part not in known]
        if unknown:
            raise ApplicationError("This run has no item with these source ids.", extra={"unknown": unknown[:20]})
        ids = list(dict.fromkeys(wanted))
    if len(ids) > MAX_ITEMS_PER_DOWNLOAD:
        raise ApplicationError(f"At most {MAX_ITEMS_PER_DOWNLOAD} items per download; name them with `items`.")
    if run.source_connection is None:
        raise ApplicationError("The source connection of this run was deleted.")
    return ids


def run_history_csv_rows(*, run: Run, ids: list[str]) -> Iterator[str]:
    """Header, then one line per field change: item, revision, when, who, field, from, to."""
    from apps.connections.connectors.errors import ConnectorError
    from apps.connections.services import connection_connector
    from apps.runs.adapters import AdoSource

    writer = csv.writer(_Line())
    yield writer.writerow(changelog.CSV_COLUMNS)
    with connection_connector(run.source_connection) as connector:
        source = AdoSource(connector, project=run.source_project)
        for source_id in ids:
            try:
                revisions = source.revisions_of(source_id)
            except ConnectorError as exc:
                yield writer.writerow([source_id, "", "", "", "(not read)", "", _cell(exc.message)])
                continue
            for row in changelog.csv_rows(source_id, revisions):
                yield writer.writerow([_cell(value) for value in row])


def run_history_csv_response(*, run: Run, items: str = "") -> StreamingHttpResponse:
    """The download, for the API and the page alike (bad `items` raise ApplicationError first)."""
    ids = run_history_items(run=run, items=items)
    response = StreamingHttpResponse(run_history_csv_rows(run=run, ids=ids), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="migrayt-run-{run.pk}-history.csv"'
    return response
