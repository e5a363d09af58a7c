"""The offline drafter: layer 1 (knowledge of the standard processes) then layer 2 (meaning, with the
local embedding model). Pure Python over the neutral schema (`Catalog`); the LLM layer, when an
organisation has one configured and has consented, refines what this leaves uncertain.

`mapping_draft()` returns one Proposal for every element of the source schema.
"""

import re
from collections.abc import Callable

from apps.connections.connectors.base import Catalog
from apps.connections.connectors.records import FieldDefinition, FieldType, StateCategory, WorkItemType
from apps.mappings.drafting import knowledge as k
from apps.mappings.drafting.proposals import Kind, Proposal, Transform
from apps.mappings.drafting.semantic import match_by_meaning

ADO = "azure_devops"
# An address an identity can have: Apache's Jira shows "breed at apache dot org", which is none.
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
JIRA_KINDS = ("jira_cloud", "jira_data_center")


def mapping_draft(
    *,
    source: Catalog,
    destination: Catalog,
    source_kind: str,
    destination_kind: str,
    similarity: Callable | None = None,
) -> list[Proposal]:
    return _drafter_for(source, destination, source_kind, destination_kind, similarity).draft()


def values_draft(
    *,
    source: Catalog,
    destination: Catalog,
    source_kind: str,
    destination_kind: str,
    source_field: str,
    target_field: str,
    similarity: Callable | None = None,
) -> list[Proposal]:
    """The value proposals for one pair of fields: what the draft holds for a field it mapped itself, for a
    field whose target a person chose by hand. Empty when either side has no fixed list of values."""
    drafter = _drafter_for(source, destination, source_kind, destination_kind, similarity)
    sf = next((f for f in source.fields if f.source_id == source_field), None)
    tf = next((f for f in destination.fields if f.source_id == target_field), None)
    if sf is None or tf is None or not sf.allowed_values or not tf.allowed_values:
        return []
    return drafter.value_proposals(sf, tf)


def _drafter_for(source, destination, source_kind, destination_kind, similarity) -> "_Drafter":
    if source_kind == ADO and destination_kind in JIRA_KINDS:
        return _AdoToJira(source, destination, similarity)
    if source_kind in JIRA_KINDS and destination_kind == ADO:
        return _JiraToAdo(source, destination, similarity)
    return _SameKind(source, destination, similarity)


class _Drafter:
    def __init__(self, source: Catalog, destination: Catalog, similarity):
        self.src = source
        self.dst = destination
        self.similarity = similarity
        self.proposals: list[Proposal] = []
        self.type_targets: dict[str, str | None] = {}
        self.field_proposals: dict[str, Proposal] = {}

    def draft(self) -> list[Proposal]:
        self.draft_types()
        self.draft_fields()
        self.draft_states()
        self.draft_values()
        self.draft_link_types()
        self.draft_iterations()
        self.draft_areas()
        self.draft_people()
        return self.proposals

    # -- helpers --------------------------------------------------------------------------------------
    def add(self, proposal: Proposal) -> Proposal:
        self.proposals.append(proposal)
        return proposal

    def match(self, left, right, **kwargs):
        return match_by_meaning(left, right, similarity=self.similarity, **kwargs)

    def dst_type(self, type_id: str) -> WorkItemType | None:
        return next((t for t in self.dst.work_item_types if t.source_id == type_id), None)

    # -- types ----------------------------------------------------------------------------------------
    def draft_types(self):
        left = [(t.source_id, t.name) for t in self.src.work_item_types if not t.disabled]
        right = [(t.source_id, t.name) for t in self.dst.work_item_types if not t.disabled]
        matches = self.match(left, right)
        for wit in self.src.work_item_types:
            if wit.disabled:
                continue
            m = matches.get(wit.source_id)
            target = self.dst_type(m.right) if m else None
            if target:
                self.type_targets[wit.source_id] = target.source_id
                self.add(Proposal(Kind.TYPE, wit.source_id, target.source_id, m.confidence,
                                  _meaning_reason(wit.name, target.name, m), "semantic",
                                  source_label=wit.name, target_label=target.name))
            else:
                self.type_targets[wit.source_id] = None
                self.add(Proposal(Kind.TYPE, wit.source_id, None, 0.5,
                                  "No type in the destination means the same; choose one or leave it out.",
                                  "fallback", source_label=wit.name))

    # -- fields ---------------------------------------------------------------------------------------
    def writable_destination_fields(self) -> list[FieldDefinition]:
        return [f for f in self.dst.fields if not f.read_only]

    def draft_fields(self):
        self.semantic_fields([f for f in self.src.fields], set())

    def semantic_fields(self, pending: list[FieldDefinition], claimed: set[str], *, exclude_roles=()):
        by_id = {f.source_id: f for f in self.writable_destination_fields()}
        right = [
            (f.source_id, k.display_name_of_field(f)) for f in by_id.values()
            if f.source_id not in claimed and self.destination_role(f) not in exclude_roles
        ]
        sources = {f.source_id: f for f in pending}
        matches = self.match(
            [(f.source_id, k.display_name_of_field(f)) for f in pending],
            right,
            compatible=lambda a, b: k.transform_between(sources[a], by_id[b]) is not None,
            prefer=lambda a, b: k.type_affinity(sources[a], by_id[b]),
        )
        for sf in pending:
            m = matches.get(sf.source_id)
            if m:
                target = by_id[m.right]
                claimed.add(target.source_id)
                proposal = Proposal(Kind.FIELD, sf.source_id, target.source_id, m.confidence,
                                    _meaning_reason(sf.name, target.name, m), "semantic",
                                    transform=k.transform_between(sf, target), source_label=sf.name,
                                    target_label=target.name)
                _warn_lossy(proposal, sf, target)
            else:
                proposal = self.unmatched_field(sf)
            self.field_proposals[sf.source_id] = self.add(proposal)

    def destination_role(self, field: FieldDefinition) -> str | None:
        return None

    def unmatched_field(self, sf: FieldDefinition) -> Proposal:
        if sf.read_only:
            return Proposal(Kind.FIELD, sf.source_id, None, 0.8,
                            "Read-only in the source and nothing in the destination matches; kept in the history.",
                            "fallback", transform=Transform.HISTORY, source_label=sf.name)
        return Proposal(Kind.FIELD, sf.source_id, None, 0.7,
                        "No field in the destination holds this, and a run does not carry it yet (a table under the "
                        "description is planned): choose a field to keep its value.",
                        "fallback", transform=Transform.JOIN_DESCRIPTION, source_label=sf.name)

    # -- states ---------------------------------------------------------------------------------------
    def destination_states(self, target_type_id: str | None):
        target = self.dst_type(target_type_id) if target_type_id else None
        if target and target.states:
            return list(target.states)
        seen, states = set(), []
        for t in self.dst.work_item_types:
            for s in t.states:
                if s.name not in seen:
                    seen.add(s.name)
                    states.append(s)
        return states

    def draft_states(self):
        for wit in self.src.work_item_types:
            if wit.disabled:
                continue
            target_type = self.type_targets.get(wit.source_id)
            candidates = self.destination_states(target_type)
            for state in wit.states:
                self.add(self.state_proposal(wit, state, candidates))

    def state_proposal(self, wit, state, candidates) -> Proposal:
        base = dict(kind=Kind.STATE, source=state.name, scope=wit.source_id, source_label=state.name)
        if not candidates:
            return Proposal(target=None, confidence=0.3, layer="fallback",
                            reason="The destination type has no statuses to choose from.", **base)
        same_name = [c for c in candidates if k.normalise(c.name) == k.normalise(state.name)]
        if same_name:
            c = same_name[0]
            if c.category == state.category or state.category == StateCategory.REMOVED:
                return Proposal(target=c.name, confidence=0.95, layer="standard", target_label=c.name,
                                reason=f"Same status name, in the same category ({c.category}).", **base)
        names = {k.normalise(c.name): c for c in candidates}
        for synonym in k.STATE_SYNONYMS.get(k.normalise(state.name), ()):
            c = names.get(synonym)
            if c is not None and c.category == state.category:
                return Proposal(target=c.name, confidence=0.9, layer="standard", target_label=c.name,
                                reason=f"'{state.name}' is the '{c.name}' step of the workflow.", **base)
        if state.category == StateCategory.REMOVED:
            done = [c for c in candidates if c.category == StateCategory.DONE]
            removed_like = [c for c in done if any(w in k.normalise(c.name) for w in k.REMOVED_WORDS)]
            if removed_like:
                return Proposal(target=removed_like[0].name, confidence=0.86, layer="standard",
                                target_label=removed_like[0].name,
                                reason="Removed items are done without being done: the status that says so.", **base)
            if done:
                p = Proposal(target=done[0].name, confidence=0.55, layer="fallback", target_label=done[0].name,
                             reason="The destination has no 'removed' status; removed items are closed.", **base)
                p.warnings.append("Removed items will look done; add a label or resolution to tell them apart.")
                return p
        same_category = [c for c in candidates if c.category == state.category]
        pool = same_category or candidates
        m = self.match([(state.name, state.name)], [(c.name, c.name) for c in pool]).get(state.name)
        if m:
            confidence = m.confidence if same_category else min(m.confidence, 0.6)
            return Proposal(target=m.right, confidence=confidence, layer="semantic", target_label=m.right,
                            reason=_meaning_reason(state.name, m.right, m)
                            + (f" Both are '{state.category}'." if same_category else ""), **base)
        first = pool[0]
        return Proposal(target=first.name, confidence=0.6 if same_category else 0.3, layer="fallback",
                        target_label=first.name,
                        reason=(f"The first '{state.category}' status of the destination type." if same_category
                                else "No status of the same category; check this one."), **base)

    # -- values ---------------------------------------------------------------------------------------
    def draft_values(self):
        dst_fields = {f.source_id: f for f in self.dst.fields}
        src_fields = {f.source_id: f for f in self.src.fields}
        for fid, proposal in list(self.field_proposals.items()):
            if proposal.transform != Transform.MAP_VALUES or not proposal.target:
                continue
            sf, tf = src_fields[fid], dst_fields.get(proposal.target)
            if not sf.allowed_values or tf is None:
                continue
            if not tf.allowed_values:
                continue  # a free list (versions, labels): values are created as they come
            for value_proposal in self.value_proposals(sf, tf):
                self.add(value_proposal)

    def value_proposals(self, sf: FieldDefinition, tf: FieldDefinition) -> list[Proposal]:
        return [Proposal(Kind.VALUE, str(value), target, confidence, reason, layer, scope=sf.source_id,
                         source_label=str(value), target_label=target or "")
                for value, target, confidence, reason, layer in self.value_matches(sf, tf)]

    def value_matches(self, sf: FieldDefinition, tf: FieldDefinition):
        targets = {k.normalise(v): v for v in tf.allowed_values}
        pending = []
        for value in sf.allowed_values:
            known = self.known_value(sf, str(value), targets)
            if known:
                yield value, known, 0.9, "The standard correspondence of these scales.", "standard"
                continue
            bare = k.normalise(_strip_rank(str(value)))
            if k.normalise(str(value)) in targets or bare in targets:
                target = targets.get(k.normalise(str(value))) or targets[bare]
                yield value, target, 0.93, "The same value.", "standard"
                continue
            pending.append(str(value))
        matches = self.match([(v, _strip_rank(v)) for v in pending], [(v, v) for v in tf.allowed_values])
        for value in pending:
            m = matches.get(value)
            if m:
                yield value, m.right, m.confidence, _meaning_reason(value, m.right, m), "semantic"
            else:
                yield value, None, 0.3, "No value of the destination means this; choose one.", "fallback"

    def known_value(self, sf, value, targets) -> str | None:
        return None

    # -- structure and people -------------------------------------------------------------------------
    def draft_link_types(self):
        pass

    def draft_iterations(self):
        existing = {k.normalise(i.name): i for i in self.dst.iterations}
        for it in self.src.iterations:
            hit = existing.get(k.normalise(it.name))
            if hit:
                self.add(Proposal(Kind.ITERATION, it.source_id, hit.source_id, 0.9,
                                  "A sprint or iteration of the same name exists; items join it.", "standard",
                                  transform=Transform.ITERATION, source_label=it.path or it.name, target_label=hit.name))
            else:
                self.add(Proposal(Kind.ITERATION, it.source_id, f"create:{it.name}", 0.9,
                                  "Created in the destination with the same name and dates, in order.", "standard",
                                  transform=Transform.CREATE, source_label=it.path or it.name, target_label=it.name))

    def draft_areas(self):
        existing = {k.normalise(a.name): a for a in self.dst.areas}
        for area in self.src.areas:
            hit = existing.get(k.normalise(area.name))
            if hit:
                self.add(Proposal(Kind.AREA, area.source_id, hit.source_id, 0.9,
                                  "An area or component of the same name exists.", "standard",
                                  transform=Transform.AREA, source_label=area.path or area.name, target_label=hit.name))
            else:
                self.add(Proposal(Kind.AREA, area.source_id, f"create:{area.name}", 0.88,
                                  "Created in the destination with the same name.", "standard",
                                  transform=Transform.CREATE, source_label=area.path or area.name, target_label=area.name))

    def draft_people(self):
        by_email = {p.email.lower(): p for p in self.dst.people if p.email and p.active}
        by_name = {}
        for p in self.dst.people:
            if p.active and p.display_name:
                by_name.setdefault(k.normalise(p.display_name), []).append(p)
        for person in self.src.people:
            label = person.display_name or person.source_id
            hit = by_email.get(person.email.lower()) if person.email else None
            if hit:
                self.add(Proposal(Kind.PERSON, person.source_id, hit.source_id, 0.98, "Same e-mail address.",
                                  "standard", transform=Transform.PERSON, source_label=label,
                                  target_label=hit.display_name))
                continue
            same_name = by_name.get(k.normalise(person.display_name), []) if person.display_name else []
            if len(same_name) == 1:
                self.add(Proposal(Kind.PERSON, person.source_id, same_name[0].source_id, 0.8,
                                  "Same name (the destination hides e-mail addresses or they differ): check it.",
                                  "standard", transform=Transform.PERSON, source_label=label,
                                  target_label=same_name[0].display_name))
                continue
            reason = ("Several people in the destination have this name; choose one."
                      if len(same_name) > 1 else
                      "No account in the destination; the name is kept as text on what they wrote.")
            proposal = Proposal(Kind.PERSON, person.source_id, None, 0.7, reason, "fallback",
                                transform=Transform.ATTRIBUTION, source_label=label)
            if not person.active or person.is_deleted:
                proposal.reason = "Has left (inactive or deleted in the source); the name is kept as text."
            self.add(proposal)


class _AdoToJira(_Drafter):
    def draft_types(self):
        process = self.src.project.process
        by_role: dict[str, WorkItemType] = {}
        for t in self.dst.work_item_types:
            if not t.disabled:
                by_role.setdefault(k.jira_type_role(t), t)
        roles = {t.source_id: k.ado_type_role(t, process) for t in self.src.work_item_types}
        has_initiative = "initiative" in by_role
        leftovers = []
        for wit in self.src.work_item_types:
            if wit.disabled:
                continue
            role = roles[wit.source_id]
            chosen = None
            for jira_role, confidence, reason in k.ADO_TO_JIRA_TYPES.get(role, []):
                if jira_role == "initiative" and not has_initiative:
                    continue
                if jira_role in by_role:
                    chosen = (by_role[jira_role], confidence, reason)
                    break
            if role == "epic" and chosen and k.jira_type_role(chosen[0]) == "epic" and "feature" in roles.values():
                target, _, _ = chosen
                chosen = (target, 0.86, "Jira has one epic level: ADO Epics and Features both become epics, and "
                                        "an Epic's link to its Features is kept as a 'relates' link.")
            if chosen:
                target, confidence, reason = chosen
                self.type_targets[wit.source_id] = target.source_id
                self.add(Proposal(Kind.TYPE, wit.source_id, target.source_id, confidence, reason, "standard",
                                  source_label=wit.name, target_label=target.name))
            elif role in ("test", "tooling"):
                self.type_targets[wit.source_id] = None
                self.add(Proposal(Kind.TYPE, wit.source_id, None, 0.9,
                                  "Test management and code-review items have no place in Jira Software; left out "
                                  "unless you choose a type for them.", "standard", source_label=wit.name))
            else:
                leftovers.append(wit)
        if leftovers:
            saved = self.src.work_item_types
            self.src = _replace_types(self.src, leftovers)
            super().draft_types()
            self.src = _replace_types(self.src, saved)

    def destination_role(self, field):
        return k.jira_field_role(field)

    def draft_fields(self):
        by_role: dict[str, FieldDefinition] = {}
        for f in self.writable_destination_fields():
            role = k.jira_field_role(f)
            if role:
                by_role.setdefault(role, f)
        claimed: set[str] = set()
        pending: list[FieldDefinition] = []
        src_ids = {f.source_id for f in self.src.fields}
        for sf in self.src.fields:
            if sf.source_id in k.ADO_NOT_A_FIELD:
                transform, reason = k.ADO_NOT_A_FIELD[sf.source_id]
                self.field_proposals[sf.source_id] = self.add(Proposal(
                    Kind.FIELD, sf.source_id, None, 0.95, reason, "standard", transform=transform, source_label=sf.name))
                continue
            if sf.source_id in k.ADO_SYSTEM_MANAGED:
                self.field_proposals[sf.source_id] = self.add(Proposal(
                    Kind.FIELD, sf.source_id, None, 0.95, "Managed by Azure DevOps itself; nothing to carry.",
                    "standard", transform=Transform.DROP, source_label=sf.name))
                continue
            pair = self.knowledge_pair(sf, by_role, claimed, src_ids)
            if pair:
                target, transform, reason = pair
                claimed.add(target.source_id)
                proposal = Proposal(Kind.FIELD, sf.source_id, target.source_id, 0.95, reason, "standard",
                                    transform=transform, source_label=sf.name, target_label=target.name)
                _warn_lossy(proposal, sf, target)
                self.field_proposals[sf.source_id] = self.add(proposal)
            else:
                pending.append(sf)
        # Roles Jira handles through its own mechanics never take a field by meaning.
        self.semantic_fields(pending, claimed, exclude_roles=(
            "status", "issuetype", "parent", "project", "comment", "attachment", "issuelinks", "subtasks",
            "worklog", "epic_link", "rank", "sprint", "created", "updated", "creator", "resolutiondate",
            "timetracking", "security", "votes", "watches"))

    def knowledge_pair(self, sf, by_role, claimed, src_ids):
        for ado_ref, role, transform, reason in k.FIELD_PAIRS:
            if ado_ref != sf.source_id:
                continue
            target = by_role.get(role)
            if target is None or target.source_id in claimed:
                return None
            # A role several ADO fields can fill goes to the first of them the source has.
            first = next(a for a, r, _, _ in k.FIELD_PAIRS if r == role and a in src_ids)
            if first != sf.source_id:
                return None
            return target, transform, reason
        return None

    def known_value(self, sf, value, targets):
        if sf.source_id == "Microsoft.VSTS.Common.Priority":
            wanted = k.ADO_PRIORITY_TO_JIRA.get(str(value).split(".")[0])
            return targets.get(wanted) if wanted else None
        return None

    def draft_link_types(self):
        by_name = {k.normalise(lt.name): lt for lt in self.dst.link_types}
        by_outward = {k.normalise(lt.outward): lt for lt in self.dst.link_types if lt.outward}
        for lt in self.src.link_types:
            ref = lt.source_id.lower()
            if ref in k.ADO_LINKS_NOT_LINK_TYPES:
                self.add(Proposal(Kind.LINK_TYPE, lt.source_id, None, 0.95, k.ADO_LINKS_NOT_LINK_TYPES[ref],
                                  "standard", source_label=lt.name))
                continue
            known = k.ADO_TO_JIRA_LINKS.get(ref)
            target = (by_name.get(known[0]) or by_outward.get(known[1])) if known else None
            if target:
                self.add(Proposal(Kind.LINK_TYPE, lt.source_id, target.source_id, 0.93,
                                  f"'{lt.name}' is Jira's '{target.name}'.", "standard",
                                  source_label=lt.name, target_label=target.name))
                continue
            relates = by_name.get("relates")
            m = self.match([(lt.source_id, lt.name)], [(t.source_id, t.name) for t in self.dst.link_types]).get(lt.source_id)
            if m:
                t = next(x for x in self.dst.link_types if x.source_id == m.right)
                self.add(Proposal(Kind.LINK_TYPE, lt.source_id, t.source_id, m.confidence,
                                  _meaning_reason(lt.name, t.name, m), "semantic", source_label=lt.name, target_label=t.name))
            elif relates:
                self.add(Proposal(Kind.LINK_TYPE, lt.source_id, relates.source_id, 0.6,
                                  "No link type of the same meaning; kept as 'relates to'.", "fallback",
                                  source_label=lt.name, target_label=relates.name))
            else:
                self.add(Proposal(Kind.LINK_TYPE, lt.source_id, None, 0.4, "No link type to carry this.", "fallback",
                                  source_label=lt.name))


class _JiraToAdo(_Drafter):
    """The other direction uses the same knowledge read backwards: a Jira role finds the ADO field that
    fills it first (Story Points on Agile, Effort on Scrum, Size on CMMI)."""

    JIRA_TO_ADO_TYPES = {
        "epic": ["epic"], "initiative": ["epic"], "story": ["requirement"], "task": ["requirement", "task"],
        "bug": ["bug", "requirement"], "subtask": ["task"], "improvement": ["requirement"],
        "new_feature": ["requirement", "feature"],
    }

    def draft_types(self):
        process = self.dst.project.process
        by_role: dict[str, WorkItemType] = {}
        for t in self.dst.work_item_types:
            if not t.disabled:
                by_role.setdefault(k.ado_type_role(t, process), t)
        leftovers = []
        for wit in self.src.work_item_types:
            role = k.jira_type_role(wit)
            target = next((by_role[r] for r in self.JIRA_TO_ADO_TYPES.get(role, []) if r in by_role), None)
            if target:
                self.type_targets[wit.source_id] = target.source_id
                self.add(Proposal(Kind.TYPE, wit.source_id, target.source_id, 0.9,
                                  f"Jira's {wit.name} plays the part of {target.name} in this process.", "standard",
                                  source_label=wit.name, target_label=target.name))
            else:
                leftovers.append(wit)
        if leftovers:
            saved = self.src.work_item_types
            self.src = _replace_types(self.src, leftovers)
            super().draft_types()
            self.src = _replace_types(self.src, saved)

    def draft_link_types(self):
        by_ref = {lt.source_id.lower(): lt for lt in self.dst.link_types if not lt.is_hierarchy}
        for lt in self.src.link_types:
            known = k.JIRA_TO_ADO_LINKS.get(k.normalise(lt.name))
            target = by_ref.get(known[0]) if known else None
            if target:
                self.add(Proposal(Kind.LINK_TYPE, lt.source_id, target.source_id, 0.93, known[1], "standard",
                                  source_label=lt.name, target_label=target.name))
                continue
            related = by_ref.get("system.linktypes.related")
            self.add(Proposal(Kind.LINK_TYPE, lt.source_id, related.source_id if related else None,
                              0.6 if related else 0.4,
                              "No relation of the same meaning; kept as Related." if related else
                              "No relation type to carry this.", "fallback", source_label=lt.name,
                              target_label=related.name if related else ""))

    def draft_people(self):
        """Azure DevOps lists no people per project (its scan knows only those its items name), and an
        identity's unique name is the e-mail address: with nobody listed, a Jira person whose address is
        visible goes to that address (checked by the run against the organisation's identities)."""
        if self.dst.people:
            return super().draft_people()
        for person in self.src.people:
            label = person.display_name or person.source_id
            if _ADDRESS.match(person.email or "") and person.active and not person.is_deleted:
                self.add(Proposal(Kind.PERSON, person.source_id, person.email.lower(), 0.75,
                                  "Same e-mail address (Azure DevOps does not list its people: check they have an "
                                  "account there).", "standard", transform=Transform.PERSON, source_label=label,
                                  target_label=person.email.lower()))
                continue
            reason = ("Has left (inactive or deleted in the source); the name is kept as text."
                      if not person.active or person.is_deleted else
                      f"Jira shows '{person.email}', not an e-mail address (masked), and Azure DevOps lists no "
                      "people to match a name with: choose their account, or keep the name as text."
                      if person.email else
                      "Jira hides their e-mail address, and Azure DevOps lists no people to match a name with: "
                      "choose their account, or keep the name as text.")
            self.add(Proposal(Kind.PERSON, person.source_id, None, 0.7, reason, "fallback",
                              transform=Transform.ATTRIBUTION, source_label=label))

    def draft_values(self):
        super().draft_values()
        # ADO's Priority is a number 1-4 whose values its scan does not list: Jira's default scheme read backwards.
        numbers = {name: number for number, name in k.ADO_PRIORITY_TO_JIRA.items()} | {"lowest": "4"}
        dst = next((f for f in self.dst.fields if f.source_id == "Microsoft.VSTS.Common.Priority"), None)
        if dst is None or dst.allowed_values:
            return
        src_fields = {f.source_id: f for f in self.src.fields}
        for fid, proposal in self.field_proposals.items():
            if proposal.target != dst.source_id or proposal.transform != Transform.MAP_VALUES:
                continue
            for value in src_fields[fid].allowed_values:
                number = numbers.get(k.normalise(str(value)))
                self.add(Proposal(Kind.VALUE, str(value), number, 0.9 if number else 0.3,
                                  "The standard correspondence of these scales." if number else
                                  "No priority of the destination means this; choose one.",
                                  "standard" if number else "fallback", scope=fid, source_label=str(value),
                                  target_label=number or ""))

    def used_types(self) -> list[WorkItemType]:
        """The destination types the draft maps source types onto."""
        return [t for t in (self.dst_type(tid) for tid in dict.fromkeys(self.type_targets.values()) if tid) if t]

    def writable_destination_fields(self) -> list[FieldDefinition]:
        """Only fields one of the types in use has: Azure DevOps refuses a field the item's type lacks (a Scrum
        project has Original Estimate in its field list, and on none of its types). A type whose fields the scan
        does not list may have any."""
        used = self.used_types()
        if not used or any(not t.field_ids for t in used):
            return super().writable_destination_fields()
        on_some = set().union(*(t.field_ids for t in used))
        return [f for f in super().writable_destination_fields() if f.source_id in on_some]

    def warn_types_lacking(self):
        """A field mapped onto a field some of the types in use lack: those items' values are left out (the run
        says so per type and field); the row says which types, and what is kept instead."""
        names = {t.source_id: t.name for t in self.src.work_item_types}
        fields = {f.source_id: f for f in self.dst.fields}
        for proposal in self.field_proposals.values():
            if not proposal.target:
                continue
            lacking = [t for t in self.used_types() if t.field_ids and proposal.target not in t.field_ids]
            for wit in lacking:
                sources = sorted(names.get(s, s) for s, t in self.type_targets.items() if t == wit.source_id)
                kept = (" The logged work stays in each item's worklog CSV attachment." if proposal.transform in
                        (Transform.HOURS_TO_SECONDS, Transform.WORKLOG) else "")
                label = fields[proposal.target].name if proposal.target in fields else proposal.target
                proposal.warnings.append(f"{wit.name} has no '{label}' field: the value of {', '.join(sources)} items "
                                         f"(which become {wit.name}) is left out.{kept}")

    def draft_fields(self):
        self._draft_fields()
        self.warn_types_lacking()

    def _draft_fields(self):
        dst_ids = {f.source_id: f for f in self.writable_destination_fields()}
        claimed: set[str] = set()
        pending = []
        for sf in self.src.fields:
            role = k.jira_field_role(sf)
            if role == "fixVersions" and "System.Tags" in dst_ids:
                # Most process types have no field for a release: a tag per version, unless the reviewer
                # chooses a field (Integration Build, a custom field), which then holds the names joined by "; ".
                self.field_proposals[sf.source_id] = self.add(Proposal(
                    Kind.FIELD, sf.source_id, "System.Tags", 0.8, "Each fix version becomes a tag of the same "
                    "name; choose a field instead to keep them there (the names joined by “; ”).", "standard",
                    transform=Transform.VALUES_TO_TAGS, source_label=sf.name,
                    target_label=dst_ids["System.Tags"].name))
                continue
            pair = next(((a, t, r) for a, rl, t, r in k.FIELD_PAIRS if rl == role and a in dst_ids
                         and a not in claimed), None) if role else None
            if pair:
                ado_ref, transform, reason = pair
                if role in k.VERSION_LISTS:  # the names joined in the field, each change of them replayed
                    transform = Transform.VALUES_TO_TAGS
                    reason = (f"The versions' names go into {dst_ids[ado_ref].name}, joined by “; ” (a build field "
                              "holds a release's name).")
                claimed.add(ado_ref)
                self.field_proposals[sf.source_id] = self.add(Proposal(
                    Kind.FIELD, sf.source_id, ado_ref, 0.93, reason, "standard", transform=transform,
                    source_label=sf.name, target_label=dst_ids[ado_ref].name))
            elif role in ("status", "issuetype", "parent", "comment", "attachment", "issuelinks", "subtasks",
                          "project", "created", "creator", "updated", "epic_link", "rank", "worklog"):
                self.field_proposals[sf.source_id] = self.add(Proposal(
                    Kind.FIELD, sf.source_id, None, 0.95, "Carried by its own mapping (type, state, hierarchy, "
                    "comments, attachments, links or history).", "standard", transform=Transform.DROP,
                    source_label=sf.name))
            else:
                pending.append(sf)
        self.semantic_fields(pending, claimed)


class _SameKind(_Drafter):
    pass


def _replace_types(catalog: Catalog, types) -> Catalog:
    from dataclasses import replace

    return replace(catalog, work_item_types=list(types))


def _strip_rank(value: str) -> str:
    # "1 - Critical" -> "Critical", "2 - High" -> "High"
    head, sep, tail = value.partition(" - ")
    return tail if sep and head.strip().isdigit() else value


def _meaning_reason(left: str, right: str, m) -> str:
    if m.same_words:
        return f"'{left}' and '{right}' are the same name."
    return f"'{left}' reads like '{right}' (similarity {m.similarity:.2f}); check it."


def _warn_lossy(proposal: Proposal, source: FieldDefinition, target: FieldDefinition):
    if proposal.transform == Transform.TO_PLAIN_TEXT:
        proposal.warnings.append("Rich text into a one-line field: formatting is lost and long text is cut.")
    if source.type == FieldType.DECIMAL and target.type == FieldType.INTEGER:
        proposal.warnings.append("Decimals are rounded to whole numbers.")
    if source.type == FieldType.DATETIME and target.type == FieldType.DATE:
        proposal.warnings.append("The time of day is dropped.")
    if source.is_multi_value and not target.is_multi_value and target.type != FieldType.TEXT:
        proposal.warnings.append("Only the first of several values fits.")
