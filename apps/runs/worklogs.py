"""Jira worklogs kept on the Azure DevOps item as one CSV attachment (ADO has no worklogs: Completed Work holds
their sum, the file holds each one). Neutral records in, bytes out; the same worklogs always give the same
bytes, so the file is verified by its hash and written once, keyed on its source id."""

import csv
import html
import io
import re
from datetime import UTC

from apps.connections.connectors import records
from apps.mappings.transforms import adf_to_html, wiki_to_html

PREFIX = "worklogs-"
COLUMNS = ("worklog id", "author", "author id", "started (UTC)", "time spent (hours)", "time spent (seconds)",
           "comment")


def has_worklogs(item: records.WorkItem) -> bool:
    """What the issue's own fields say: a worklog page with a total, or time spent."""
    page = item.fields.get("worklog")
    if isinstance(page, dict) and page.get("total") is not None:
        return int(page.get("total") or 0) > 0
    return bool(item.fields.get("timespent"))


def plain_text(value) -> str:
    """A worklog note (ADF or wiki markup) as plain text: paragraphs on their own lines, no markup."""
    if not value:
        return ""
    convert = adf_to_html if isinstance(value, dict) else wiki_to_html
    markup = convert(value).value
    markup = re.sub(r"(?i)<br\s*/?>|</(p|li|h[1-6]|pre|blockquote|tr)>", "\n", markup)
    text = html.unescape(re.sub(r"<[^>]+>", "", markup))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def worklog_csv(worklogs: list[records.Worklog]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for w in worklogs:
        started = w.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if w.started_at else ""
        writer.writerow((w.source_id, w.author.display_name if w.author else "", w.author.source_id if w.author else "",
                         started, f"{w.seconds / 3600:.2f}", w.seconds, plain_text(w.comment)))
    return out.getvalue().encode("utf-8")


def worklog_attachment(item: records.WorkItem, data: bytes) -> records.Attachment:
    return records.Attachment(source_id=f"{PREFIX}{item.source_id}", work_item_id=item.source_id,
                              filename=f"{item.key or item.source_id}-worklogs.csv", size_bytes=len(data),
                              mime_type="text/csv")


def is_worklog_attachment(attachment: records.Attachment) -> bool:
    return attachment.source_id.startswith(PREFIX)
