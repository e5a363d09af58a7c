"""An item's revision history as a readable changelog: who changed what, from what, to what, when.

Jira cannot replay a history, so it is carried as comments: each holds a batch of revisions as a table
(inside an expand node on Cloud, wiki markup on Data Center, HTML towards Azure DevOps). The same rows make
the CSV download, computed from the source when it is asked for and never stored.

`readable_revision` turns an Azure DevOps update (identity objects, HTML, relation objects) into plain text
values; the rest is neutral.
"""

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime

from apps.connections.connectors import records

# Bookkeeping fields every revision touches: they say nothing a reader needs.
NOISE_FIELDS = {
    "System.Rev", "System.ChangedDate", "System.AuthorizedDate", "System.RevisedDate", "System.Watermark",
    "System.ChangedBy", "System.AuthorizedAs", "System.PersonId", "System.CommentCount", "System.Id",
    "System.AreaId", "System.IterationId", "System.NodeName", "System.TeamProject", "System.IsDeleted",
    "Microsoft.VSTS.Common.StateChangeDate", "System.Parent", "System.BoardColumnDone",
}
VALUE_MAX = 200  # characters of one value shown in the changelog
BATCH_REVISIONS = 25  # revisions per comment
BATCH_CHARACTERS = 16_000  # and at most this much text per comment (Jira takes 32,767)
EMPTY = "—"
_TAG = re.compile(r"<[^>]+>")
_WORK_ITEM_URL = re.compile(r"/workItems/(\d+)$", re.IGNORECASE)


def _plain(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dict):
        if "displayName" in value or "uniqueName" in value:
            return str(value.get("displayName") or value.get("uniqueName") or "")
        if "rel" in value:
            target = _WORK_ITEM_URL.search(str(value.get("url") or ""))
            return f"{value.get('rel')} #{target.group(1)}" if target else str(value.get("rel") or "")
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    if "<" in text and ">" in text:
        text = html.unescape(_TAG.sub(" ", text))
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"


def readable_revision(revision: records.Revision, field_names: dict[str, str]) -> records.Revision:
    """An Azure DevOps revision with field names and plain text values; bookkeeping fields left out."""
    changes = []
    for change in revision.changes:
        if change.field_id in NOISE_FIELDS:
            continue
        if change.field_id == "System.History":
            changes.append(records.FieldChange("Discussion", "", "comment added (carried as a comment)"))
            continue
        if change.field_id.startswith("relations."):
            name = "Link added" if change.field_id.endswith("added") else "Link removed"
            if change.field_id.endswith("updated"):
                name = "Link changed"
            changes.append(records.FieldChange(name, _plain(change.old_value), _plain(change.new_value)))
            continue
        old, new = _plain(change.old_value), _plain(change.new_value)
        if old == new:
            continue
        changes.append(records.FieldChange(field_names.get(change.field_id, change.field_id), old, new))
    return records.Revision(source_id=revision.source_id, work_item_id=revision.work_item_id, number=revision.number,
                            author=revision.author, changed_at=revision.changed_at, changes=tuple(changes))


@dataclass(frozen=True)
class ChangeRow:
    revision: int
    changed_at: str
    changed_by: str
    field: str
    old: str
    new: str


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def change_rows(revisions: list[records.Revision]) -> list[ChangeRow]:
    rows = []
    for revision in sorted(revisions, key=lambda r: r.number):
        who = (revision.author.display_name or revision.author.source_id) if revision.author else ""
        for change in revision.changes:
            rows.append(ChangeRow(revision.number, _when(revision.changed_at), who, str(change.field_id),
                                  str(change.old_value or ""), str(change.new_value or "")))
    return rows


def changelog_batches(rows: list[ChangeRow]) -> list[list[ChangeRow]]:
    """Rows cut into comment-sized batches, never splitting a revision. The same rows always give the same
    batches, so a batch's index is a stable key."""
    batches: list[list[ChangeRow]] = []
    current: list[ChangeRow] = []
    revisions: set[int] = set()
    size = 0
    for row in rows:
        row_size = sum(len(v) for v in (row.changed_at, row.changed_by, row.field, row.old, row.new)) + 40
        starts_revision = row.revision not in revisions
        if current and starts_revision and (len(revisions) >= BATCH_REVISIONS or size + row_size > BATCH_CHARACTERS):
            batches.append(current)
            current, revisions, size = [], set(), 0
        current.append(row)
        revisions.add(row.revision)
        size += row_size
    if current:
        batches.append(current)
    return batches


def changelog_header(*, item_key: str, batch: list[ChangeRow], index: int) -> str:
    """The comment's first line, also how a reconciliation finds it: stable while the source keeps its
    history (so no "of N", which grows with new revisions)."""
    first, last = batch[0].revision, batch[-1].revision
    span = f"revision {first}" if first == last else f"revisions {first}–{last}"
    return f"Change history of #{item_key} in the source, {span} (part {index + 1})"


COLUMNS = ("Rev", "When", "Who", "Field", "From", "To")


def _cells(row: ChangeRow) -> tuple[str, ...]:
    return (str(row.revision), row.changed_at, row.changed_by, row.field, row.old, row.new)


def changelog_body(batch: list[ChangeRow], *, rich_text: str):
    """The batch as the destination's rich text: "adf" (an expand node holding a table), "wiki" or "html"."""
    title = f"{len({r.revision for r in batch})} revision(s), {len(batch)} change(s)"
    if rich_text == "adf":
        def cell(kind, text):
            return {"type": kind, "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": text or EMPTY}]}]}

        table = {"type": "table", "attrs": {"isNumberColumnEnabled": False, "layout": "default"}, "content": [
            {"type": "tableRow", "content": [cell("tableHeader", c) for c in COLUMNS]},
            *({"type": "tableRow", "content": [cell("tableCell", c) for c in _cells(row)]} for row in batch)]}
        return {"type": "doc", "version": 1, "content": [
            {"type": "expand", "attrs": {"title": title}, "content": [table]}]}
    if rich_text == "wiki":
        from apps.connections.connectors.jira.payloads import wiki_escape

        lines = ["*" + wiki_escape(title) + "*", "||" + "||".join(COLUMNS) + "||"]
        lines += ["|" + "|".join(wiki_escape(c.replace("\n", " ")) or EMPTY for c in _cells(row)) + "|"
                  for row in batch]
        return "\n".join(lines)
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c) or EMPTY}</td>" for c in _cells(row)) + "</tr>"
                   for row in batch)
    return f"<p><b>{html.escape(title)}</b></p><table><tr>{head}</tr>{body}</table>"


CSV_COLUMNS = ("item", "revision", "changed_at", "changed_by", "field", "from", "to")


def csv_rows(item_id: str, revisions: list[records.Revision]):
    for row in change_rows(revisions):
        yield (item_id, row.revision, row.changed_at, row.changed_by, row.field, row.old, row.new)
