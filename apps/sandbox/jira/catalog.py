"""What every local Jira site has in common: statuses and workflows, priorities, resolutions, link types,
the system fields and the shapes of the custom field kinds."""

from dataclasses import dataclass

STATUS_CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}

# id -> (name, category key, description)
STATUSES = {
    "10000": ("To Do", "new", "Work that has not been started."),
    "3": ("In Progress", "indeterminate", "This work item is being actively worked on."),
    "10001": ("In Review", "indeterminate", "Waiting for a review."),
    "10002": ("Done", "done", "Work that is finished."),
}
INITIAL_STATUS = "10000"
DONE_STATUS = "10002"


@dataclass(frozen=True)
class WorkflowTransition:
    id: str
    name: str
    sources: tuple[str, ...]  # empty = from any status (a global transition)
    to: str


# Company-managed projects run a directed workflow; team-managed ones let any status move to any other.
CLASSIC_WORKFLOW = "Software Simplified Workflow for Project"
CLASSIC_TRANSITIONS = (
    WorkflowTransition("11", "To Do", ("3", "10001", "10002"), "10000"),
    WorkflowTransition("21", "In Progress", ("10000", "10001"), "3"),
    WorkflowTransition("31", "In Review", ("3",), "10001"),
    WorkflowTransition("41", "Done", ("3", "10001"), "10002"),
)
TEAM_MANAGED_TRANSITIONS = (
    WorkflowTransition("11", "To Do", (), "10000"),
    WorkflowTransition("21", "In Progress", (), "3"),
    WorkflowTransition("31", "In Review", (), "10001"),
    WorkflowTransition("41", "Done", (), "10002"),
)


def transitions_for(style: str) -> tuple[WorkflowTransition, ...]:
    return TEAM_MANAGED_TRANSITIONS if style == "next-gen" else CLASSIC_TRANSITIONS


def available_transitions(style: str, status_id: str) -> list[WorkflowTransition]:
    return [t for t in transitions_for(style) if (not t.sources or status_id in t.sources) and t.to != status_id]


PRIORITIES = {
    "1": ("Highest", "#d04437"),
    "2": ("High", "#f15C75"),
    "3": ("Medium", "#f79232"),
    "4": ("Low", "#707070"),
    "5": ("Lowest", "#999999"),
}
DEFAULT_PRIORITY = "3"

RESOLUTIONS = {
    "10000": ("Done", "Work has been completed on this issue."),
    "10001": ("Won't Do", "This issue won't be actioned."),
    "10002": ("Duplicate", "The problem is a duplicate of an existing issue."),
    "10003": ("Cannot Reproduce", "All attempts at reproducing this issue failed."),
}
DONE_RESOLUTION = "10000"


def priority_id_for(ref) -> str | None:
    """The priority an id or a name (any case) names."""
    ref = str(ref or "")
    return next((pid for pid, (name, _) in PRIORITIES.items() if ref == pid or ref.lower() == name.lower()), None)


def resolution_id_for(ref) -> str | None:
    ref = str(ref or "")
    return next((rid for rid, (name, _) in RESOLUTIONS.items() if ref == rid or ref.lower() == name.lower()), None)

# id -> (name, inward, outward)
LINK_TYPES = {
    "10000": ("Blocks", "is blocked by", "blocks"),
    "10001": ("Cloners", "is cloned by", "clones"),
    "10002": ("Duplicate", "is duplicated by", "duplicates"),
    "10003": ("Relates", "relates to", "relates to"),
}

# Company-managed issue types of a new site: (name, hierarchy level, description).
SITE_ISSUE_TYPES = (
    ("Epic", 1, "A big user story that needs to be broken down."),
    ("Story", 0, "Functionality or a feature expressed as a user goal."),
    ("Task", 0, "A small, distinct piece of work."),
    ("Bug", 0, "A problem or error."),
    ("Sub-task", -1, "A small piece of work that's part of a larger task."),
)
TEAM_MANAGED_ISSUE_TYPES = (
    ("Epic", 1, "Epics track collections of related bugs, stories, and tasks."),
    ("Story", 0, "Stories track functionality or features expressed as user goals."),
    ("Task", 0, "Tasks track small, distinct pieces of work."),
    ("Bug", 0, "Bugs track problems or errors."),
    ("Subtask", -1, "Subtasks track small pieces of work that are part of a larger task."),
)

# System fields: id -> (name, schema, orderable/settable on create and edit, navigable, searchable, clause names)
SYSTEM_FIELDS = {
    "summary": ("Summary", {"type": "string", "system": "summary"}, True),
    "description": ("Description", {"type": "string", "system": "description"}, True),
    "environment": ("Environment", {"type": "string", "system": "environment"}, True),
    "issuetype": ("Issue Type", {"type": "issuetype", "system": "issuetype"}, True),
    "project": ("Project", {"type": "project", "system": "project"}, True),
    "parent": ("Parent", {"type": "issuelink", "system": "parent"}, True),
    "priority": ("Priority", {"type": "priority", "system": "priority"}, True),
    "labels": ("Labels", {"type": "array", "items": "string", "system": "labels"}, True),
    "components": ("Components", {"type": "array", "items": "component", "system": "components"}, True),
    "fixVersions": ("Fix versions", {"type": "array", "items": "version", "system": "fixVersions"}, True),
    "versions": ("Affects versions", {"type": "array", "items": "version", "system": "versions"}, True),
    "assignee": ("Assignee", {"type": "user", "system": "assignee"}, True),
    "reporter": ("Reporter", {"type": "user", "system": "reporter"}, True),
    "duedate": ("Due date", {"type": "date", "system": "duedate"}, True),
    "resolution": ("Resolution", {"type": "resolution", "system": "resolution"}, True),
    "status": ("Status", {"type": "status", "system": "status"}, False),
    "creator": ("Creator", {"type": "user", "system": "creator"}, False),
    "created": ("Created", {"type": "datetime", "system": "created"}, False),
    "updated": ("Updated", {"type": "datetime", "system": "updated"}, False),
    "resolutiondate": ("Resolved", {"type": "datetime", "system": "resolutiondate"}, False),
    "statuscategorychangedate": ("Status Category Changed", {"type": "datetime", "system": "statuscategorychangedate"}, False),
    "issuelinks": ("Linked Issues", {"type": "array", "items": "issuelinks", "system": "issuelinks"}, False),
    "subtasks": ("Sub-tasks", {"type": "array", "items": "issuelinks", "system": "subtasks"}, False),
    "comment": ("Comment", {"type": "comments-page", "system": "comment"}, False),
    "attachment": ("Attachment", {"type": "array", "items": "attachment", "system": "attachment"}, False),
}
# Where Jira names a system field otherwise: Data Center's field names, the JQL clause, the changelog's field.
DC_FIELD_NAMES = {"fixVersions": "Fix Version/s", "versions": "Affects Version/s"}
CLAUSE_NAMES = {"fixVersions": ["fixVersion"], "versions": ["affectedVersion"]}
# The version fields: field id -> (the issue's attribute, the changelog's field name).
VERSION_FIELDS = {"fixVersions": ("fix_version_ids", "Fix Version"), "versions": ("affects_version_ids", "Version")}
SETTABLE_SYSTEM_FIELDS = {name for name, spec in SYSTEM_FIELDS.items() if spec[2]}
NAVIGABLE_FIELDS = set(SYSTEM_FIELDS) - {"comment", "attachment"}
RICH_TEXT_SYSTEM_FIELDS = ("description", "environment")

# Custom field kinds: kind -> (schema type, items, custom type key, searcher key)
CUSTOM_FIELD_KINDS = {
    "select": ("option", None, "com.atlassian.jira.plugin.system.customfieldtypes:select",
               "com.atlassian.jira.plugin.system.customfieldtypes:multiselectsearcher"),
    "multiselect": ("array", "option", "com.atlassian.jira.plugin.system.customfieldtypes:multiselect",
                    "com.atlassian.jira.plugin.system.customfieldtypes:multiselectsearcher"),
    "number": ("number", None, "com.atlassian.jira.plugin.system.customfieldtypes:float",
               "com.atlassian.jira.plugin.system.customfieldtypes:exactnumber"),
    "date": ("date", None, "com.atlassian.jira.plugin.system.customfieldtypes:datepicker",
             "com.atlassian.jira.plugin.system.customfieldtypes:daterange"),
    "user": ("user", None, "com.atlassian.jira.plugin.system.customfieldtypes:userpicker",
             "com.atlassian.jira.plugin.system.customfieldtypes:userpickergroupsearcher"),
    "labels": ("array", "string", "com.atlassian.jira.plugin.system.customfieldtypes:labels",
               "com.atlassian.jira.plugin.system.customfieldtypes:labelsearcher"),
    "text": ("string", None, "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
             "com.atlassian.jira.plugin.system.customfieldtypes:textsearcher"),
    "paragraph": ("string", None, "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
                  "com.atlassian.jira.plugin.system.customfieldtypes:textsearcher"),
    "url": ("string", None, "com.atlassian.jira.plugin.system.customfieldtypes:url",
            "com.atlassian.jira.plugin.system.customfieldtypes:exacttextsearcher"),
    "storypoints": ("number", None, "com.pyxis.greenhopper.jira:jsw-story-points",
                    "com.atlassian.jira.plugin.system.customfieldtypes:exactnumber"),
    "sprint": ("array", "json", "com.pyxis.greenhopper.jira:gh-sprint",
               "com.pyxis.greenhopper.jira:gh-sprint-searcher"),
    "epiclink": ("any", None, "com.pyxis.greenhopper.jira:gh-epic-link",
                 "com.pyxis.greenhopper.jira:gh-epic-link-searcher"),
    "imported": ("any", None, "", ""),
}

# The custom fields of a new site: (field id, name, kind, options, Data Center only)
SITE_CUSTOM_FIELDS = (
    ("customfield_10014", "Epic Link", "epiclink", (), True),
    ("customfield_10016", "Story point estimate", "storypoints", (), False),
    ("customfield_10020", "Sprint", "sprint", (), False),
    ("customfield_10030", "Severity", "select", ("Critical", "Major", "Minor", "Trivial"), False),
    ("customfield_10031", "Platforms", "multiselect", ("Web", "iOS", "Android", "Desktop", "API"), False),
    ("customfield_10032", "Effort (days)", "number", (), False),
    ("customfield_10033", "Target date", "date", (), False),
    ("customfield_10034", "Reviewer", "user", (), False),
    ("customfield_10035", "Release tags", "labels", (), False),
    ("customfield_10036", "Customer", "text", (), False),
    ("customfield_10037", "Acceptance criteria", "paragraph", (), False),
    ("customfield_10038", "Specification", "url", (), False),
)
SPRINT_FIELD = "customfield_10020"
STORY_POINTS_FIELD = "customfield_10016"
EPIC_LINK_FIELD = "customfield_10014"
RANK_FIELD_ID = 10019

# Entity property limits (Jira Cloud): key length and value size in bytes.
PROPERTY_KEY_MAX = 255
PROPERTY_VALUE_MAX_BYTES = 32768

# Permission keys /mypermissions answers about: key -> (id, name, the token scope that grants it).
PERMISSIONS = {
    "BROWSE_PROJECTS": ("10", "Browse Projects", "read:jira-work"),
    "CREATE_ISSUES": ("11", "Create Issues", "write:jira-work"),
    "EDIT_ISSUES": ("12", "Edit Issues", "write:jira-work"),
    "TRANSITION_ISSUES": ("46", "Transition Issues", "write:jira-work"),
    "ADD_COMMENTS": ("15", "Add Comments", "write:jira-work"),
    "CREATE_ATTACHMENTS": ("19", "Create Attachments", "write:jira-work"),
    "LINK_ISSUES": ("21", "Link Issues", "write:jira-work"),
    "SCHEDULE_ISSUES": ("28", "Schedule Issues", "write:jira-work"),
    "MODIFY_REPORTER": ("30", "Modify Reporter", "write:jira-work"),
    "DELETE_ISSUES": ("16", "Delete Issues", "write:jira-work"),
    "ASSIGN_ISSUES": ("13", "Assign Issues", "write:jira-work"),
    "ADMINISTER_PROJECTS": ("23", "Administer Projects", "manage:jira-configuration"),
}
