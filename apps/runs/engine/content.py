"""The content phases, after the items, states and links: attachments (with the inline images of the
descriptions, whose descriptions are then rewritten to show them from the destination), comments (in
their original order, each under an attribution header, their inline images uploaded first) and history
(each item's revisions as changelog comments).

Every piece is keyed on its source id in the id map: `attachment:<item>:<file>`, `comment:<item>:<comment>`,
`history:<item>:<batch>`, and the rewritten description under the item's id (phase `descriptions`). A slice
first records which items it is about to write ("open", committed), then writes, then records what it
wrote with the checkpoint in one transaction. After a crash the open items are reconciled before anything
is written again: attachments by name and size on the destination item, comments by their header. So a
SIGKILL at any moment writes nothing twice.

Plain Python over the ports: the source gives neutral records and streams, the destination takes rich
text in its own format (the Drafter's `rich_text`: "adf", "wiki", or "html" towards Azure DevOps).
"""

from dataclasses import dataclass, field

from apps.connections.connectors import records
from apps.connections.connectors.errors import ConnectorError
from apps.mappings.transforms import html_to_adf
from apps.runs import changelog
from apps.runs.engine.draft import Warning, payload_hash
from apps.runs.engine.ports import Failure, Recorded

ITEMS_PER_LANE = 5  # items per parallel lane in one slice
CONTENT_PHASES = ("attachments", "comments", "history")
DEFAULT_LIMIT = 10 * 1024 * 1024


@dataclass
class ItemOutcome:
    written: list[Recorded] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    transient: bool = False  # throttled or the outcome of a write is unknown: reconcile, then carry on
    unknown: bool = False  # a write may still be in flight: reconcile only once it cannot be any more


def _reason(exc: ConnectorError, what: str) -> str:
    # Vendors' messages can quote file names or text; ours name only the kind of thing and the code.
    return f"The destination did not take {what} ({exc.code})."


def _settled(out: ItemOutcome, exc: ConnectorError, failure: Failure) -> ItemOutcome:
    """A read or write of one item that did not go through: throttled (come back), or failed for a reason."""
    if exc.kind == "transient":
        out.transient = True
    else:
        out.failed.append(failure)
    return out


class ContentPhases:
    """Mixed into engine.execute.Engine (which gives plan, source, destination, store, drafter, preview,
    parallel, time_left(), requests_since(), _pool() and attachment_limit)."""

    def phase_attachments(self):
        return self._content("attachments", self.plan.attachments, self._attachments_context,
                             self._attachments_of_item)

    # A destination that keeps history as it happened (Azure DevOps) took the comments and the changelog as
    # revisions at their place in time, in the states phase (engine/replay.py): nothing to add here.
    def phase_comments(self):
        return self._content("comments", self.plan.comments and not getattr(self, "replays_history", False),
                             self._items_context, self._comments_of_item)

    def phase_history(self):
        return self._content("history", self.plan.history and not getattr(self, "replays_history", False),
                             lambda refs: {}, self._history_of_item)

    # -- the loop shared by the three phases -------------------------------------------------------------
    def _content(self, phase: str, enabled: bool, load, work):
        from apps.runs.engine.execute import StepResult, add_warning

        if not enabled:
            self.store.record(phase=phase, written=[], failed=[], retry=[], cursor={"off": True},
                              progress={"off": True})
            return StepResult(phase, phase_done=True)
        cursor = self.store.cursor().get(phase, {})
        after = int(cursor.get("after", -1))
        reopen = set(cursor.get("open") or [])
        self._done = {} if self.preview else {p: self.store.mapped(p) for p in ("attachments", "descriptions", phase)}
        units = 0
        while self.time_left() > 0:
            self.store.keep_alive()
            refs = self.store.items_created(after_ordinal=after, limit=self.parallel * ITEMS_PER_LANE)
            if not refs:
                return StepResult(phase, units=units, phase_done=True)
            if self.preview:
                count, warnings = self._content_preview(phase, refs)
                after = refs[-1].ordinal
                self.store.record(phase=phase, written=[], failed=[], retry=[], cursor={"after": after},
                                  progress={"done": count}, warnings=warnings)
                units += count
                continue
            # Say which items are about to be written, before writing: a crash leaves them to reconcile.
            self.store.record(phase=phase, written=[], failed=[], retry=[],
                              cursor={"open": sorted(reopen | {r.source_id for r in refs})}, progress={})
            context = load(refs)
            with self._pool() as pool:
                outcomes = list(pool.map(work, refs, [context.get(r.source_id) for r in refs],
                                         [r.source_id in reopen for r in refs]))
            written, failed, warnings, still_open = [], [], {}, []
            throttled = [ref.ordinal for ref, o in zip(refs, outcomes, strict=True) if o.transient]
            for ref, outcome in zip(refs, outcomes, strict=True):
                written += outcome.written
                failed += outcome.failed
                for warning in outcome.warnings:
                    add_warning(warnings, warning, ref.source_id)
                if outcome.transient:
                    still_open.append(ref.source_id)
            new_after = min(throttled) - 1 if throttled else refs[-1].ordinal
            settled = [o for ref, o in zip(refs, outcomes, strict=True) if ref.ordinal <= new_after]
            self.store.record(phase=phase, written=written, failed=failed, retry=[],
                              cursor={"after": new_after, "open": still_open},
                              progress={"done": len(settled), "failed": sum(1 for o in settled if o.failed)},
                              warnings=warnings, requests=self.requests_since())
            for entry in written:
                self._done.setdefault(entry.phase, {})[entry.source_id] = entry.destination_id
            reopen = set(still_open)
            units += len(written)
            if throttled:
                unknown = any(o.unknown for o in outcomes)
                return StepResult(phase, units=units, wait_seconds=max(5.0, self.reconcile_after) if unknown else 5.0)
            after = new_after
        return StepResult(phase, units=units)

    # -- what a slice reads once for all its items ---------------------------------------------------------
    def _attachments_context(self, refs) -> dict:
        return {item.source_id: (item, attached)
                for item, attached in self.source.items_with_attachments([r.source_id for r in refs])}

    def _items_context(self, refs) -> dict:
        return {item.source_id: item for item in self.source.items_by_ids([r.source_id for r in refs])}

    def _limit(self) -> int:
        limit = self.destination.attachment_limit_bytes if self.destination else self.attachment_limit
        return limit or DEFAULT_LIMIT

    # -- the preview: counts and warnings, nothing written ---------------------------------------------------
    def _content_preview(self, phase: str, refs) -> tuple[int, dict]:
        from apps.runs.engine.execute import add_warning

        warnings: dict = {}
        count = 0
        if phase == "attachments":
            # Files over the destination's limit are announced by the plan phase already.
            for item, attached in self.source.items_with_attachments([r.source_id for r in refs]):
                images = self._images(self.drafter.description_source(item), item.source_id)
                known = {a.source_id for a in attached}
                count += len(attached) + sum(1 for a in images if a.source_id not in known)
                if images:
                    add_warning(warnings, Warning("inline_images", "Images shown in the description are uploaded "
                                                  "and the description is rewritten to show them."), item.source_id)
        elif phase == "comments":
            count = sum(item.comment_count or 0 for item in self._items_context(refs).values())
        else:
            count = sum(max(1, item.revision) for item in self._items_context(refs).values())
        return count, warnings

    # -- attachments and inline images ---------------------------------------------------------------------
    def _images(self, rich_text: str, item_id: str) -> list[records.Attachment]:
        """The source attachments that a rich text value shows inline, found by the converter itself."""
        found: dict[str, records.Attachment] = {}

        def collect(src, alt):
            attachment = self.source.image_attachment(src, item_id=item_id)
            if attachment is not None:
                found.setdefault(attachment.source_id, attachment)
            return None

        if rich_text and self.drafter.to_ado:  # ADF or wiki markup, read by the converter that writes it
            self.drafter.rich(rich_text, "The description", [], image_resolver=collect)
        elif rich_text:
            html_to_adf(rich_text, image_resolver=collect)
        return list(found.values())

    def _uploaded(self, item_id: str) -> dict[str, str]:
        prefix = f"attachment:{item_id}:"
        return {key[len(prefix):]: dest for key, dest in self._done.get("attachments", {}).items()
                if key.startswith(prefix)}

    def _resolver(self, item_id: str, uploaded: dict[str, str]):
        def resolve(src, alt):
            attachment = self.source.image_attachment(src, item_id=item_id)
            if attachment is None or attachment.source_id not in uploaded:
                return None
            return self.destination.image_target(attachment_id=uploaded[attachment.source_id],
                                                 filename=attachment.filename)
        return resolve

    def _upload(self, ref, pieces: list[records.Attachment], reopen: bool, out: ItemOutcome) -> dict[str, str]:
        """Upload what is not in the id map yet; returns source file id -> destination id for the item."""
        uploaded = self._uploaded(ref.source_id)
        for entry in out.written:
            if entry.phase == "attachments":
                uploaded[entry.source_id.rsplit(":", 1)[-1]] = entry.destination_id
        todo = [a for a in pieces if a.source_id not in uploaded]
        existing = None
        if reopen and todo:
            taken = set(self._done.get("attachments", {}).values()) | set(uploaded.values())
            existing = [e for e in self.destination.attachments_of(destination_id=ref.destination_id)
                        if e[0] not in taken]
        limit = self._limit()
        for attachment in todo:
            key = f"attachment:{ref.source_id}:{attachment.source_id}"
            digest = payload_hash({"name": attachment.filename, "size": attachment.size_bytes})
            match = next((e for e in existing or [] if e[1] == attachment.filename
                          and (attachment.size_bytes is None or e[2] == attachment.size_bytes)), None)
            if match is not None:
                existing.remove(match)
                out.written.append(Recorded("attachments", key, match[0], "", digest, adopted=True))
                uploaded[attachment.source_id] = match[0]
                continue
            if attachment.size_bytes and attachment.size_bytes > limit:
                out.failed.append(Failure(key, "attachments", "too_large", f"An attachment of "
                                          f"{attachment.size_bytes / 1048576:.1f} MB is over the destination's limit "
                                          f"of {limit / 1048576:.0f} MB; it was not copied."))
                continue
            try:
                destination_id = self.destination.attachment_upload(
                    destination_id=ref.destination_id, source_id=key, filename=attachment.filename,
                    chunks=self.source.attachment_chunks(attachment), size=attachment.size_bytes,
                    mime_type=attachment.mime_type)
            except ConnectorError as exc:
                if exc.kind == "transient":
                    out.transient, out.unknown = True, exc.code == "ambiguous"
                    break
                out.failed.append(Failure(key, "attachments", exc.code, _reason(exc, "an attachment")))
                continue
            out.written.append(Recorded("attachments", key, destination_id, "", digest))
            uploaded[attachment.source_id] = destination_id
        return uploaded

    def _attachments_of_item(self, ref, context, reopen: bool) -> ItemOutcome:
        out = ItemOutcome()
        if context is None:
            out.failed.append(Failure(ref.source_id, "attachments", "gone", "The item is no longer in the source."))
            return out
        item, attached = context
        description = self.drafter.description_source(item)
        images = self._images(description, item.source_id)
        pieces = {a.source_id: a for a in attached}
        for image in images:
            pieces.setdefault(image.source_id, image)
        uploaded = self._upload(ref, list(pieces.values()), reopen, out)
        if out.transient or not images or ref.source_id in self._done.get("descriptions", {}):
            return out
        # The attribution line the create wrote above the description stays (HTML before it is converted
        # into Jira's rich text; into Azure DevOps, whose description is HTML, above the converted text).
        header = self.drafter.description_header(item)
        into_html = self.drafter.to_ado
        body = self.drafter.rich(description if into_html else header + str(description or ""), "The description",
                                 out.warnings, image_resolver=self._resolver(item.source_id, uploaded))
        if into_html and header:
            body = header + body
        try:
            self.destination.description_set(destination_id=ref.destination_id, body=body)
        except ConnectorError as exc:
            return _settled(out, exc, Failure(ref.source_id, "attachments", exc.code, _reason(exc, "the description")))
        out.written.append(Recorded("descriptions", ref.source_id, ref.destination_id, ref.destination_key,
                                    payload_hash(body)))
        return out

    # -- comments --------------------------------------------------------------------------------------------
    @staticmethod
    def comment_header(comment: records.Comment, *, item_key: str) -> str:
        who = (comment.author.display_name or comment.author.source_id) if comment.author else "someone"
        when = comment.created_at.strftime("%Y-%m-%d %H:%M UTC") if comment.created_at else "an unknown date"
        return f"Originally written by {who} on {when} (comment {comment.source_id} of #{item_key})"

    def _comments_of_item(self, ref, item, reopen: bool) -> ItemOutcome:
        out = ItemOutcome()
        if item is not None and item.comment_count == 0:
            return out
        try:
            comments = self.source.comments_of(ref.source_id)
        except ConnectorError as exc:
            return _settled(out, exc, Failure(ref.source_id, "comments", exc.code, _reason(exc, "the comments")))
        for comment in comments:
            def body(out, comment=comment):
                images = self._images(comment.body, ref.source_id) if self.plan.attachments else []
                uploaded = self._upload(ref, images, reopen, out) if images else {}
                if out.transient:
                    return None
                return self.drafter.rich(comment.body, "A comment", out.warnings,
                                         image_resolver=self._resolver(ref.source_id, uploaded))

            header = self.comment_header(comment, item_key=item.key if item else ref.source_id)
            if not self._comment_once(ref, "comments", f"comment:{ref.source_id}:{comment.source_id}", header, body,
                                      reopen, out):
                break
        return out

    def _comment_once(self, ref, phase: str, key: str, header: str, body, reopen: bool, out: ItemOutcome) -> bool:
        """Write one comment keyed `key` unless recorded (or, on an open item, found by its header). False:
        stop this item here (throttled, or the outcome is unknown)."""
        if key in self._done.get(phase, {}):
            return True
        try:
            if reopen:
                found = self.destination.comment_find(destination_id=ref.destination_id, header=header)
                if found:
                    out.written.append(Recorded(phase, key, found, "", "", adopted=True))
                    return True
            content = body(out)
            if content is None:
                return False
            comment_id = self.destination.comment_add(destination_id=ref.destination_id, source_id=key,
                                                      body=content, header=header)
        except ConnectorError as exc:
            if exc.kind == "transient":
                out.transient, out.unknown = True, exc.code == "ambiguous"
                return False
            out.failed.append(Failure(key, phase, exc.code, _reason(exc, "a comment")))
            return True
        out.written.append(Recorded(phase, key, comment_id, "", payload_hash(content)))
        return True

    # -- history ---------------------------------------------------------------------------------------------
    def _history_of_item(self, ref, _context, reopen: bool) -> ItemOutcome:
        out = ItemOutcome()
        try:
            batches = changelog.changelog_batches(changelog.change_rows(self.source.revisions_of(ref.source_id)))
        except ConnectorError as exc:
            return _settled(out, exc, Failure(ref.source_id, "history", exc.code, _reason(exc, "the history")))
        for index, batch in enumerate(batches):
            header = changelog.changelog_header(item_key=ref.source_id, batch=batch, index=index)
            if not self._comment_once(ref, "history", f"history:{ref.source_id}:{index}", header,
                                      lambda out, batch=batch: changelog.changelog_body(
                                          batch, rich_text=self.drafter.rich_text), reopen, out):
                break
        return out
