"""Precision and recall of the offline mapping drafter over hand-labelled, real-shaped cases.

    python bench/mapping.py [--verbose]

Runs on its own (no database, no network: the drafter is pure Python and the embedding model is local).
Real material is read from ../shared/realdata/ (Microsoft's Agile process definitions and the Public Jira
Dataset's field catalogue of 14 sites); the cases and their right answers are in bench/mapping_cases.py.
Last line: one JSON object with standard_precision, standard_recall, custom_precision, custom_recall and
wrong_auto_accepted (wrong proposals at or above the auto-accept confidence: the target is 0).
"""

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrayt.settings")

import mapping_cases as cases  # noqa: E402

from apps.connections.connectors.base import Catalog  # noqa: E402
from apps.connections.connectors.records import (  # noqa: E402
    FieldDefinition,
    FieldType,
    LinkType,
    Project,
    State,
    StateCategory,
    WorkItemType,
)
from apps.mappings.drafting.drafter import mapping_draft  # noqa: E402
from apps.mappings.drafting.proposals import AUTO_ACCEPT  # noqa: E402

REALDATA = Path(os.environ.get("MIGRAYT_REALDATA", ROOT.parent / "shared" / "realdata"))
ADO_SPECS = REALDATA / "azure-devops" / "vsts-rest-api-specs" / "wit" / "7.1" / "httpExamples"
JIRA_FIELDS = REALDATA / "jira" / "public-jira-dataset-definitions" / "jira_field_information.json"

ADO_TYPES = {"string": FieldType.STRING, "html": FieldType.TEXT, "plainText": FieldType.TEXT, "history": FieldType.TEXT,
             "integer": FieldType.INTEGER, "double": FieldType.DECIMAL, "dateTime": FieldType.DATETIME,
             "identity": FieldType.PERSON, "boolean": FieldType.BOOLEAN, "picklist": FieldType.STRING}
JIRA_CUSTOM_TYPES = {"textfield": FieldType.STRING, "url": FieldType.STRING, "textarea": FieldType.TEXT,
                     "userpicker": FieldType.PERSON, "multiuserpicker": FieldType.PERSON, "datepicker": FieldType.DATE,
                     "datetime": FieldType.DATETIME, "select": FieldType.OPTION, "radiobuttons": FieldType.OPTION,
                     "cascadingselect": FieldType.OPTION, "multiselect": FieldType.OPTIONS,
                     "multicheckboxes": FieldType.OPTIONS, "labels": FieldType.OPTIONS, "multiversion": FieldType.OPTIONS,
                     "float": FieldType.DECIMAL, "importid": FieldType.STRING}
# Names of the fields the real example does not carry (not in Microsoft's 121-field example organisation).
EXTRA_ADO_FIELDS = {
    "Microsoft.VSTS.Common.BacklogPriority": ("Backlog Priority", "double"),
    "Microsoft.VSTS.Scheduling.Size": ("Size", "double"),
    "Microsoft.VSTS.Common.Triage": ("Triage", "string"),
    "Microsoft.VSTS.CMMI.RequirementType": ("Requirement Type", "string"),
    "System.Parent": ("Parent", "integer"),
}


def load(path: Path):
    return json.loads(path.read_text(encoding="utf-8-sig"))


def ado_field_table() -> dict[str, tuple[str, str, bool]]:
    body = load(ADO_SPECS / "fields" / "GET__wit_fields.json")["responses"]["200"]["body"]
    table = {f["referenceName"]: (f["name"], f["type"], f.get("readOnly", False)) for f in body["value"]}
    for ref, (name, typ) in EXTRA_ADO_FIELDS.items():
        table.setdefault(ref, (name, typ, False))
    return table


def ado_catalog(process: str, custom: list[tuple[str, str, str]] = ()) -> Catalog:
    table = ado_field_table()
    types_body = load(ADO_SPECS / "workItemTypes" / "GET__wit_workItemTypes.json")["responses"]["200"]["body"]
    real_fields = {t["name"]: [f["referenceName"] for f in t["fields"]] for t in types_body["value"]}
    wanted = set(cases.ADO_PROCESS_FIELDS[process])
    refs: list[str] = []
    types = []
    for name, states in cases.ADO_PROCESSES[process].items():
        # Agile's types carry their real field lists; the other processes share the System fields.
        type_refs = [r for r in real_fields.get(name if process == "Agile" else "Task", []) if r.startswith("System.")]
        type_refs += sorted(wanted)
        refs += [r for r in type_refs if r not in refs]
        types.append(WorkItemType(
            source_id=name, name=name, field_ids=tuple(type_refs),
            states=tuple(State(n, StateCategory(c)) for n, c in states)))
    fields = []
    for ref in refs:
        if ref not in table:
            continue
        name, typ, read_only = table[ref]
        ftype = ADO_TYPES.get(typ, FieldType.OTHER)
        if ref == "System.IterationPath":
            ftype = FieldType.ITERATION
        if ref == "System.AreaPath":
            ftype = FieldType.AREA
        fields.append(FieldDefinition(ref, name, ftype, read_only=read_only,
                                      allowed_values=tuple(cases.ADO_PICKLISTS.get(ref, ()))))
    for ref, name, typ in custom:
        if ref in {f.source_id for f in fields}:
            continue
        values = ("Low", "Medium", "High") if typ == "picklist" else ()
        fields.append(FieldDefinition(ref, name, ADO_TYPES[typ], is_custom=True, allowed_values=values))
    links = [LinkType(r, n) for r, n in [
        ("System.LinkTypes.Hierarchy-Forward", "Child"), ("System.LinkTypes.Related", "Related"),
        ("System.LinkTypes.Dependency-Forward", "Successor"), ("System.LinkTypes.Duplicate-Forward", "Duplicate"),
        ("Hyperlink", "Hyperlink"), ("AttachedFile", "Attached File")]]
    return Catalog(project=Project("p", "P", "Project", process=process), work_item_types=types, fields=fields,
                   link_types=links)


def jira_catalog(scheme: str, extra_fields: list[FieldDefinition] = ()) -> Catalog:
    type_rows, statuses, custom = cases.JIRA_SCHEMES[scheme]
    states = tuple(State(n, StateCategory(c), source_id=str(i)) for i, (n, c) in enumerate(statuses))
    types = [WorkItemType(i, n, hierarchy_level=lvl, is_subtask=lvl < 0, states=states) for i, n, lvl in type_rows]
    fields = []
    for fid, name, typ, vendor, is_custom in cases.JIRA_SYSTEM_FIELDS + list(custom):
        values = {"priority": cases.JIRA_PRIORITIES, "resolution": cases.JIRA_RESOLUTIONS}.get(fid, ())
        fields.append(FieldDefinition(fid, name, FieldType(typ), is_custom=is_custom, vendor_type=vendor,
                                      allowed_values=tuple(values), read_only=fid in ("status",)))
    fields += list(extra_fields)
    links = [LinkType("1", "Relates", "relates to", "relates to"), LinkType("2", "Blocks", "blocks", "is blocked by"),
             LinkType("3", "Duplicate", "duplicates", "is duplicated by"), LinkType("4", "Cloners", "clones", "is cloned by")]
    return Catalog(project=Project("10000", "DEST", "Destination", process=scheme), work_item_types=types,
                   fields=fields, link_types=links)


def real_jira_custom_fields(site: str) -> list[FieldDefinition]:
    rows = load(JIRA_FIELDS)[site]
    out = []
    for f in rows:
        if not f.get("custom"):
            continue
        schema = f.get("schema") or {}
        plugin = schema.get("custom", "")
        short = plugin.split(":")[-1]
        out.append(FieldDefinition(f["id"], f["name"], JIRA_CUSTOM_TYPES.get(short, FieldType.OTHER), is_custom=True,
                                   vendor_type=plugin, is_multi_value=short.startswith("multi")))
    return out


class Score:
    def __init__(self):
        self.proposed = self.expected = self.correct = self.wrong_auto = 0
        self.mistakes: list[str] = []

    def add(self, what: str, expected, proposal):
        got = proposal.target_label if proposal and proposal.target else None
        if expected is not None:
            self.expected += 1
        if got is not None:
            self.proposed += 1
            if got == expected:
                self.correct += 1
            else:
                if proposal.confidence >= AUTO_ACCEPT:
                    self.wrong_auto += 1
                self.mistakes.append(f"{what}: got {got!r} ({proposal.confidence:.2f}), expected {expected!r}")
        elif expected is not None:
            self.mistakes.append(f"{what}: no proposal, expected {expected!r}")

    @property
    def precision(self):
        return self.correct / self.proposed if self.proposed else 1.0

    @property
    def recall(self):
        return self.correct / self.expected if self.expected else 1.0


def run_standard(scores: dict[str, Score]):
    for process in cases.ADO_PROCESSES:
        source = ado_catalog(process)
        for scheme in cases.JIRA_SCHEMES:
            destination = jira_catalog(scheme)
            proposals = mapping_draft(source=source, destination=destination, source_kind="azure_devops",
                                      destination_kind="jira_cloud")
            index = {(str(p.kind), p.scope, p.source): p for p in proposals}
            dst_names = {f.name for f in destination.fields}
            team = scheme.startswith("team")
            for name, expected in cases.EXPECTED_TYPES[process].items():
                if expected == "Sub-task" and team:
                    expected = "Subtask"
                scores["types"].add(f"{process}/{scheme} type {name}", expected, index.get(("type", "", name)))
            for f in source.fields:
                if f.source_id not in cases.EXPECTED_FIELDS:
                    continue
                expected = cases.EXPECTED_FIELDS[f.source_id]
                if expected == "Story Points" and team:
                    expected = "Story point estimate"
                if expected == "Due date" and f.source_id != _first_present(source, (
                        "Microsoft.VSTS.Scheduling.DueDate", "Microsoft.VSTS.Scheduling.TargetDate",
                        "Microsoft.VSTS.Scheduling.FinishDate")):
                    expected = None
                if expected == "Story Points" and f.source_id != _first_present(source, (
                        "Microsoft.VSTS.Scheduling.StoryPoints", "Microsoft.VSTS.Scheduling.Effort",
                        "Microsoft.VSTS.Scheduling.Size")):
                    expected = None
                if expected not in dst_names:
                    expected = None
                scores["fields"].add(f"{process}/{scheme} field {f.source_id}", expected, index.get(("field", "", f.source_id)))
            status_set = "kanban" if "kanban" in scheme and not team else "scrum"
            for wit in source.work_item_types:
                if cases.EXPECTED_TYPES[process].get(wit.name) is None:
                    continue
                for state in wit.states:
                    expected = cases.EXPECTED_STATES[status_set][state.name]
                    scores["states"].add(f"{process}/{scheme} {wit.name}.{state.name}", expected,
                                         index.get(("state", wit.name, state.name)))
            for value, expected in cases.EXPECTED_PRIORITY_VALUES.items():
                scores["values"].add(f"{process}/{scheme} priority {value}", expected,
                                     index.get(("value", "Microsoft.VSTS.Common.Priority", value)))


def _first_present(catalog, refs):
    ids = {f.source_id for f in catalog.fields}
    return next((r for r in refs if r in ids), None)


def run_custom(score: Score):
    by_site = defaultdict(list)
    for site, field, expected in cases.CUSTOM_CASES:
        by_site[site].append((field, expected))
    for site, rows in by_site.items():
        extra = real_jira_custom_fields(site)
        names = {f.source_id: f.name for f in extra}
        source = ado_catalog("Agile", custom=[f for f, _ in rows])
        destination = jira_catalog("company-scrum", extra_fields=extra)
        proposals = mapping_draft(source=source, destination=destination, source_kind="azure_devops",
                                  destination_kind="jira_cloud")
        index = {(str(p.kind), p.scope, p.source): p for p in proposals}
        for (ref, _name, _typ), expected in rows:
            proposal = index.get(("field", "", ref))
            score.add(f"{site} {ref}", names.get(expected) if expected else None, proposal)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list every wrong or missing proposal")
    args = parser.parse_args()
    if not REALDATA.exists():
        print(f"The real data is not at {REALDATA}: set MIGRAYT_REALDATA.", file=sys.stderr)
        return 2
    started = time.perf_counter()
    scores = {k: Score() for k in ("types", "fields", "states", "values")}
    run_standard(scores)
    custom = Score()
    run_custom(custom)
    standard = Score()
    for s in scores.values():
        standard.proposed += s.proposed
        standard.expected += s.expected
        standard.correct += s.correct
        standard.wrong_auto += s.wrong_auto
    for name, s in {**scores, "custom": custom}.items():
        print(f"{name:8} precision {s.precision:.3f} recall {s.recall:.3f} "
              f"({s.correct} right of {s.proposed} proposed, {s.expected} expected)")
        if args.verbose:
            for line in s.mistakes:
                print("   ", line)
    result = {
        "standard_precision": round(standard.precision, 4), "standard_recall": round(standard.recall, 4),
        "custom_precision": round(custom.precision, 4), "custom_recall": round(custom.recall, 4),
        **{f"{k}_precision": round(s.precision, 4) for k, s in scores.items()},
        **{f"{k}_recall": round(s.recall, 4) for k, s in scores.items()},
        "wrong_auto_accepted": standard.wrong_auto + custom.wrong_auto,
        "cases": standard.expected + custom.expected, "wall_s": round(time.perf_counter() - started, 2),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
