"""The verification report of a live run (reads): its summary, its differences (unexplained first) and the
CSV of every difference. Each read takes a run already scoped to the caller's organisation."""

import csv
from collections.abc import Iterator

from django.db.models import QuerySet

from apps.runs.models import Run, VerificationDifference

CSV_COLUMNS = ("source_id", "destination_key", "check", "kind", "announced", "explanation")


def report_summary(*, run: Run) -> dict | None:
    """None until the verification finished (a preview has none)."""
    return (run.stats or {}).get("verification")


def report_differences(*, run: Run, check: str = "", kind: str = "", announced: bool | None = None
                       ) -> QuerySet[VerificationDifference]:
    qs = VerificationDifference.unscoped.filter(run_id=run.pk, organisation_id=run.organisation_id)
    if check:
        qs = qs.filter(check_name=check)
    if kind:
        qs = qs.filter(kind=kind)
    if announced is not None:
        qs = qs.filter(announced=announced)
    return qs.order_by("announced", "source_id", "check_name", "id")


class _Echo:
    def write(self, value):
        return value


def csv_cell(value: str) -> str:
    """Spreadsheets run a cell that starts with = + - @ as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def report_csv_rows(*, run: Run) -> Iterator[str]:
    """The CSV, line by line (a streaming response): every difference, unexplained ones first."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for row in report_differences(run=run).values_list("source_id", "destination_key", "check_name", "kind",
                                                       "announced", "explanation").iterator(chunk_size=2000):
        sid, key, check, kind, announced, explanation = row
        yield writer.writerow([csv_cell(sid), csv_cell(key), check, kind, "yes" if announced else "no",
                               csv_cell(explanation)])


def report_filename(run: Run) -> str:
    return f"migrayt-run-{run.pk}-verification.csv"
