"""The destination read back for the verification (engine/verify.py), on the connectors' read side. Jira:
issues by id parsed into neutral records, their files streamed, the issues a run created found by the
`migrayt.source` property (mixed into adapters.JiraDestination). Azure DevOps: work items by id
(workitemsbatch with relations) parsed the same way, with their revision and comment counts, the work items a
run created found by its tag (mixed into adapters_to_ado.AdoDestination). No Django here."""

from collections.abc import Iterator
from datetime import datetime

from apps.connections.connectors import records
from apps.connections.connectors.azure_devops import parse as ado_parse
from apps.connections.connectors.azure_devops.writer import MARKER, run_tag_of, web_link_title
from apps.connections.connectors.jira import parse
from apps.connections.connectors.jira.payloads import SPRINT_CUSTOM_TYPE
from apps.runs.engine.verify import ReadBack


def _refs(*values) -> frozenset[str]:
    return frozenset(str(v) for v in values if v not in (None, ""))


def _sprint_ids(value) -> tuple[str, ...]:
    out = []
    for entry in value if isinstance(value, list) else [value] if value else []:
        if isinstance(entry, dict) and entry.get("id") is not None:
            out.append(str(entry["id"]))
        elif isinstance(entry, int | str) and str(entry).isdigit():
            out.append(str(entry))
        elif isinstance(entry, str) and "id=" in entry:  # Data Center's "…Sprint@…[id=12,…]"
            out.append(entry.split("id=", 1)[1].split(",", 1)[0])
    return tuple(out)


def _comment_ids(comment) -> tuple[str, ...] | None:
    """The ids of the issue's comments, when the issue lists all of them (ids only: no comment is kept)."""
    if not isinstance(comment, dict):
        return None
    listed = [str(c.get("id")) for c in comment.get("comments") or [] if isinstance(c, dict)]
    return tuple(listed) if len(listed) >= int(comment.get("total") or 0) else None


class JiraReadBack:
    """engine.verify's part of the DestinationPort. Needs `self.writer` (a JiraWriter) and `self.project`."""

    def _sprint_field(self) -> str:
        return next((fid for fid, schema in self.writer.fields_schema().items()
                     if schema.get("custom") == SPRINT_CUSTOM_TYPE), "")

    def read_back(self, destination_ids: list[str]) -> dict[str, ReadBack]:
        """{destination id: ReadBack} of those issues that exist; a deleted one is simply absent."""
        reader = self.writer.connector
        wanted = [str(i) for i in destination_ids if i]
        bodies = reader.issues_bulk(wanted) if wanted else []
        sprint_field = self._sprint_field()
        out = {}
        for body in bodies:
            item, _, attachments, _ = parse.issue(body, text_format=reader.text_format, project_key=self.project)
            fields = body.get("fields") or {}
            links = []
            for entry in fields.get("issuelinks") or []:
                far = entry.get("outwardIssue") or entry.get("inwardIssue") or {}
                kind = entry.get("type") or {}
                links.append((_refs(kind.get("id"), kind.get("name"), kind.get("inward"), kind.get("outward")),
                              str(far.get("id", ""))))
            out[item.source_id] = ReadBack(
                destination_id=item.source_id, key=item.key, item=item,
                type_refs=_refs((fields.get("issuetype") or {}).get("id"), (fields.get("issuetype") or {}).get("name")),
                status_refs=_refs((fields.get("status") or {}).get("id"), (fields.get("status") or {}).get("name")),
                priority_refs=_refs((fields.get("priority") or {}).get("id"), (fields.get("priority") or {}).get("name")),
                links=tuple(links),
                component_ids=tuple(str(c.get("id")) for c in fields.get("components") or [] if isinstance(c, dict)),
                sprint_ids=_sprint_ids(fields.get(sprint_field)) if sprint_field else (),
                attachments=tuple(attachments), comment_count=int(item.comment_count or 0),
                comment_ids=_comment_ids(fields.get("comment")))
        return out

    def attachment_chunks(self, attachment: records.Attachment) -> Iterator[bytes]:
        return self.writer.connector.attachment_chunks(attachment)

    def created_by_run(self, *, since: datetime, run_uid: str) -> Iterator[tuple[str, str, str]]:
        """(issue id, key, source id) of every issue in the project carrying this run's property."""
        for issue_id, key, value in self.writer.created_with_source(project=self.project, since=since):
            if str(value.get("run_id", "")) == run_uid:
                yield issue_id, key, str(value.get("source_id", ""))


# Relations that are not links between items: the parent is checked on its own, the rest are not links.
_NOT_LINKS = ("System.LinkTypes.Hierarchy-Forward", "System.LinkTypes.Hierarchy-Reverse")


def _ado_person(identity) -> records.Person | None:
    """A person as the writer names them (their unique name), so the mapping's value compares."""
    found = ado_parse.person(identity)
    if found is None:
        return None
    unique = identity.get("uniqueName") if isinstance(identity, dict) else found.email
    return records.Person(source_id=str(unique or found.source_id), display_name=found.display_name,
                          email=found.email)


class AdoReadBack:
    """engine.verify's part of the DestinationPort on Azure DevOps. Needs `self.writer` (an AdoWriter) and
    `self.project`. History there is revisions (the item's `rev`), comments are real comments (every
    History text is one: `System.CommentCount`)."""

    def read_back(self, destination_ids: list[str]) -> dict[str, ReadBack]:
        """{destination id: ReadBack} of those work items that exist; a deleted one is simply absent."""
        reader = self.writer.connector
        numbers = [int(i) for i in destination_ids if str(i).isdigit()]
        run_tag = self.writer.run_tag
        out = {}
        for start in range(0, len(numbers), 200):
            for body in reader.work_items_batch(self.project, numbers[start:start + 200]):
                item, links, attachments = ado_parse.work_item(body)
                fields = item.fields
                item.assignee = _ado_person(fields.get("System.AssignedTo"))
                item.reporter = _ado_person(fields.get("System.CreatedBy"))
                item.labels = tuple(t for t in item.labels if t != run_tag)  # the run's own mark, not a label
                found = []
                for link in links:
                    if link.is_external or link.link_type_id in _NOT_LINKS:
                        continue
                    # A directed link shows on its far end as its reverse: both names say the same link.
                    names = {link.link_type_id, link.link_type_id.replace("-Reverse", "-Forward")}
                    found.append((frozenset(names), link.to_item_id))
                out[item.source_id] = ReadBack(
                    destination_id=item.source_id, key=item.key, item=item,
                    type_refs=_refs(item.type_id), status_refs=_refs(item.state),
                    priority_refs=_refs(fields.get("Microsoft.VSTS.Common.Priority")),
                    links=tuple(found),
                    # Components are areas; the project's own root area is no component.
                    component_ids=(str(fields["System.AreaPath"]),) if "\\" in str(fields.get("System.AreaPath") or "")
                    else (),
                    sprint_ids=(str(fields["System.IterationPath"]),) if fields.get("System.IterationPath") else (),
                    attachments=tuple(attachments), comment_count=int(item.comment_count or 0),
                    revision_count=int(item.revision or 0),
                    # Hyperlinks other than the run's own link back: the source's links out of the tracker.
                    web_links=tuple((link.url, web_link_title(link.comment)) for link in links if link.is_external and
                                    link.link_type_id == "Hyperlink" and not link.comment.startswith(MARKER)))
        return out

    def attachment_chunks(self, attachment: records.Attachment) -> Iterator[bytes]:
        return self.writer.connector.attachment_chunks(attachment)

    def created_by_run(self, *, since: datetime, run_uid: str) -> Iterator[tuple[str, str, str]]:
        """(work item id, key, source id) of every work item in the project carrying the run's tag (its uid's
        first 12 hex digits); the source id from the Hyperlink back, "" where it has none. `since` narrows
        nothing: a created date is the source's (written with bypassRules), and the tag is the run's alone."""
        for body in self.writer.tagged_items(project=self.project, tag=run_tag_of(run_uid)):
            yield str(body["id"]), str(body["id"]), self.writer.source_id_of(body)
