"""One source item -> what will be written (records.ItemWrite), with every warning the preview shows.

Plain functions over a WorkItem and the MappingPlan. Fields the neutral model names (title, description,
state, assignee, priority, tags, area, iteration) are routed by the rule's target field; every other
source field goes through its FieldRule's transform into `fields`.
"""

import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from apps.connections.connectors import records
from apps.mappings.drafting.proposals import Transform
from apps.mappings.plan import FieldRule, MappingPlan
from apps.mappings.transforms import PersonTarget, adf_to_html, html_to_adf, html_to_wiki, wiki_to_html

SUMMARY_MAX = 255
TEXT_MAX = 32767  # Jira's limit for a text field (and a description)
PLAIN_FIELD_MAX = 255
# Targets the ItemWrite has a place for; anything else lands in `fields`.
SUMMARY, DESCRIPTION, ASSIGNEE, REPORTER, PRIORITY, LABELS, COMPONENTS, STATUS = (
    "summary", "description", "assignee", "reporter", "priority", "labels", "components", "status")
SPRINT_TARGETS = {"sprint", "customfield_10020"}
# Azure DevOps fields that play the parts above (the Jira -> Azure DevOps direction routes by the same roles).
ADO_ROLES = {"System.Title": SUMMARY, "System.Description": DESCRIPTION, "System.AssignedTo": ASSIGNEE,
             "System.CreatedBy": REPORTER, "Microsoft.VSTS.Common.Priority": PRIORITY, "System.Tags": LABELS,
             "System.AreaPath": COMPONENTS, "System.IterationPath": "sprint", "System.State": STATUS}
TITLE_FIELDS = ("System.Title", "summary")
DESCRIPTION_FIELDS = ("System.Description", "description")


@dataclass
class Warning:
    code: str  # value_unmapped, text_cut, person_no_account, attachment_too_large, formatting, ...
    message: str  # names fields and values of the schema, never ticket text


@dataclass
class Draft:
    write: records.ItemWrite | None  # None: the item's type is not migrated
    warnings: list[Warning] = field(default_factory=list)
    sprint_source_id: str = ""

    @property
    def payload_sha256(self) -> str:
        return payload_hash(self.write) if self.write else ""


def payload_hash(write: Any) -> str:
    """A stable hash of what was written: in the id map instead of the content itself."""
    def default(value):
        if isinstance(value, datetime | date):
            return value.isoformat()
        if hasattr(value, "__dataclass_fields__"):
            return {k: getattr(value, k) for k in value.__dataclass_fields__}
        return str(value)
    blob = json.dumps(write, default=default, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", text or "")).strip()


def _cut(value: str, limit: int, what: str, warnings: list[Warning]) -> str:
    if len(value) > limit:
        warnings.append(Warning("text_cut", f"{what} is longer than {limit} characters and will be cut "
                                f"(by {len(value) - limit})."))
        return value[:limit]
    return value


def _neutral(value: Any) -> Any:
    """A Jira field value as the mapping knows it: an option or version by its name, a user as a Person."""
    if isinstance(value, list):
        return [_neutral(v) for v in value]
    if isinstance(value, dict):
        if value.get("accountId") or ("displayName" in value and (value.get("key") or value.get("name"))):
            return records.Person(source_id=str(value.get("accountId") or value.get("name") or value.get("key")),
                                  display_name=str(value.get("displayName") or ""))
        return value.get("value") or value.get("name") or value.get("id")
    return value


class Drafter:
    """Builds ItemWrites for one run. `rich_text` is "adf" (Jira Cloud), "wiki" (Data Center) or "html"
    (Azure DevOps, from a Jira source: rich text converted from ADF or wiki markup)."""

    def __init__(self, plan: MappingPlan, *, rich_text: str = "adf", components: dict[str, str] | None = None,
                 sprints: dict[str, str] | None = None, mentioned=None):
        self.plan = plan
        # a mention's reference -> the source's records.Person (or None): a Data Center "[~jdoe]" names the user
        # name, while people are mapped by their key and shown by their display name
        self._mentioned = mentioned
        self.rich_text = rich_text
        self.to_ado = rich_text == "html"
        self.components = components or {}  # source area id -> destination component id
        self.sprints = sprints or {}  # source iteration id -> destination sprint id
        self.by_target = {self.role(rule.target_field): rule for rule in plan.fields.values() if rule.target_field}
        # destination type -> the fields it has, where the destination says (Azure DevOps refuses any other)
        self.type_fields: dict[str, frozenset[str]] = {}

    def role(self, target: str | None) -> str | None:
        return ADO_ROLES.get(target, target) if self.to_ado and target else target

    # -- people and values -------------------------------------------------------------------------------
    def person(self, person: records.Person | None, what: str, warnings: list[Warning],
               attributions: list[str] | None = None) -> str:
        """The destination account for a source person. One with no account goes where the mapping says
        (plan.departed): the default person, nobody, or their own identity as an inactive account (a
        destination that takes one); in the first two cases their name is kept as attribution text."""
        if person is None:
            return ""
        target = self.plan.people.get(person.source_id)
        if target:
            return target
        name = person.display_name or person.source_id
        choice = self.plan.departed.get(person.source_id) or ("default_person" if self.plan.default_person
                                                              else "attribution")
        if choice == "inactive_account":
            warnings.append(Warning("person_inactive", f"{what}: {name} has no active account in the destination; "
                                    "they are written as an inactive account. The destination connection's account "
                                    "needs Azure DevOps' “Bypass rules on work item updates” permission for this, "
                                    "which cannot be checked before the run: without it Azure DevOps refuses the "
                                    "item, shown as a failed item with its words."))
            # Azure DevOps keeps "Name <e-mail>" as the identity when the write bypasses rules.
            if person.email and person.display_name:
                return f"{person.display_name} <{person.email}>"
            return person.email or person.display_name or person.source_id
        if attributions is not None:
            attributions.append(f"{what}: {name}")
        if choice == "default_person" and self.plan.default_person:
            warnings.append(Warning("person_default", f"{what}: {name} has no account in the destination; the "
                                    "default person is used and the name is kept as text."))
            return self.plan.default_person
        if person.source_id in self.plan.people or person.source_id in self.plan.departed:
            warnings.append(Warning("person_no_account", f"{what}: {name} has no account in the destination; "
                                    "the name is kept as text."))
        else:
            warnings.append(Warning("person_no_account", f"{what}: {name} is not mapped to an account and there "
                                    "is no default person; the name is kept as text."))
        return ""

    def description_header(self, item: records.WorkItem) -> str:
        """The attribution line `draft` puts above the description (people with no account), for a rewrite of
        the description (inline images) to keep it."""
        attributions: list[str] = []
        scratch: list[Warning] = []
        if self._wants(ASSIGNEE, "System.AssignedTo", "assignee"):
            self.person(item.assignee, "Assigned to", scratch, attributions)
        if self._wants(REPORTER, "System.CreatedBy", "reporter"):
            self.person(item.created_by or item.reporter, "Created by", scratch, attributions)
        return self.attribution_html(attributions)

    def attribution_html(self, attributions: list[str]) -> str:
        if not attributions:
            return ""
        return ("<p><em>" + html.escape(" · ".join(attributions)) + " (no account in the destination)</em></p>")

    def mapped_value(self, rule: FieldRule, value: Any, warnings: list[Warning]) -> Any:
        key = str(value)
        if key in rule.values:
            return rule.values[key]
        warnings.append(Warning("value_unmapped", f"Value “{key}” of {rule.source_field} has no mapping; it is "
                                "left out."))
        return None

    def mention(self, source_id: str, display_name: str) -> PersonTarget | None:
        """A mention of a source person as the destination's mention, through the people mapping. A mention
        that names only the user ("[~jdoe]" on Data Center) is the person the source says it is: mapped by
        their id, shown by their display name (mapped or not)."""
        target = self.plan.people.get(source_id) or self.plan.people.get(source_id.lower())
        unnamed = not display_name or display_name == source_id
        person = self._mentioned(source_id) if self._mentioned and (unnamed or not target) else None
        if person is not None:
            target = target or self.plan.people.get(person.source_id)
            display_name = (person.display_name or display_name) if unnamed else display_name
        if target:
            return PersonTarget(id=target, display_name=display_name or target)
        return PersonTarget(id="", display_name=display_name) if display_name and display_name != source_id else None

    def rich(self, value: str, what: str, warnings: list[Warning], *, image_resolver=None):
        if self.to_ado:  # from ADF (Jira Cloud, a document) or wiki markup (Data Center)
            convert = adf_to_html if isinstance(value, dict) else wiki_to_html
        else:
            convert = html_to_adf if self.rich_text == "adf" else html_to_wiki
        conversion = convert(value or "", image_resolver=image_resolver, person_resolver=self.mention)
        for warning in conversion.warnings:
            if (self.to_ado and image_resolver is None and warning.code == "attachment_unresolved"
                    and self.plan.attachments):
                continue  # the attachments phase uploads the images and rewrites the text to show them
            warnings.append(Warning("formatting", f"{what}: {warning.message}"))
        if self.rich_text == "wiki":
            return _cut(conversion.value, TEXT_MAX, what, warnings)
        if len(json.dumps(conversion.value)) > TEXT_MAX * 4:
            warnings.append(Warning("text_cut", f"{what} is larger than the destination accepts and will be cut."))
        return conversion.value

    def transform(self, rule: FieldRule, value: Any, warnings: list[Warning]) -> Any:
        transform = rule.transform
        if value in (None, ""):
            return None
        if transform == Transform.RICH_TEXT:
            return self.rich(value if isinstance(value, dict) else str(value), rule.source_field, warnings)
        if self.to_ado:
            # A Jira option or version is mapped by its name, as the mapping's value rows name it.
            value = _neutral(value)
            if transform in (Transform.HOURS_TO_SECONDS, Transform.WORKLOG):  # Jira's seconds -> ADO's hours
                try:
                    return round(float(value) / 3600, 2)
                except (TypeError, ValueError):
                    return None
            if isinstance(value, list) and transform in (Transform.MAP_VALUES, Transform.COPY):
                mapped = [self.transform(rule, v, warnings) for v in value]
                return "; ".join(str(v) for v in mapped if v not in (None, "")) or None
        if transform == Transform.MAP_VALUES:
            return self.mapped_value(rule, value, warnings)
        if transform == Transform.TO_PLAIN_TEXT:
            plain = _plain(str(value))
            if plain != str(value).strip():
                warnings.append(Warning("formatting", f"{rule.source_field}: formatting is dropped in a plain text "
                                        "field."))
            return _cut(plain, PLAIN_FIELD_MAX, rule.source_field, warnings)
        if transform == Transform.PERSON:
            person = value if isinstance(value, records.Person) else records.Person(source_id=str(value))
            return self.person(person, rule.source_field, warnings) or None
        if transform == Transform.NUMBER:
            try:
                return float(value)
            except (TypeError, ValueError):
                warnings.append(Warning("value_invalid", f"{rule.source_field}: “{value}” is not a number; left out."))
                return None
        if transform == Transform.HOURS_TO_SECONDS:
            try:
                return int(round(float(value) * 3600))
            except (TypeError, ValueError):
                return None
        if transform == Transform.DATE:
            return str(value)[:10] if rule.target_field and "date" in rule.target_field.lower() else value
        if transform == Transform.TAGS_TO_LABELS:
            return [re.sub(r"\s+", "_", t.strip()) for t in str(value).split(";") if t.strip()]
        return value

    def tag_names(self, value: Any) -> list[str]:
        """The names in a list value (versions, options) as tags, or as Jira labels (which hold no spaces)."""
        value = _neutral(value)
        names = [str(v).strip() for v in (value if isinstance(value, list) else [value]) if str(v or "").strip()]
        return names if self.to_ado else [re.sub(r"\s+", "_", name) for name in names]

    def fits(self, item: records.WorkItem, field_id: str) -> bool:
        """Whether the destination type the item goes to has the field (yes where its fields are not known)."""
        rule = self.plan.types.get(item.type_id)
        known = self.type_fields.get(rule.target_type) if rule and rule.target_type else None
        return known is None or field_id in known

    def _left_out(self, item: records.WorkItem, fields: dict[str, Any], warnings: list[Warning]) -> dict[str, Any]:
        """The fields without those the item's destination type lacks, each one said once per type and field
        (the preview counts the items)."""
        kept = {}
        for field_id, value in fields.items():
            if self.fits(item, field_id):
                kept[field_id] = value
                continue
            rule = next((r for r in self.plan.fields.values() if r.target_field == field_id), None)
            source = f" (from {rule.source_field})" if rule else ""
            after = (" The logged work stays in the item's worklog CSV attachment." if rule and rule.transform in
                     (Transform.HOURS_TO_SECONDS, Transform.WORKLOG) else "")
            warnings.append(Warning("field_not_on_type", f"{self.plan.types[item.type_id].target_type} has no field "
                                    f"{field_id}{source} in the destination: the value is left out.{after}"))
        return kept

    # -- one item ----------------------------------------------------------------------------------------
    def draft(self, item: records.WorkItem, *, source_url: str = "", parent_id: str = "",
              parent_key: str = "", revisions: list[records.Revision] | None = None) -> Draft:
        warnings: list[Warning] = []
        type_rule = self.plan.types.get(item.type_id)
        if type_rule is None or not type_rule.target_type:
            return Draft(None, [Warning("type_unmapped", f"Items of type {item.type_id} are not migrated.")])
        summary = _cut(item.title or f"({item.type_id} {item.key})", SUMMARY_MAX, "The title", warnings)
        description = None
        labels: list[str] = list(item.labels) if self._wants(LABELS, "System.Tags", "labels") else []
        labels = labels if self.to_ado else [re.sub(r"\s+", "_", label) for label in labels]
        components: list[str] = []
        fields: dict[str, Any] = {}
        priority = ""
        attributions: list[str] = []
        assignee = (self.person(item.assignee, "Assigned to", warnings, attributions)
                    if self._wants(ASSIGNEE, "System.AssignedTo", "assignee") else "")
        reporter = (self.person(item.created_by or item.reporter, "Created by", warnings, attributions)
                    if self._wants(REPORTER, "System.CreatedBy", "reporter") else "")
        header = self.attribution_html(attributions)
        for rule in self.plan.fields.values():
            if rule.transform in (Transform.DROP, Transform.HISTORY) or not rule.target_field:
                continue
            source_field = rule.source_field
            value = item.fields.get(source_field)
            target = self.role(rule.target_field)
            if rule.transform == Transform.VALUES_TO_TAGS:  # fix versions: a tag each, or joined in a field
                names = self.tag_names(value)
                if target == LABELS:
                    labels.extend(names)
                elif names:
                    fields[rule.target_field] = "; ".join(names)
                continue
            if source_field in TITLE_FIELDS or target in (SUMMARY, STATUS, ASSIGNEE, REPORTER, LABELS):
                continue
            if source_field in ("System.IterationPath", "System.AreaPath") or target in SPRINT_TARGETS or target == COMPONENTS:
                continue
            if source_field in DESCRIPTION_FIELDS or target == DESCRIPTION:
                if source_field in DESCRIPTION_FIELDS:
                    value = value or item.description
                if self.to_ado and (value or header):
                    description = header + self.rich(value if isinstance(value, dict) else str(value or ""),
                                                     "The description", warnings)
                elif value or header:
                    description = self.rich(header + str(value or ""), "The description", warnings)
                continue
            if target == PRIORITY:
                mapped = self.transform(rule, item.priority if source_field == "priority" else value, warnings)
                priority = str(mapped) if mapped else ""
                continue
            transformed = self.transform(rule, value, warnings)
            if transformed is not None:
                fields[rule.target_field] = transformed
        if description is None and (item.description or header) and DESCRIPTION not in self.by_target:
            description = (header + self.rich(item.description, "The description", warnings) if self.to_ado else
                           self.rich(header + (item.description or ""), "The description", warnings))
        # Areas: components (or labels), iterations: sprints.
        if item.area_id:
            if self.plan.areas_as_labels:
                target = self.plan.areas.get(item.area_id, "")
                if target:
                    labels.append(re.sub(r"\s+", "_", target.removeprefix("create:")))
            elif item.area_id in self.components:
                components.append(self.components[item.area_id])
            elif item.area_id in self.plan.areas:
                target = self.plan.areas[item.area_id]
                if not target.startswith("create:"):
                    components.append(target)
        sprint = item.iteration_id if item.iteration_id in self.plan.iterations else ""
        status = self.plan.states.get((item.type_id, item.state), "")
        if item.state and not status:
            warnings.append(Warning("state_unmapped", f"State “{item.state}” of {item.type_id} has no mapping; the "
                                    "item stays in the destination's first status."))
        if self.to_ado:
            from apps.runs.engine.replay import create_fields

            fields.update(create_fields(self, item, status=status, revisions=revisions or []))
        fields = self._left_out(item, fields, warnings)
        priority_rule = self.by_target.get(PRIORITY)
        if priority and priority_rule and not self.fits(item, priority_rule.target_field):
            self._left_out(item, {priority_rule.target_field: priority}, warnings)
            priority = ""
        write = records.ItemWrite(
            source_id=item.source_id, type_id=type_rule.target_type, summary=summary, source_url=source_url,
            source_key=item.key, parent_id=parent_id, parent_key=parent_key, description=description,
            fields=fields, labels=tuple(dict.fromkeys(labels)), component_ids=tuple(dict.fromkeys(components)),
            priority=priority, assignee=assignee, reporter=reporter, target_status=status,
        )
        return Draft(write, warnings, sprint_source_id=sprint)

    def description_source(self, item: records.WorkItem) -> str:
        """The source rich text the item's description is drafted from (what `draft` converts)."""
        for rule in self.plan.fields.values():
            if rule.transform in (Transform.DROP, Transform.HISTORY) or not rule.target_field:
                continue
            if rule.source_field == "System.Description" or self.role(rule.target_field) == DESCRIPTION:
                value = item.fields.get(rule.source_field)
                if rule.source_field in DESCRIPTION_FIELDS:
                    value = value or item.description
                return value if isinstance(value, dict) else str(value or "")  # ADF stays a document
        return item.description if DESCRIPTION not in self.by_target else ""

    def _wants(self, target: str, *source_fields: str) -> bool:
        """A neutral field is written unless the mapping says where else it goes or drops it."""
        rule = next((self.plan.fields[f] for f in source_fields if f in self.plan.fields), None)
        if rule is None:
            return True
        return self.role(rule.target_field) == target and rule.transform not in (Transform.DROP, Transform.HISTORY)
