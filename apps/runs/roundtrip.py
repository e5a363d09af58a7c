"""The round trip: a project migrated Azure DevOps -> Jira (run A) and that Jira project back into Azure DevOps
(run B). Each original item is followed through both id maps (phase "items": source id -> destination id) to
its round-tripped item, and the two are compared over neutral records read through the connectors now (never
stored): type, state, title, description (text and structure), parent, links, comments, attachments (sha256
streamed), tags, area and iteration, people, the other fields, the history. The Jira issue between them is read
too, to say on which leg something changed and why.

A difference holds ids, field ids, type and state names, counts, lengths and short hashes, never a title, a
description, a comment or a tag (Zero Data Retention, as the verification report). Each has a reason in words;
`expected` says the reason is a known limit of the round trip (Jira has no such level, Jira sets its own dates
...), not a fault: a round trip with nothing unexpected has kept everything it can keep.
"""

import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from apps.connections.connectors import records
from apps.connections.connectors.errors import ConnectorError
from apps.connections.crypto import SecretUnreadable
from apps.core.exceptions import ApplicationError
from apps.mappings.plan import MappingPlan
from apps.mappings.transforms.html_tree import Element, collapse_whitespace, parse_html
from apps.runs.engine.verify import sha256_of
from apps.runs.models import IdMapEntry, Run, RunItem
from apps.runs.planjson import plan_from_dict

LOST, MISSING, EXTRA, DIFFERS = "lost", "missing", "extra", "differs"
CHECKS = ("lost", "type", "state", "title", "description", "parent", "links", "comments", "comment_author",
          "comment_date", "attachments", "tags", "area", "iteration", "assignee", "created_by", "created_date",
          "fields", "history")
JIRA = ("jira_cloud", "jira_data_center")
SUMMARY_MAX = 255
# Fields compared by their own check, or bookkeeping the service sets on every write (not the item's content).
OWN_CHECKS = {
    "System.Id", "System.Rev", "System.Title", "System.Description", "System.State", "System.Reason",
    "System.WorkItemType", "System.Tags", "System.AreaPath", "System.AreaId", "System.IterationPath",
    "System.IterationId", "System.AssignedTo", "System.CreatedBy", "System.CreatedDate", "System.ChangedBy",
    "System.ChangedDate", "System.AuthorizedAs", "System.AuthorizedDate", "System.RevisedDate", "System.Watermark",
    "System.Parent", "System.History", "System.CommentCount", "System.TeamProject", "System.NodeName",
    "System.AreaLevel1", "System.AreaLevel2", "System.AreaLevel3", "System.IterationLevel1", "System.IterationLevel2",
    "System.IterationLevel3", "System.BoardColumn", "System.BoardColumnDone", "System.BoardLane",
    "System.PersonId", "System.ExternalLinkCount", "System.HyperLinkCount", "System.AttachedFileCount",
    "System.RelatedLinkCount", "System.RemoteLinkCount", "Microsoft.VSTS.Common.StateChangeDate",
    "Microsoft.VSTS.Common.ActivatedDate", "Microsoft.VSTS.Common.ActivatedBy", "Microsoft.VSTS.Common.ResolvedDate",
    "Microsoft.VSTS.Common.ResolvedBy", "Microsoft.VSTS.Common.ClosedDate", "Microsoft.VSTS.Common.ClosedBy",
    "Microsoft.VSTS.Common.ResolvedReason", "Microsoft.VSTS.Common.StackRank", "Microsoft.VSTS.Common.BacklogPriority",
}
COMMENT_HEADER = re.compile(r"Originally written by (?P<name>.*?) on (?P<date>\d{4}-\d\d-\d\d \d\d:\d\d) UTC "
                            r"\(comment (?P<comment>[^ ]+) of #(?P<item>[^)]+)\)")
HISTORY_HEADER = re.compile(r"^\s*Change history of #\S+ in the source")
SOURCE_LINK = "migrayt source "  # the comment of the Hyperlink a run into Azure DevOps leaves on every item
RUN_TAG = "migrayt-run-"


@dataclass(frozen=True)
class RoundTripDifference:
    source_id: str  # the original item
    round_trip_id: str  # its round-tripped item ("" when lost)
    check: str
    kind: str  # lost / missing / extra / differs
    was: str  # structure only: ids, names of types and states, field ids, counts, lengths, hashes
    now: str
    reason: str
    expected: bool  # a known limit of the round trip, as the reason says; False: something went wrong


@dataclass
class Side:
    """One item as read from one Azure DevOps project: neutral records only."""

    item: records.WorkItem
    links: list[records.Link] = field(default_factory=list)
    attachments: list[records.Attachment] = field(default_factory=list)
    comments: list[records.Comment] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # attachment id -> sha256


@dataclass
class Chain:
    """What the comparison needs of the two runs: their plans and id maps (ids only)."""

    plan_a: MappingPlan
    plan_b: MappingPlan
    levels_a: dict[str, int]  # run A's destination type levels (Jira takes a parent exactly one level up)
    to_jira: dict[str, str]  # original id -> Jira id
    to_back: dict[str, str]  # Jira id -> round-tripped id
    root_a: str  # the original project (its area and iteration root)
    root_b: str
    original_base: str = ""  # the original organisation's URL: images kept elsewhere stay links

    def round_trip_of(self, original_id: str) -> str:
        return self.to_back.get(self.to_jira.get(original_id, ""), "")


# --- the runs ---------------------------------------------------------------------------------------------


def round_trip_runs(*, organisation, run_b: Run, from_id) -> Run:
    """Run A (`from_id`) when run B goes back from run A's destination; ApplicationError in words otherwise.
    Raises Run.DoesNotExist for a run of another organisation (a 404)."""
    try:
        run_a = Run.objects.for_organisation(organisation).get(pk=int(str(from_id or "").strip()))
    except (TypeError, ValueError):
        raise ApplicationError("Say which run went there: ?from=<the id of the Azure DevOps -> Jira run>.",
                               extra={"field": "from"}) from None
    for run, role in ((run_a, "there (from)"), (run_b, "back")):
        if run.kind != Run.Kind.LIVE:
            raise ApplicationError(f"Run #{run.pk} ({role}) is a preview; a round trip compares live runs.")
        if run.state != Run.State.FINISHED:
            raise ApplicationError(f"Run #{run.pk} ({role}) is {run.state}; a round trip needs both runs finished.")
        if run.source_connection is None or run.destination_connection is None:
            raise ApplicationError(f"A connection run #{run.pk} used was deleted.")
    if run_a.source_connection.kind != "azure_devops" or run_a.destination_connection.kind not in JIRA:
        raise ApplicationError(f"Run #{run_a.pk} does not go from Azure DevOps to Jira.")
    if run_b.source_connection.kind not in JIRA or run_b.destination_connection.kind != "azure_devops":
        raise ApplicationError(f"Run #{run_b.pk} does not go from Jira to Azure DevOps.")
    same_site = (run_b.source_connection_id == run_a.destination_connection_id
                 or _site(run_b.source_connection) == _site(run_a.destination_connection))
    if not same_site or run_b.source_project != run_a.destination_project:
        raise ApplicationError(f"Run #{run_b.pk} does not start where run #{run_a.pk} arrived: its source is "
                               f"{run_b.source_project}, run #{run_a.pk} wrote into {run_a.destination_project} "
                               f"{'on the same site' if same_site else 'on another site'}.")
    return run_a


def round_trip_candidates(*, organisation, run_b: Run) -> list[Run]:
    """The finished live runs from Azure DevOps into Jira whose destination project this run read: what a person
    can choose as run A (newest first)."""
    return list(Run.objects.for_organisation(organisation)
                .filter(kind=Run.Kind.LIVE, state=Run.State.FINISHED, source_connection__kind="azure_devops",
                        destination_connection__kind__in=JIRA, destination_project=run_b.source_project)
                .exclude(pk=run_b.pk).select_related("source_connection", "destination_connection")
                .order_by("-pk")[:50])


def _site(connection) -> tuple[str, str]:
    return connection.kind, str(connection.base_url or "").rstrip("/").lower()


def _id_map(run: Run) -> dict[str, str]:
    return dict(IdMapEntry.unscoped.filter(run_id=run.pk, organisation_id=run.organisation_id, phase="items")
                .values_list("source_id", "destination_id"))


def round_trip_report(*, run_a: Run, run_b: Run) -> dict:
    """{"summary": counts, "differences": [RoundTripDifference]} for two runs round_trip_runs chained. Reads
    the original project, the Jira project and the round-tripped project now."""
    from apps.connections.connectors.jira.writer import JiraWriter
    from apps.connections.services import connection_connector
    from apps.runs.adapters import AdoSource, JiraDestination

    chain = Chain(plan_a=plan_from_dict(run_a.plan), plan_b=plan_from_dict(run_b.plan),
                  levels_a={str(k): int(v) for k, v in (run_a.plan.get("destination_type_levels") or {}).items()},
                  to_jira=_id_map(run_a), to_back=_id_map(run_b), root_a=run_a.source_project,
                  root_b=run_b.destination_project, original_base=run_a.source_connection.base_url)
    planned = list(RunItem.unscoped.filter(run_id=run_a.pk, organisation_id=run_a.organisation_id)
                   .order_by("ordinal", "id").values_list("source_id", "type_id", "error_code"))
    differences: list[RoundTripDifference] = []
    try:
        with connection_connector(run_a.source_connection) as there, \
                connection_connector(run_b.source_connection) as middle, \
                connection_connector(run_b.destination_connection) as back:
            original = AdoSource(there, project=run_a.source_project)
            returned = AdoSource(back, project=run_b.destination_project)
            jira = JiraDestination(JiraWriter(middle, run_id=str(run_a.uid)), project=run_b.source_project)
            for start in range(0, len(planned), 50):
                differences += _slice(planned[start:start + 50], chain, original, jira, returned)
    except (ConnectorError, SecretUnreadable) as exc:
        raise ApplicationError(f"The round trip could not be read: {exc}") from None
    return {"summary": report_summary(len(planned), differences), "differences": differences}


def report_summary(items: int, differences: list[RoundTripDifference]) -> dict:
    touched = {d.source_id for d in differences if not d.expected}
    return {"items": items, "lost": sum(1 for d in differences if d.check == "lost"),
            "unexpected": sum(1 for d in differences if not d.expected),
            "expected": sum(1 for d in differences if d.expected),
            "items_kept_whole": items - len(touched),
            "by_check": dict(sorted(Counter(d.check for d in differences).items()))}


def _read(source, ids: list[str]) -> dict[str, Side]:
    sides = {item.source_id: Side(item, links, attachments)
             for item, links, attachments in source.items_with_relations(ids)}
    for side in sides.values():
        side.comments = source.comments_of(side.item.source_id)
    return sides


def _slice(planned, chain: Chain, original, jira, returned) -> list[RoundTripDifference]:
    ids = [sid for sid, _, _ in planned]
    originals = _read(original, ids)
    middles = jira.read_back([chain.to_jira[sid] for sid in ids if chain.to_jira.get(sid)])
    backs = _read(returned, [chain.round_trip_of(sid) for sid in ids if chain.round_trip_of(sid)])
    out = []
    for sid, type_id, error_code in planned:
        jira_id, back_id = chain.to_jira.get(sid, ""), chain.round_trip_of(sid)
        if not jira_id:
            rule = chain.plan_a.types.get(type_id)
            reason = (f"Run A's mapping migrates no {type_id}." if rule is None or not rule.target_type else
                      f"Run A did not write it ({error_code or 'not written'}; see its errors).")
            out.append(_lost(sid, type_id, "not in Jira", reason, expected=rule is None or not rule.target_type))
            continue
        if not back_id:
            middle = middles.get(jira_id)
            type_name = _name(middle.type_refs) if middle else "?"
            rule = chain.plan_b.types.get(middle.item.type_id) if middle else None
            reason = ("The Jira issue is no longer there." if middle is None else
                      f"Run B's mapping migrates no Jira {type_name}." if rule is None or not rule.target_type else
                      "Run B did not write it (see its errors).")
            out.append(_lost(sid, type_id, f"Jira issue {jira_id}, not back in Azure DevOps", reason,
                             expected=middle is not None and (rule is None or not rule.target_type)))
            continue
        source, back = originals.get(sid), backs.get(back_id)
        if source is None:
            continue  # deleted from the original project since: nothing to compare with
        if back is None:
            out.append(_lost(sid, type_id, f"work item {back_id} not readable", "The round-tripped work item is no "
                             "longer in the Azure DevOps project (deleted or moved).", expected=False))
            continue
        for side, reader in ((source, original), (back, returned)):
            side.digests = {a.source_id: sha256_of(reader.attachment_chunks(a)) for a in side.attachments}
        out += compare_item(source, middles.get(jira_id), back, chain)
    return out


def _lost(sid: str, type_id: str, now: str, reason: str, *, expected: bool) -> RoundTripDifference:
    return RoundTripDifference(sid, "", "lost", LOST, f"#{sid} {type_id}", now, reason, expected)


# --- one item -------------------------------------------------------------------------------------------


def compare_item(source: Side, middle, back: Side, chain: Chain) -> list[RoundTripDifference]:
    """Every difference between an original item and its round trip (`middle`: the Jira issue between them,
    a verify.ReadBack, or None)."""
    was, now = source.item, back.item
    out: list[RoundTripDifference] = []

    def diff(check: str, kind: str, before: str, after: str, reason: str, expected: bool):
        out.append(RoundTripDifference(was.source_id, now.source_id, check, kind, before[:300], after[:300],
                                       reason[:500], expected))

    jira_type = _name(middle.type_refs) if middle else "?"
    if was.type_id != now.type_id:
        back_rule = chain.plan_b.types.get(middle.item.type_id) if middle else None
        kept = bool(back_rule and back_rule.target_type == now.type_id)
        diff("type", DIFFERS, was.type_id, now.type_id,
             f"Jira has no {was.type_id} here: run A's mapping made it a {jira_type}, which run B's mapping brings "
             f"back as a {now.type_id}." if kept else f"Run B's mapping gives Jira {jira_type} another type.", kept)
    if was.state != now.state:
        status = _name(middle.status_refs) if middle else "?"
        type_a = chain.plan_a.types.get(was.type_id)
        to_jira = chain.plan_a.states.get((was.type_id, was.state), "")
        back_state = next((v for (t, s), v in chain.plan_b.states.items()
                           if middle and t == middle.item.type_id and s in middle.status_refs), "")
        kept = bool(type_a) and to_jira in (middle.status_refs if middle else ()) and back_state == now.state
        diff("state", DIFFERS, was.state, now.state,
             f"Run A's mapping made {was.state} the Jira status {status}, which run B's mapping brings back as "
             f"{now.state}" + (" (Jira has no Removed: a removed item is Done there)." if was.state == "Removed"
                               else ".") if kept else
             f"Expected the state to come back through the Jira status {status}; it did not.", kept)
    if (was.title or "").strip() != (now.title or "").strip():
        cut = len(was.title) > SUMMARY_MAX and now.title.strip() == was.title[:SUMMARY_MAX].strip()
        diff("title", DIFFERS, _shape(was.title), _shape(now.title),
             f"Jira's summary holds {SUMMARY_MAX} characters: the rest was cut." if cut else "The title changed.", cut)
    _description(source, back, chain, diff)
    _parent(source, middle, back, chain, diff)
    _links(source, back, chain, diff)
    _comments(source, back, chain, diff)
    _attachments(source, back, diff)
    _tags(was, now, diff)
    _paths(was, now, middle, chain, diff)
    _people(was, now, chain, diff)
    _fields(was, now, chain, diff)
    history = sum(1 for c in back.comments if HISTORY_HEADER.match(_plain(c.body)))
    if was.revision > 1:
        carried = chain.plan_a.history
        expected = history > 0 if carried else True
        diff("history", DIFFERS, f"{was.revision} revisions", f"{now.revision} revisions, {history} change history "
             f"comment(s)",
             ("The original's revisions arrive in Jira as change history comments (Jira's history cannot be "
              "written) and come back as comments, not as Azure DevOps revisions; the round trip's revisions are "
              "Jira's own changelog of what run A wrote." if history else
              "The original's revisions should have arrived as change history comments; none came back.")
             if carried else "Run A did not carry the history (its mapping has history off).", expected)
    return out


def _name(refs) -> str:
    names = sorted((r for r in refs if not str(r).isdigit()), key=len)
    return names[0] if names else next(iter(sorted(refs)), "")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _shape(text: str) -> str:
    return f"{len(text or '')} characters, sha256 {_digest(text or '')}"


# --- rich text: the text and the structure that matter ------------------------------------------------------

BLOCKS = {"p": "paragraph", "div": "paragraph", "h1": "heading", "h2": "heading", "h3": "heading", "h4": "heading",
          "h5": "heading", "h6": "heading", "li": "list item", "pre": "code", "td": "cell", "th": "cell",
          "blockquote": "quote"}


ATTRIBUTION = re.compile(r"^[^()]{1,400}? \(no account in the destination\)\s*")


@dataclass
class Outline:
    text: str  # every word in order, whitespace collapsed
    structure: list[str]  # the blocks that carry meaning: headings, list items, code, table cells, quotes
    images: list[str]  # the file names of the images it shows
    linked: int = 0  # images kept on another site: a migration shows them as a link (their alt text)


def outline(html: str, *, home: str = "") -> Outline:
    """What a reader sees of a rich text: its words, its meaningful blocks and its images. Inline formatting
    (colours, fonts, bold) and the wrapping of paragraphs (<div> or <p>) are not compared: the formats in between
    (Jira's document format, wiki markup) hold them differently. `home`: the organisation's URL; an image kept
    anywhere else is not uploaded by a migration but shown as a link, so it reads as its alt text."""
    words: list[str] = []
    structure: list[str] = []
    images: list[str] = []
    foreign: list[str] = []

    def walk(node: Element):
        for child in node.children:
            if isinstance(child, str):
                words.append(child)
                continue
            if child.tag == "img":
                src = child.attrs.get("src", "")
                match = re.search(r"[?&]fileName=([^&]+)", src, re.IGNORECASE)
                if home and src.lower().startswith(("http://", "https://")) and \
                        not src.lower().startswith(home.rstrip("/").lower() + "/"):
                    foreign.append(src)  # the link a migration makes shows its alt text, else its file name
                    words.append(f" {child.attrs.get('alt') or (match.group(1) if match else src)} ")
                    continue
                images.append(match.group(1) if match else child.attrs.get("alt", "") or "image")
                continue
            kind = BLOCKS.get(child.tag)
            if kind and kind != "paragraph":
                structure.append(kind)
            if kind or child.tag == "br":
                words.append(" ")
            walk(child)
            if kind:
                words.append(" ")

    walk(parse_html(str(html or "")))
    return Outline(collapse_whitespace("".join(words)).strip(), structure, images, len(foreign))


def _plain(html: str) -> str:
    return outline(html).text


def _description(source: Side, back: Side, chain: Chain, diff) -> None:
    want = outline(source.item.description, home=chain.original_base)
    have = outline(back.item.description)
    have.text = ATTRIBUTION.sub("", have.text)  # people with no Jira account named on top (see _people)
    if want.text != have.text:
        diff("description", DIFFERS, _shape(want.text), _shape(have.text),
             "The description's text changed on the way." if want.text else
             "The original has no description text; the round trip has some.", False)
    elif Counter(want.structure) != Counter(have.structure):
        diff("description", DIFFERS, _blocks(want.structure), _blocks(have.structure),
             "The same text, held in other blocks: Jira's rich text has no equivalent for some of them, so they "
             "come back as the nearest (formatting only).", True)
    if len(want.images) != len(have.images):
        diff("description", MISSING if len(have.images) < len(want.images) else EXTRA,
             f"{len(want.images)} inline image(s)", f"{len(have.images)} inline image(s)",
             "An image shown in the description did not come back.", False)
    if want.linked:
        diff("description", DIFFERS, f"{want.linked} image(s) shown from another site", f"{want.linked} link(s)",
             "An image kept outside the original organisation is not copied by a migration: Jira shows it as a "
             "link (its alt text), and so does the round trip.", True)


def _blocks(kinds: list[str]) -> str:
    counts = Counter(kinds)
    return ", ".join(f"{name}×{n}" for name, n in sorted(counts.items())) or "plain paragraphs"


# --- parent and links ---------------------------------------------------------------------------------------


def _parent(source: Side, middle, back: Side, chain: Chain, diff) -> None:
    original_parent = source.item.parent_id
    expected = chain.round_trip_of(original_parent) if original_parent else ""
    if (back.item.parent_id or "") == expected:
        return
    before = f"under #{original_parent}" if original_parent else "no parent"
    after = f"under #{back.item.parent_id}" if back.item.parent_id else "no parent"
    if original_parent and not chain.to_jira.get(original_parent):
        diff("parent", MISSING, before, after, f"The parent #{original_parent} did not reach Jira.", True)
        return
    if original_parent and not expected:
        diff("parent", MISSING, before, after, f"The parent #{original_parent} did not come back.", True)
        return
    jira_parent = middle.item.parent_id if middle else ""
    if middle and jira_parent != chain.to_jira.get(original_parent, ""):
        climbed = next((o for o, j in chain.to_jira.items() if j == jira_parent), "")
        if climbed:
            after += f" (the round trip of #{climbed})"
        level = _level(middle, chain)
        reason = (f"Jira takes a parent exactly one level up: a {_name(middle.type_refs)} (level {level}) cannot be "
                  f"under what #{original_parent} became, so run A put it under "
                  f"{f'#{climbed}' if climbed else 'no parent'}, the next level up.")
        diff("parent", DIFFERS if back.item.parent_id else MISSING, before, after, reason, bool(chain.levels_a))
        return
    diff("parent", DIFFERS if back.item.parent_id else MISSING, before, after,
         "Jira kept the parent; run B did not bring it back.", False)


def _canonical_links(side: Side, far_of) -> Counter:
    """(link type, far end) of the item's links between items, each as the item itself holds it."""
    out = Counter()
    for link in side.links:
        if link.is_external or "Hierarchy" in link.link_type_id:
            continue
        out[(link.link_type_id, far_of(link.to_item_id))] += 1
    return out


def _external(side: Side) -> Counter:
    """The item's links out of the tracker by (kind, address): a web link came back only if its address did."""
    return Counter((link.link_type_id, link.url.rstrip("/")) for link in side.links
                   if link.is_external and not link.comment.startswith(SOURCE_LINK))


def _links(source: Side, back: Side, chain: Chain, diff) -> None:
    want = _canonical_links(source, chain.round_trip_of)
    have = _canonical_links(back, lambda far: far)
    for (kind, far), n in sorted((want - have).items()):
        target = chain.plan_a.link_types.get(kind) or chain.plan_a.link_types.get(kind.replace("-Reverse",
                                                                                                 "-Forward"))
        if not far:
            reason, expected = "The item at its other end did not make the round trip.", True
        elif not target:
            reason, expected = f"Run A's mapping has no Jira link type for {kind}.", True
        else:
            back_types = {v for v in chain.plan_b.link_types.values()}
            expected = kind.replace("-Reverse", "-Forward") not in back_types
            reason = (f"Run A made it a Jira {target} link, which run B's mapping brings back as another type."
                      if expected else f"The {kind} link went to Jira as {target} and did not come back.")
        diff("links", MISSING, f"{n}× {kind} to #{far or '?'}", "none", reason, expected)
    for (kind, far), n in sorted((have - want).items()):
        diff("links", EXTRA, "none", f"{n}× {kind} to #{far}",
             "A link the original does not have (between the same items, another type or direction).", False)
    lost = Counter()
    for (kind, _url), n in (_external(source) - _external(back)).items():
        lost[kind] += n
    for kind, n in sorted(lost.items()):
        diff("links", MISSING, f"{n}× {kind} (outside the tracker)", "not among the round trip's",
             "A migration carries links between items only: links out of the tracker (web links, commits, "
             "builds) are not written to Jira (its one remote link points back at the original item), so the "
             "round trip has none but its link to the Jira issue.", True)


# --- comments and attachments -----------------------------------------------------------------------------


def _comments(source: Side, back: Side, chain: Chain, diff) -> None:
    found: dict[str, tuple[records.Comment, re.Match]] = {}
    others = 0
    for comment in back.comments:
        text = _plain(comment.body)
        match = COMMENT_HEADER.search(text[:400])
        if match:
            found.setdefault(match.group("comment"), (comment, match))
        elif not HISTORY_HEADER.match(text):
            others += 1
    missing = wrong_text = authors = dates = linked = 0
    named = dated = True
    for comment in source.comments:
        hit = found.get(comment.source_id)
        text = outline(comment.body, home=chain.original_base)
        linked += text.linked
        if hit is None:
            missing += 1
            continue
        back_comment, header = hit
        body = _plain(back_comment.body)
        body = body[body.find(header.group(0)) + len(header.group(0)):].strip()
        if body != text.text:
            wrong_text += 1
        who = comment.author
        if _person_key(back_comment.author) != _person_key(who):
            authors += 1
            named = named and bool(who) and header.group("name").strip() == who.display_name.strip()
        if comment.created_at and back_comment.created_at != comment.created_at:
            dates += 1
            dated = dated and header.group("date") == comment.created_at.strftime("%Y-%m-%d %H:%M")
    total = len(source.comments)
    if missing:
        diff("comments", MISSING, f"{total} comment(s)", f"{total - missing} found by their header",
             "A comment did not come back.", False)
    if wrong_text:
        diff("comments", DIFFERS, f"{total} comment(s)", f"{wrong_text} with another text",
             "A comment's text changed on the way (its first line, the attribution, aside).", False)
    if authors:
        diff("comment_author", DIFFERS, f"{total} comment(s) by their authors", f"{authors} by another account",
             "Jira writes every comment as the account that migrates: the original author is named in the "
             "comment's first line (“Originally written by …”), and run B keeps the Jira author."
             if named else "A comment's first line does not name its original author.", named)
    if dates:
        diff("comment_date", DIFFERS, f"{total} comment(s) at their dates", f"{dates} at the time of run A",
             "Jira sets a comment's date itself: the original date (to the minute, UTC) is in the comment's first "
             "line." if dated else "A comment's first line does not give its original date.", dated)
    if linked:
        diff("comments", DIFFERS, f"{linked} image(s) shown from another site", f"{linked} link(s)",
             "An image kept outside the original organisation is not copied by a migration: Jira shows it as a "
             "link, and so does the round trip.", True)
    if others:
        diff("comments", EXTRA, f"{total} comment(s)", f"{others} more",
             "Run B writes what Azure DevOps has no field for (entries of Jira's changelog of run A's writes, such "
             "as the resolution) as readable notes, and each note is a comment.", True)


def _inline_names(source: Side) -> set[str]:
    names = set(outline(source.item.description).images)
    for comment in source.comments:
        names |= set(outline(comment.body).images)
    return names


def _attachments(source: Side, back: Side, diff) -> None:
    want = Counter((a.filename, source.digests.get(a.source_id, "")) for a in source.attachments)
    have = Counter((a.filename, back.digests.get(a.source_id, "")) for a in back.attachments)
    missing, extra = want - have, have - want
    changed = 0
    for name, sha in list(missing.elements()):  # the same name with other bytes: one file that changed
        other = next((key for key in extra if key[0] == name), None)
        if other is not None:
            changed += 1
            missing[(name, sha)] -= 1
            extra[other] -= 1
    missing, extra = +missing, +extra
    total = sum(want.values())
    if changed:
        diff("attachments", DIFFERS, f"{total} file(s)", f"{changed} with the same name and other bytes (sha256)",
             "A file came back with other bytes.", False)
    if missing:
        diff("attachments", MISSING, f"{total} file(s)", f"{sum(missing.values())} not found (name and sha256)",
             "A file did not come back.", False)
    inline = _inline_names(source)
    unexplained = sum(n for (name, _), n in extra.items() if name not in inline)
    if extra:
        diff("attachments", EXTRA, f"{total} file(s)", f"{sum(extra.values())} more",
             "Images shown inline in the original (in its description or comments) are uploaded to Jira as "
             "attachments, so they come back attached as well as shown." if not unexplained else
             f"{unexplained} file(s) the original neither holds nor shows.", not unexplained)


def _person_key(person: records.Person | None) -> str:
    if person is None:
        return ""
    return (person.email or person.source_id).lower()


# --- tags, paths, people, fields ------------------------------------------------------------------------


def _tags(was: records.WorkItem, now: records.WorkItem, diff) -> None:
    want = Counter(was.labels)
    have = Counter(t for t in now.labels if not t.startswith(RUN_TAG))
    if want == have:
        return
    spaced = Counter(re.sub(r"\s+", "_", t.strip()) for t in was.labels)
    if spaced == have:
        diff("tags", DIFFERS, f"{sum(want.values())} tag(s)", f"{sum((want - have).values())} spelled otherwise",
             "Jira labels cannot hold spaces: a tag's spaces became underscores in Jira and stayed so.", True)
        return
    diff("tags", DIFFERS, f"{sum(want.values())} tag(s)",
         f"{sum(have.values())} tag(s): {sum((want - have).values())} missing, {sum((have - want).values())} more",
         "The tags did not come back.", False)


def _relative(path: str, root: str) -> list[str]:
    parts = [p for p in str(path or "").split("\\") if p]
    return parts[1:] if parts and parts[0] == root else parts


def _level(middle, chain: Chain) -> int | None:
    """The Jira issue's level in run A's type levels (named by id or name), None where not known."""
    levels = [chain.levels_a[ref] for ref in (middle.type_refs if middle else ()) if ref in chain.levels_a]
    return levels[0] if levels else None


def _paths(was: records.WorkItem, now: records.WorkItem, middle, chain: Chain, diff) -> None:
    area_was = _relative(was.fields.get("System.AreaPath"), chain.root_a)
    area_now = _relative(now.fields.get("System.AreaPath"), chain.root_b)
    if area_was != area_now:
        mapped = bool(chain.plan_a.areas) or "System.AreaPath" in chain.plan_a.fields
        diff("area", DIFFERS, _path_shape(area_was), _path_shape(area_now),
             "Jira components are a flat list: the area comes back by its last name under the project's root."
             if mapped and area_now and area_was[-1:] == area_now[-1:] else
             "Run A's mapping sends areas nowhere (no component rule), so the round trip is in the project's root."
             if not mapped else "The area did not come back.", not mapped or area_was[-1:] == area_now[-1:])
    iteration_was = _relative(was.fields.get("System.IterationPath"), chain.root_a)
    iteration_now = _relative(now.fields.get("System.IterationPath"), chain.root_b)
    if iteration_was != iteration_now:
        mapped = bool(chain.plan_a.iterations.get(was.iteration_id))
        same_leaf = bool(iteration_now) and iteration_was[-1:] == iteration_now[-1:]
        subtask = (_level(middle, chain) or 0) < 0
        if subtask and not same_leaf:
            reason = ("In Jira a sub-task is in its parent's sprint, not in one of its own: the round trip has the "
                      "iteration of its parent's sprint.")
        elif same_leaf:
            reason = ("Jira sprints are a flat list of one board: the iteration comes back by its name, with its "
                      "dates, directly under the project's root iteration.")
        elif not mapped:
            reason = ("Run A's mapping makes no sprint of this iteration (only iterations with dates become "
                      "sprints), so the round trip is in the project's root iteration.")
        else:
            reason = "The iteration did not come back."
        diff("iteration", DIFFERS, _path_shape(iteration_was), _path_shape(iteration_now), reason,
             same_leaf or subtask or not mapped)


def _path_shape(parts: list[str]) -> str:
    return f"{len(parts)} level(s) below the root, sha256 {_digest(chr(92).join(parts))}" if parts else "the root"


def _unique(value) -> str:
    if isinstance(value, dict):
        return str(value.get("uniqueName") or value.get("id") or "").lower()
    if isinstance(value, records.Person):
        return _person_key(value)
    return str(value or "").lower()


def _people(was: records.WorkItem, now: records.WorkItem, chain: Chain, diff) -> None:
    accounts = {str(k).lower() for k, v in chain.plan_a.people.items() if v}
    for check, field_id, before, after in (("assignee", "System.AssignedTo", was.assignee, now.assignee),
                                           ("created_by", "System.CreatedBy", was.created_by, now.created_by)):
        if _person_key(before) == _person_key(after):
            continue
        rule = chain.plan_a.fields.get(field_id)
        has_account = before is not None and bool({before.source_id.lower(), _person_key(before)} & accounts)
        if check == "assignee" and (rule is None or not rule.target_field):
            reason, expected = f"Run A's mapping has no rule for {field_id}: Jira never had the assignee.", True
        elif not has_account:
            reason, expected = ("The person has no Jira account in run A's mapping: Jira "
                                + ("keeps no assignee" if check == "assignee" else
                                   "makes the account that migrates the reporter")
                                + ", and the name is kept in the description's first line (“… (no account in "
                                  "the destination)”).", True)
        else:
            reason, expected = "The person went to Jira with an account and did not come back.", False
        diff(check, DIFFERS if after else MISSING, "a person" if before else "nobody",
             "another person" if after else "nobody", reason, expected)
    if was.created_at and now.created_at and was.created_at != now.created_at:
        diff("created_date", DIFFERS, "the original's creation date", "the time of run A",
             "Jira sets its own creation date when run A creates the issue; run B brings back Jira's.", True)


def _same(a, b) -> bool:
    if isinstance(a, dict) or isinstance(b, dict):
        return _unique(a) == _unique(b)
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a).strip() == str(b).strip()


def _fields(was: records.WorkItem, now: records.WorkItem, chain: Chain, diff) -> None:
    back_rules = {rule.source_field: rule for rule in chain.plan_b.fields.values()}
    for field_id in sorted(was.fields):
        value = was.fields[field_id]
        if field_id in OWN_CHECKS or value in (None, "", [], {}) or _same(value, now.fields.get(field_id)):
            continue
        rule_a = chain.plan_a.fields.get(field_id)
        target = rule_a.target_field if rule_a else ""
        rule_b = back_rules.get(target) if target else None
        if not target:
            reason, expected = f"Run A's mapping has no rule for {field_id}: Jira never had it.", True
        elif rule_b is None or not rule_b.target_field:
            reason, expected = (f"Run A wrote it into Jira's {target}; run B's mapping has no rule for {target}.",
                                True)
        elif rule_b.target_field != field_id:
            reason, expected = (f"Run A wrote it into Jira's {target}, which run B's mapping writes into "
                                f"{rule_b.target_field}.", True)
        else:
            reason, expected = f"It went to Jira's {target} and came back changed.", False
        present = now.fields.get(field_id) not in (None, "", [], {})
        diff("fields", DIFFERS if present else MISSING, field_id,
             f"{field_id} {'with another value' if present else 'empty'}", reason, expected)


CSV_COLUMNS = ("source_id", "round_trip_id", "check", "kind", "expected", "was", "now", "reason")


def round_trip_csv_rows(*, differences: list[RoundTripDifference]) -> Iterator[str]:
    """The report as CSV, line by line: unexpected differences first."""
    import csv

    from apps.runs.verification import _Echo, csv_cell

    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for d in sorted(differences, key=lambda d: (d.expected, _order(d.source_id), CHECKS.index(d.check))):
        yield writer.writerow([d.source_id, d.round_trip_id, d.check, d.kind, "yes" if d.expected else "no",
                               csv_cell(d.was), csv_cell(d.now), csv_cell(d.reason)])


def _order(source_id: str) -> tuple[int, str]:
    return (int(source_id), "") if source_id.isdigit() else (0, source_id)
