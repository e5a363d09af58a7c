"""Layer 1: what anyone who has run these migrations knows about the standard processes and schemes.

Azure DevOps fields are named by reference name (System.Title). Jira fields are recognised by role: the
system field id (summary, priority ...) or, for the well-known custom fields, the plugin type in
`vendor_type` (the field schema's `custom` key, e.g. com.pyxis.greenhopper.jira:gh-sprint) or their
standard names (Story Points, Story point estimate, Start date ...), since their ids differ per site.
"""

import re
import unicodedata

from apps.connections.connectors.records import FieldDefinition, FieldType, StateCategory, WorkItemType
from apps.mappings.drafting.proposals import Transform

# --- Fields -------------------------------------------------------------------------------------------

# Roles of Jira fields that have no fixed id.
_JIRA_CUSTOM_ROLES_BY_TYPE = {
    "com.pyxis.greenhopper.jira:gh-sprint": "sprint",
    "com.pyxis.greenhopper.jira:gh-epic-link": "epic_link",
    "com.pyxis.greenhopper.jira:gh-lexo-rank": "rank",
    "com.pyxis.greenhopper.jira:gh-epic-label": "epic_name",
    "com.atlassian.jira.plugins.jira-development-integration-plugin:devsummarycf": "development",
}
_JIRA_CUSTOM_ROLES_BY_NAME = {
    "story points": "story_points",
    "story point estimate": "story_points",
    "start date": "start_date",
    "acceptance criteria": "acceptance_criteria",
    "steps to reproduce": "repro_steps",
    "severity": "severity",
    "flagged": "flagged",
    "epic name": "epic_name",
    "epic link": "epic_link",
    "sprint": "sprint",
    "rank": "rank",
    "team": "team",
}
# Jira system fields that are roles by their own id.
_JIRA_SYSTEM_ROLES = {
    "summary", "description", "assignee", "reporter", "labels", "priority", "components", "duedate",
    "environment", "resolution", "fixVersions", "versions", "timeoriginalestimate", "timeestimate",
    "timespent", "timetracking", "status", "issuetype", "parent", "created", "updated", "creator",
    "resolutiondate", "comment", "attachment", "issuelinks", "subtasks", "worklog", "votes", "watches",
    "project", "security", "lastViewed", "statuscategorychangedate", "aggregateprogress", "progress",
    "aggregatetimespent", "aggregatetimeestimate", "aggregatetimeoriginalestimate", "workratio", "thumbnail",
    "statusCategory",
}


def jira_field_role(field: FieldDefinition) -> str | None:
    if not field.is_custom and field.source_id in _JIRA_SYSTEM_ROLES:
        return field.source_id
    role = _JIRA_CUSTOM_ROLES_BY_TYPE.get(field.vendor_type)
    if role:
        return role
    return _JIRA_CUSTOM_ROLES_BY_NAME.get(normalise(field.name))


# (ADO reference name, Jira role, transform, reason). The first pair whose both ends exist wins, so the
# order says which ADO field is preferred for a Jira role (Story Points before Effort before Size).
FIELD_PAIRS: list[tuple[str, str, Transform, str]] = [
    ("System.Title", "summary", Transform.COPY, "The title is Jira's summary."),
    ("System.Description", "description", Transform.RICH_TEXT, "The description, converted between HTML and Jira's rich text."),
    ("System.AssignedTo", "assignee", Transform.PERSON, "The person it is assigned to, through the people mapping."),
    ("System.CreatedBy", "reporter", Transform.PERSON, "Who created it becomes the reporter (Jira does not let anyone set the creator)."),
    ("System.Tags", "labels", Transform.TAGS_TO_LABELS, "Tags become labels (spaces become hyphens: Jira labels cannot hold spaces)."),
    ("Microsoft.VSTS.Common.Priority", "priority", Transform.MAP_VALUES, "Priority 1-4 maps onto Jira's priority scheme."),
    ("System.IterationPath", "sprint", Transform.ITERATION, "Iterations become sprints."),
    ("System.AreaPath", "components", Transform.AREA, "Area paths become components."),
    ("Microsoft.VSTS.Scheduling.StoryPoints", "story_points", Transform.NUMBER, "Story points are story points."),
    ("Microsoft.VSTS.Scheduling.Effort", "story_points", Transform.NUMBER, "Scrum's Effort is the story-point estimate."),
    ("Microsoft.VSTS.Scheduling.Size", "story_points", Transform.NUMBER, "CMMI's Size is the story-point estimate."),
    ("Microsoft.VSTS.Scheduling.DueDate", "duedate", Transform.DATE, "Due date is due date."),
    ("Microsoft.VSTS.Scheduling.TargetDate", "duedate", Transform.DATE, "The target date is when it is due."),
    ("Microsoft.VSTS.Scheduling.FinishDate", "duedate", Transform.DATE, "The finish date is when it is due."),
    ("Microsoft.VSTS.Scheduling.StartDate", "start_date", Transform.DATE, "Start date is start date."),
    ("Microsoft.VSTS.Scheduling.OriginalEstimate", "timeoriginalestimate", Transform.HOURS_TO_SECONDS, "Original estimate, hours to Jira time tracking."),
    ("Microsoft.VSTS.Scheduling.RemainingWork", "timeestimate", Transform.HOURS_TO_SECONDS, "Remaining work is Jira's remaining estimate."),
    ("Microsoft.VSTS.Scheduling.CompletedWork", "timespent", Transform.WORKLOG, "Completed work becomes logged work (Jira sums worklogs into time spent)."),
    ("Microsoft.VSTS.TCM.SystemInfo", "environment", Transform.RICH_TEXT, "System info describes the environment."),
    ("Microsoft.VSTS.Common.AcceptanceCriteria", "acceptance_criteria", Transform.RICH_TEXT, "Acceptance criteria are acceptance criteria."),
    ("Microsoft.VSTS.TCM.ReproSteps", "repro_steps", Transform.RICH_TEXT, "Repro steps are the steps to reproduce."),
    ("Microsoft.VSTS.Common.Severity", "severity", Transform.MAP_VALUES, "Severity is severity."),
    ("Microsoft.VSTS.Build.FoundIn", "versions", Transform.COPY, "The build it was found in is an affected version "
     "(a version of that name is made in Jira where it lacks one)."),
    ("Microsoft.VSTS.Build.IntegrationBuild", "fixVersions", Transform.COPY, "The build it was fixed in is a fix version "
     "(a version of that name is made in Jira where it lacks one)."),
    ("Microsoft.VSTS.Common.ResolvedReason", "resolution", Transform.MAP_VALUES, "The resolved reason is Jira's resolution."),
]

# Fields that are not copied as fields, and why. (Reference name -> (transform, reason).)
ADO_NOT_A_FIELD: dict[str, tuple[Transform, str]] = {
    "System.State": (Transform.DROP, "Carried by the state mapping (Jira sets status through transitions)."),
    "System.WorkItemType": (Transform.DROP, "Carried by the type mapping."),
    "System.History": (Transform.DROP, "Discussion entries become comments, in order, with their authors."),
    "System.Id": (Transform.DROP, "Kept as the link back to the source and an entity property on every item."),
    "System.Parent": (Transform.DROP, "Carried by the hierarchy (parent links)."),
    "System.Reason": (Transform.HISTORY, "Jira has no state reason; it is kept in the item's history."),
    "System.CreatedDate": (Transform.HISTORY, "Jira does not let anyone set the creation date; it is kept in the history header."),
    "System.ChangedDate": (Transform.HISTORY, "Set by Jira on write; every change is kept in the history."),
    "System.ChangedBy": (Transform.HISTORY, "Set by Jira on write; every change is kept in the history."),
    "Microsoft.VSTS.Common.StateChangeDate": (Transform.HISTORY, "Kept in the history."),
    "Microsoft.VSTS.Common.ActivatedDate": (Transform.HISTORY, "Kept in the history."),
    "Microsoft.VSTS.Common.ActivatedBy": (Transform.HISTORY, "Kept in the history."),
    "Microsoft.VSTS.Common.ResolvedDate": (Transform.HISTORY, "Kept in the history."),
    "Microsoft.VSTS.Common.ResolvedBy": (Transform.HISTORY, "Kept in the history."),
    "Microsoft.VSTS.Common.ClosedDate": (Transform.HISTORY, "Kept in the history (Jira sets its own resolution date)."),
    "Microsoft.VSTS.Common.ClosedBy": (Transform.HISTORY, "Kept in the history."),
    "Microsoft.VSTS.Common.StackRank": (Transform.DROP, "Backlog order is kept by creating items in rank order."),
    "Microsoft.VSTS.Common.BacklogPriority": (Transform.DROP, "Backlog order is kept by creating items in rank order."),
}
# System-managed fields with nothing to carry.
ADO_SYSTEM_MANAGED = {
    "System.Rev", "System.AuthorizedAs", "System.AuthorizedDate", "System.RevisedDate", "System.Watermark",
    "System.TeamProject", "System.NodeName", "System.AreaId", "System.IterationId", "System.BoardColumn",
    "System.BoardColumnDone", "System.BoardLane", "System.CommentCount", "System.ExternalLinkCount",
    "System.HyperLinkCount", "System.AttachedFileCount", "System.RelatedLinkCount", "System.RemoteLinkCount",
    "System.PersonId", "System.IsDeleted", "System.AreaLevel1", "System.IterationLevel1",
}

# --- Types --------------------------------------------------------------------------------------------

# ADO type names (all four processes) by the role they play.
ADO_TYPE_ROLES = {
    "epic": "epic",
    "feature": "feature",
    "user story": "requirement",
    "product backlog item": "requirement",
    "requirement": "requirement",
    "task": "task",
    "bug": "bug",
    "impediment": "impediment",
    "change request": "other",
    "review": "other",
    "risk": "other",
    "test case": "test",
    "test plan": "test",
    "test suite": "test",
    "shared steps": "test",
    "shared parameter": "test",
    "code review request": "tooling",
    "code review response": "tooling",
    "feedback request": "tooling",
    "feedback response": "tooling",
}


def ado_type_role(wit: WorkItemType, process: str = "") -> str:
    name = normalise(wit.name)
    if name == "issue":
        # Basic's Issue is its backlog item; Agile's and CMMI's Issue is an impediment.
        return "requirement" if process.lower() == "basic" else "impediment"
    return ADO_TYPE_ROLES.get(name, "custom")


def jira_type_role(wit: WorkItemType) -> str:
    if wit.is_subtask or wit.hierarchy_level < 0:
        return "subtask"
    if wit.hierarchy_level >= 2:
        return "initiative"
    if wit.hierarchy_level == 1:
        return "epic"
    return JIRA_TYPE_NAMES.get(normalise(wit.name), "standard")


# Jira's standard issue types by name: English, and as a Jira Cloud site in Chinese (zh_CN) names them (the
# real export of merico.atlassian.net's project EE: 故事, 任务, 缺陷, 子任务, with no untranslatedName).
JIRA_TYPE_NAMES = {
    "story": "story", "task": "task", "bug": "bug", "improvement": "improvement", "new feature": "new_feature",
    "故事": "story", "任务": "task", "缺陷": "bug", "改进": "improvement", "新功能": "new_feature",
}


# For each ADO role, the Jira roles to try in order, with the confidence and reason of each.
ADO_TO_JIRA_TYPES: dict[str, list[tuple[str, float, str]]] = {
    "epic": [("initiative", 0.9, "ADO Epics sit above Features; the level above Jira's epics takes them."),
             ("epic", 0.9, "Epic is Epic.")],
    "feature": [("epic", 0.88, "Features group stories, as Jira epics do.")],
    "requirement": [("story", 0.95, "The backlog item of the process is Jira's Story."),
                    ("task", 0.7, "The destination has no Story type; backlog items become Tasks.")],
    "task": [("subtask", 0.9, "ADO Tasks are children of backlog items; Jira's child of a story is a Sub-task."),
             ("task", 0.7, "The destination has no sub-task type; Tasks stay Tasks under their parent.")],
    "bug": [("bug", 0.97, "Bug is Bug."), ("task", 0.6, "The destination has no Bug type.")],
    "impediment": [("task", 0.6, "Jira has no impediment type; impediments become Tasks (flag them if you use flags).")],
    "other": [("task", 0.6, "Jira has no such type; these items become Tasks (add a label to tell them apart).")],
}


# --- States -------------------------------------------------------------------------------------------

JIRA_STATUS_CATEGORY = {"new": StateCategory.PROPOSED, "indeterminate": StateCategory.IN_PROGRESS,
                        "done": StateCategory.DONE, "undefined": StateCategory.PROPOSED}
# Source state names and the destination status names that mean the same step, best first.
STATE_SYNONYMS = {
    "new": ("to do", "backlog", "open"),
    "proposed": ("to do", "backlog", "open"),
    "approved": ("selected for development", "ready", "ready for development", "to do"),
    "committed": ("in progress",),
    "active": ("in progress",),
    "doing": ("in progress",),
    "resolved": ("resolved", "in review", "review", "in progress"),
    "closed": ("done", "closed"),
}
# Words that say a done state means "not done after all", for ADO's Removed.
REMOVED_WORDS = ("won't do", "wont do", "cancelled", "canceled", "rejected", "removed", "declined", "abandoned",
                 "obsolete", "won't fix")

# --- Values -------------------------------------------------------------------------------------------

# ADO priority numbers onto Jira's default priority scheme.
ADO_PRIORITY_TO_JIRA = {"1": "highest", "2": "high", "3": "medium", "4": "low"}

# --- Link types ---------------------------------------------------------------------------------------

# ADO relation reference names onto Jira link-type names (matched by name, then by outward description).
ADO_TO_JIRA_LINKS = {
    "system.linktypes.related": ("relates", "relates to"),
    "system.linktypes.dependency-forward": ("blocks", "blocks"),
    "system.linktypes.dependency-reverse": ("blocks", "blocks"),
    "system.linktypes.duplicate-forward": ("duplicate", "duplicates"),
    "system.linktypes.duplicate-reverse": ("duplicate", "duplicates"),
    "microsoft.vsts.common.affects-forward": ("relates", "relates to"),
    "microsoft.vsts.common.affects-reverse": ("relates", "relates to"),
    "microsoft.vsts.common.testedby-forward": ("test", "is tested by"),
    "microsoft.vsts.common.testedby-reverse": ("test", "is tested by"),
}
# Jira's link types (by name) to the ADO relation that reads the same way from the issue that shows the outward
# verb ("A blocks B": A is the predecessor); Cloners has no ADO relation of its own and stays Related.
JIRA_TO_ADO_LINKS = {
    "blocks": ("system.linktypes.dependency-forward", "The blocking issue is the predecessor."),
    "relates": ("system.linktypes.related", "Relates is Related."),
    "duplicate": ("system.linktypes.duplicate-forward", "Duplicate is Duplicate."),
    "cloners": ("system.linktypes.related", "Azure DevOps has no clone link; kept as Related."),
    "test": ("microsoft.vsts.common.testedby-forward", "Tested by."),
}
ADO_LINKS_NOT_LINK_TYPES = {
    "system.linktypes.hierarchy-forward": "Parent-child: carried by the hierarchy (Jira parent).",
    "system.linktypes.hierarchy-reverse": "Parent-child: carried by the hierarchy (Jira parent).",
    "hyperlink": "Hyperlinks become remote links on the Jira issue.",
    "artifactlink": "Links to commits, builds and pull requests become remote links.",
    "attachedfile": "Attached files are migrated as attachments.",
}

# --- Helpers ------------------------------------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalise(text: str) -> str:
    """Lower case, accents folded, separators as spaces: 'Custom.CustomerImpact' -> 'custom customer impact'."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _CAMEL.sub(" ", text)
    text = re.sub(r"[._\-/]+", " ", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def display_name_of_field(field: FieldDefinition) -> str:
    """The words a person would use for a field: its name, or its reference name without the namespace."""
    if field.name:
        return field.name
    return normalise(field.source_id.split(".")[-1])


TEXTUAL = {FieldType.STRING, FieldType.TEXT}
NUMERIC = {FieldType.INTEGER, FieldType.DECIMAL}
DATES = {FieldType.DATE, FieldType.DATETIME}
CHOICES = {FieldType.OPTION, FieldType.OPTIONS}


# Jira's version lists: a name becomes a version (the run makes one where the project lacks it), and the
# names go into a text field joined, so text goes into and out of them as it is.
VERSION_LISTS = {"fixVersions", "versions"}


def transform_between(source: FieldDefinition, target: FieldDefinition) -> Transform | None:
    """How a value of `source` can be written into `target`, or None if it cannot."""
    s, t = source.type, target.type
    if (s == FieldType.STRING and target.source_id in VERSION_LISTS) or (
            source.source_id in VERSION_LISTS and t == FieldType.STRING):
        return Transform.COPY
    if s == FieldType.TEXT and t == FieldType.TEXT:
        return Transform.RICH_TEXT
    if s == FieldType.TEXT and t == FieldType.STRING:
        return Transform.TO_PLAIN_TEXT
    if s == FieldType.STRING and t in TEXTUAL:
        return Transform.COPY
    if s in NUMERIC and t in NUMERIC:
        return Transform.NUMBER
    if s in DATES and t in DATES:
        return Transform.DATE
    if s == FieldType.PERSON and t == FieldType.PERSON:
        return Transform.PERSON
    if s in CHOICES and t in CHOICES:
        return Transform.MAP_VALUES
    if s == FieldType.STRING and t in CHOICES and source.allowed_values:
        return Transform.MAP_VALUES
    if s in NUMERIC and t in CHOICES and source.allowed_values:
        return Transform.MAP_VALUES
    if s == FieldType.BOOLEAN and (t == FieldType.BOOLEAN or t in CHOICES):
        return Transform.MAP_VALUES
    if s in NUMERIC | DATES | {FieldType.BOOLEAN} and t == FieldType.STRING:
        return Transform.COPY
    return None


def type_affinity(source: FieldDefinition, target: FieldDefinition) -> float:
    """A small bonus for pairs whose values fit without loss, to break near-ties between names."""
    transform = transform_between(source, target)
    if transform in (Transform.TO_PLAIN_TEXT, None):
        return 0.0
    if transform == Transform.COPY and source.type != target.type:
        return 0.01
    return 0.03
