"""The four system processes of Azure DevOps Services (Agile, Scrum, Basic, CMMI): their work item types,
states with categories, and the fields every type carries. Plain data, as the service returns it."""

from dataclasses import dataclass, field

PROCESS_IDS = {
    "Agile": "adcc42ab-9882-485e-a3ed-7678f01f66bc",
    "Scrum": "6b724908-ef14-45cf-84f8-768b5384da45",
    "Basic": "b8a3a935-7e91-48b8-a94c-606d37c3e9f2",
    "CMMI": "27450541-8e31-4150-9947-dc59f998fc01",
}
PROCESS_DESCRIPTIONS = {
    "Agile": "This template is flexible and will work great for most teams using Agile planning methods.",
    "Scrum": "This template is for teams who follow the Scrum framework.",
    "Basic": "This template is flexible for any process and great for teams getting started with Azure DevOps.",
    "CMMI": "This template is for more formal projects requiring a framework for process improvement.",
}

# Colours of the states as the service shows them.
COLOURS = {"Proposed": "b2b2b2", "InProgress": "007acc", "Resolved": "ff9d00", "Completed": "339933", "Removed": "ffffff"}


@dataclass(frozen=True)
class WorkItemTypeDef:
    name: str
    ref: str
    color: str
    icon: str
    states: tuple[tuple[str, str], ...]  # (name, category); the first is the initial state
    category: str  # Requirement, Task, Bug, Epic, Feature, Hidden ...
    extra_fields: tuple[str, ...] = field(default=())
    description: str = ""

    @property
    def state_names(self):
        return [name for name, _ in self.states]

    @property
    def initial_state(self):
        return self.states[0][0]

    def category_of(self, state):
        return dict(self.states).get(state)


_P, _I, _R, _C, _X = "Proposed", "InProgress", "Resolved", "Completed", "Removed"
# Each type's own fields (besides the System fields every type has), as the service lists them in the type's
# `fields` (wit/7.1 httpExamples workItemTypes: the Agile lists there; the Scrum, Basic and CMMI ones from the
# processes' documented type definitions). A field a type does not have is refused on write (TF51535), as
# by the service: Agile's User Story has Story Points but no Original Estimate, Completed or Remaining Work;
# in Scrum and Basic only the Task has Remaining Work and nothing has Original Estimate or Completed Work.
_ACTIVATED = ("Microsoft.VSTS.Common.StateChangeDate", "Microsoft.VSTS.Common.ActivatedDate",
              "Microsoft.VSTS.Common.ActivatedBy", "Microsoft.VSTS.Common.ClosedDate", "Microsoft.VSTS.Common.ClosedBy")
_RESOLVED = ("Microsoft.VSTS.Common.ResolvedDate", "Microsoft.VSTS.Common.ResolvedBy", "Microsoft.VSTS.Common.ResolvedReason")
_BUILD = ("Microsoft.VSTS.Build.IntegrationBuild",)
_TIME = ("Microsoft.VSTS.Scheduling.RemainingWork", "Microsoft.VSTS.Scheduling.OriginalEstimate",
         "Microsoft.VSTS.Scheduling.CompletedWork")
_PLANNING = (*_ACTIVATED, *_RESOLVED, "Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Common.Risk",
             "Microsoft.VSTS.Common.StackRank", "Microsoft.VSTS.Scheduling.TargetDate",
             "Microsoft.VSTS.Common.BusinessValue", "Microsoft.VSTS.Common.TimeCriticality",
             "Microsoft.VSTS.Scheduling.Effort", "Microsoft.VSTS.Common.ValueArea", *_BUILD)
_STORY = ("Microsoft.VSTS.Scheduling.StoryPoints", *_ACTIVATED, *_RESOLVED, "Microsoft.VSTS.Common.AcceptanceCriteria",
          "Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Common.Risk", "Microsoft.VSTS.Common.StackRank",
          "Microsoft.VSTS.Scheduling.StartDate", "Microsoft.VSTS.Scheduling.FinishDate", "Microsoft.VSTS.Common.ValueArea",
          *_BUILD)
_TASK = ("Microsoft.VSTS.Common.Activity", *_TIME, "Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Common.StackRank",
         "Microsoft.VSTS.Scheduling.StartDate", "Microsoft.VSTS.Scheduling.FinishDate", *_ACTIVATED, *_BUILD)
_BUG = ("Microsoft.VSTS.Scheduling.StoryPoints", *_TIME, "Microsoft.VSTS.Common.Activity", "Microsoft.VSTS.TCM.SystemInfo",
        "Microsoft.VSTS.TCM.ReproSteps", *_ACTIVATED, *_RESOLVED, "Microsoft.VSTS.Common.Priority",
        "Microsoft.VSTS.Common.Severity", "Microsoft.VSTS.Common.StackRank", "Microsoft.VSTS.Common.ValueArea", *_BUILD,
        "Microsoft.VSTS.Build.FoundIn")
_TEST = (*_ACTIVATED, "Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.TCM.Steps", "Microsoft.VSTS.TCM.AutomationStatus",
         *_BUILD)
_SHARED_STEPS = (*_ACTIVATED, "Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.TCM.Steps", *_BUILD)
_SCRUM_PLANNING = ("Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Common.BusinessValue",
                   "Microsoft.VSTS.Common.TimeCriticality", "Microsoft.VSTS.Scheduling.Effort",
                   "Microsoft.VSTS.Common.ValueArea", "Microsoft.VSTS.Scheduling.StartDate",
                   "Microsoft.VSTS.Scheduling.TargetDate", "Microsoft.VSTS.Common.BacklogPriority", *_ACTIVATED, *_BUILD)


def _t(name, ref, color, icon, states, category, extra=(), description=""):
    return WorkItemTypeDef(name, ref, color, icon, tuple(states), category, tuple(extra), description)


_TEST_TYPES = [
    _t("Test Case", "Microsoft.VSTS.WorkItemTypes.TestCase", "004B50", "icon_test_case",
       [("Design", _P), ("Ready", _I), ("Closed", _C)], "Microsoft.TestCaseCategory", _TEST),
    _t("Shared Steps", "Microsoft.VSTS.WorkItemTypes.SharedStep", "004B50", "icon_test_step",
       [("Active", _I), ("Closed", _C)], "Microsoft.SharedStepCategory", _SHARED_STEPS),
    _t("Test Plan", "Microsoft.VSTS.WorkItemTypes.TestPlan", "004B50", "icon_test_plan",
       [("Active", _I), ("Inactive", _C)], "Microsoft.TestPlanCategory",
       ("Microsoft.VSTS.Scheduling.StartDate", "Microsoft.VSTS.Scheduling.FinishDate", *_BUILD)),
    _t("Test Suite", "Microsoft.VSTS.WorkItemTypes.TestSuite", "004B50", "icon_test_suite",
       [("In Planning", _P), ("In Progress", _I), ("Completed", _C)], "Microsoft.TestSuiteCategory", _BUILD),
]

PROCESSES: dict[str, list[WorkItemTypeDef]] = {
    "Agile": [
        _t("Epic", "Microsoft.VSTS.WorkItemTypes.Epic", "FF7B00", "icon_crown",
           [("New", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C), ("Removed", _X)], "Microsoft.EpicCategory", _PLANNING),
        _t("Feature", "Microsoft.VSTS.WorkItemTypes.Feature", "773B93", "icon_trophy",
           [("New", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C), ("Removed", _X)], "Microsoft.FeatureCategory", _PLANNING),
        _t("User Story", "Microsoft.VSTS.WorkItemTypes.UserStory", "009CCC", "icon_book",
           [("New", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C), ("Removed", _X)], "Microsoft.RequirementCategory", _STORY),
        _t("Task", "Microsoft.VSTS.WorkItemTypes.Task", "F2CB1D", "icon_clipboard",
           [("New", _P), ("Active", _I), ("Closed", _C), ("Removed", _X)], "Microsoft.TaskCategory", _TASK),
        _t("Bug", "Microsoft.VSTS.WorkItemTypes.Bug", "CC293D", "icon_insect",
           [("New", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C)], "Microsoft.BugCategory", _BUG),
        _t("Issue", "Microsoft.VSTS.WorkItemTypes.Issue", "B4009E", "icon_traffic_cone",
           [("Active", _I), ("Closed", _C)], "Microsoft.HiddenCategory",
           (*_ACTIVATED, "Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Common.StackRank",
            "Microsoft.VSTS.Scheduling.DueDate", *_BUILD)),
        *_TEST_TYPES,
    ],
    "Scrum": [
        _t("Epic", "Microsoft.VSTS.WorkItemTypes.Epic", "FF7B00", "icon_crown",
           [("New", _P), ("In Progress", _I), ("Done", _C), ("Removed", _X)], "Microsoft.EpicCategory", _SCRUM_PLANNING),
        _t("Feature", "Microsoft.VSTS.WorkItemTypes.Feature", "773B93", "icon_trophy",
           [("New", _P), ("In Progress", _I), ("Done", _C), ("Removed", _X)], "Microsoft.FeatureCategory", _SCRUM_PLANNING),
        _t("Product Backlog Item", "Microsoft.VSTS.WorkItemTypes.ProductBacklogItem", "009CCC", "icon_list",
           [("New", _P), ("Approved", _P), ("Committed", _I), ("Done", _C), ("Removed", _X)], "Microsoft.RequirementCategory",
           ("Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Common.BusinessValue", "Microsoft.VSTS.Scheduling.Effort",
            "Microsoft.VSTS.Common.AcceptanceCriteria", "Microsoft.VSTS.Common.BacklogPriority",
            "Microsoft.VSTS.Common.ValueArea", *_ACTIVATED, *_BUILD)),
        _t("Task", "Microsoft.VSTS.WorkItemTypes.Task", "F2CB1D", "icon_clipboard",
           [("To Do", _P), ("In Progress", _I), ("Done", _C), ("Removed", _X)], "Microsoft.TaskCategory",
           ("Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Common.Activity", "Microsoft.VSTS.Scheduling.RemainingWork",
            "Microsoft.VSTS.Common.BacklogPriority", *_ACTIVATED, *_BUILD)),
        _t("Bug", "Microsoft.VSTS.WorkItemTypes.Bug", "CC293D", "icon_insect",
           [("New", _P), ("Approved", _P), ("Committed", _I), ("Done", _C), ("Removed", _X)], "Microsoft.BugCategory",
           ("Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Common.Severity", "Microsoft.VSTS.TCM.ReproSteps",
            "Microsoft.VSTS.TCM.SystemInfo", "Microsoft.VSTS.Scheduling.Effort", "Microsoft.VSTS.Common.BacklogPriority",
            "Microsoft.VSTS.Common.AcceptanceCriteria", "Microsoft.VSTS.Common.ValueArea", *_ACTIVATED,
            "Microsoft.VSTS.Build.FoundIn", *_BUILD)),
        _t("Impediment", "Microsoft.VSTS.WorkItemTypes.Impediment", "B4009E", "icon_traffic_cone",
           [("Open", _I), ("Closed", _C)], "Microsoft.HiddenCategory",
           ("Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Common.Resolution", *_ACTIVATED)),
        *_TEST_TYPES,
    ],
    "Basic": [
        _t("Epic", "Microsoft.VSTS.WorkItemTypes.Epic", "FF7B00", "icon_crown",
           [("To Do", _P), ("Doing", _I), ("Done", _C)], "Microsoft.EpicCategory",
           ("Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Scheduling.StartDate", "Microsoft.VSTS.Scheduling.TargetDate",
            "Microsoft.VSTS.Scheduling.Effort", "Microsoft.VSTS.Common.StackRank", *_ACTIVATED)),
        _t("Issue", "Microsoft.VSTS.WorkItemTypes.Issue", "339947", "icon_clipboard_issue",
           [("To Do", _P), ("Doing", _I), ("Done", _C)], "Microsoft.RequirementCategory",
           ("Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Scheduling.Effort", "Microsoft.VSTS.Common.StackRank",
            *_ACTIVATED)),
        _t("Task", "Microsoft.VSTS.WorkItemTypes.Task", "F2CB1D", "icon_clipboard",
           [("To Do", _P), ("Doing", _I), ("Done", _C)], "Microsoft.TaskCategory",
           ("Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Common.Activity", "Microsoft.VSTS.Scheduling.RemainingWork",
            "Microsoft.VSTS.Common.StackRank", *_ACTIVATED)),
        *_TEST_TYPES,
    ],
    "CMMI": [
        _t("Epic", "Microsoft.VSTS.WorkItemTypes.Epic", "FF7B00", "icon_crown",
           [("Proposed", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C), ("Removed", _X)], "Microsoft.EpicCategory", _PLANNING),
        _t("Feature", "Microsoft.VSTS.WorkItemTypes.Feature", "773B93", "icon_trophy",
           [("Proposed", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C), ("Removed", _X)], "Microsoft.FeatureCategory", _PLANNING),
        _t("Requirement", "Microsoft.VSTS.WorkItemTypes.Requirement", "009CCC", "icon_book",
           [("Proposed", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C)], "Microsoft.RequirementCategory",
           ("Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.CMMI.RequirementType", "Microsoft.VSTS.Scheduling.Size",
            "Microsoft.VSTS.Common.Triage", "Microsoft.VSTS.Common.StackRank", *_ACTIVATED, *_RESOLVED, *_BUILD)),
        _t("Task", "Microsoft.VSTS.WorkItemTypes.Task", "F2CB1D", "icon_clipboard",
           [("Proposed", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C)], "Microsoft.TaskCategory", (*_TASK, *_RESOLVED)),
        _t("Bug", "Microsoft.VSTS.WorkItemTypes.Bug", "CC293D", "icon_insect",
           [("Proposed", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C)], "Microsoft.BugCategory", _BUG),
        _t("Change Request", "Microsoft.VSTS.WorkItemTypes.ChangeRequest", "4F9EC2", "icon_change_badge",
           [("Proposed", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C)], "Microsoft.ChangeRequestCategory",
           ("Microsoft.VSTS.Common.Priority", *_ACTIVATED, *_RESOLVED)),
        _t("Issue", "Microsoft.VSTS.WorkItemTypes.Issue", "B4009E", "icon_traffic_cone",
           [("Proposed", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C)], "Microsoft.HiddenCategory",
           ("Microsoft.VSTS.Common.Priority", *_ACTIVATED, *_RESOLVED)),
        _t("Review", "Microsoft.VSTS.WorkItemTypes.Review", "4F9EC2", "icon_chat_bubble",
           [("Active", _I), ("Closed", _C)], "Microsoft.ReviewCategory", _ACTIVATED),
        _t("Risk", "Microsoft.VSTS.WorkItemTypes.Risk", "4F9EC2", "icon_diamond",
           [("Proposed", _P), ("Active", _I), ("Resolved", _R), ("Closed", _C)], "Microsoft.RiskCategory",
           ("Microsoft.VSTS.Common.Priority", *_ACTIVATED, *_RESOLVED)),
        *_TEST_TYPES,
    ],
}

# The backlog levels the seed generator fills, top to bottom, and the child types of each.
HIERARCHY = {
    "Agile": ["Epic", "Feature", "User Story", "Task"],
    "Scrum": ["Epic", "Feature", "Product Backlog Item", "Task"],
    "Basic": ["Epic", "Issue", "Task"],
    "CMMI": ["Epic", "Feature", "Requirement", "Task"],
}


def type_def(process: str, name: str) -> WorkItemTypeDef | None:
    lowered = name.lower()
    for wit in PROCESSES.get(process, ()):
        if wit.name.lower() == lowered:
            return wit
    return None


# (reference name, name, type, read-only, identity, picklist values)
_F = [
    ("System.Id", "ID", "integer", True), ("System.Rev", "Rev", "integer", True),
    ("System.Title", "Title", "string", False), ("System.Description", "Description", "html", False),
    ("System.State", "State", "string", False), ("System.Reason", "Reason", "string", False),
    ("System.WorkItemType", "Work Item Type", "string", True), ("System.TeamProject", "Team Project", "string", True),
    ("System.AreaPath", "Area Path", "treePath", False), ("System.IterationPath", "Iteration Path", "treePath", False),
    ("System.AreaId", "Area ID", "integer", False), ("System.IterationId", "Iteration ID", "integer", False),
    ("System.AssignedTo", "Assigned To", "identity", False), ("System.CreatedBy", "Created By", "identity", True),
    ("System.CreatedDate", "Created Date", "dateTime", True), ("System.ChangedBy", "Changed By", "identity", True),
    ("System.ChangedDate", "Changed Date", "dateTime", True), ("System.AuthorizedAs", "Authorized As", "identity", True),
    ("System.AuthorizedDate", "Authorized Date", "dateTime", True), ("System.RevisedDate", "Revised Date", "dateTime", True),
    ("System.Tags", "Tags", "plainText", False), ("System.History", "History", "history", False),
    ("System.CommentCount", "Comment Count", "integer", True), ("System.Parent", "Parent", "integer", True),
    ("System.BoardColumn", "Board Column", "string", True), ("System.BoardColumnDone", "Board Column Done", "boolean", True),
    ("System.NodeName", "Node Name", "string", True),
    ("Microsoft.VSTS.Common.Priority", "Priority", "integer", False),
    ("Microsoft.VSTS.Common.Severity", "Severity", "string", False),
    ("Microsoft.VSTS.Common.ValueArea", "Value Area", "string", False),
    ("Microsoft.VSTS.Common.Risk", "Risk", "string", False),
    ("Microsoft.VSTS.Common.Activity", "Activity", "string", False),
    ("Microsoft.VSTS.Common.StackRank", "Stack Rank", "double", False),
    ("Microsoft.VSTS.Common.BacklogPriority", "Backlog Priority", "double", False),
    ("Microsoft.VSTS.Common.BusinessValue", "Business Value", "integer", False),
    ("Microsoft.VSTS.Common.TimeCriticality", "Time Criticality", "double", False),
    ("Microsoft.VSTS.Common.AcceptanceCriteria", "Acceptance Criteria", "html", False),
    ("Microsoft.VSTS.Common.Resolution", "Resolution", "html", False),
    ("Microsoft.VSTS.Common.Triage", "Triage", "string", False),
    ("Microsoft.VSTS.Common.StateChangeDate", "State Change Date", "dateTime", True),
    ("Microsoft.VSTS.Common.ActivatedDate", "Activated Date", "dateTime", True),
    ("Microsoft.VSTS.Common.ActivatedBy", "Activated By", "identity", True),
    ("Microsoft.VSTS.Common.ResolvedDate", "Resolved Date", "dateTime", True),
    ("Microsoft.VSTS.Common.ResolvedBy", "Resolved By", "identity", True),
    ("Microsoft.VSTS.Common.ClosedDate", "Closed Date", "dateTime", True),
    ("Microsoft.VSTS.Common.ClosedBy", "Closed By", "identity", True),
    ("Microsoft.VSTS.Common.ResolvedReason", "Resolved Reason", "string", True),
    ("Microsoft.VSTS.Scheduling.StoryPoints", "Story Points", "double", False),
    ("Microsoft.VSTS.Scheduling.Effort", "Effort", "double", False),
    ("Microsoft.VSTS.Scheduling.Size", "Size", "double", False),
    ("Microsoft.VSTS.Scheduling.RemainingWork", "Remaining Work", "double", False),
    ("Microsoft.VSTS.Scheduling.OriginalEstimate", "Original Estimate", "double", False),
    ("Microsoft.VSTS.Scheduling.CompletedWork", "Completed Work", "double", False),
    ("Microsoft.VSTS.Scheduling.StartDate", "Start Date", "dateTime", False),
    ("Microsoft.VSTS.Scheduling.FinishDate", "Finish Date", "dateTime", False),
    ("Microsoft.VSTS.Scheduling.TargetDate", "Target Date", "dateTime", False),
    ("Microsoft.VSTS.Scheduling.DueDate", "Due Date", "dateTime", False),
    ("Microsoft.VSTS.TCM.ReproSteps", "Repro Steps", "html", False),
    ("Microsoft.VSTS.TCM.SystemInfo", "System Info", "html", False),
    ("Microsoft.VSTS.TCM.Steps", "Steps", "html", False),
    ("Microsoft.VSTS.TCM.AutomationStatus", "Automation status", "string", False),
    ("Microsoft.VSTS.Build.FoundIn", "Found In", "string", False),
    ("Microsoft.VSTS.Build.IntegrationBuild", "Integration Build", "string", False),
    ("Microsoft.VSTS.CMMI.RequirementType", "Requirement Type", "string", False),
]
PICKLISTS = {
    "Microsoft.VSTS.Common.Priority": [1, 2, 3, 4],
    "Microsoft.VSTS.Common.Severity": ["1 - Critical", "2 - High", "3 - Medium", "4 - Low"],
    "Microsoft.VSTS.Common.ValueArea": ["Architectural", "Business"],
    "Microsoft.VSTS.Common.Risk": ["1 - High", "2 - Medium", "3 - Low"],
    "Microsoft.VSTS.Common.Activity": ["Deployment", "Design", "Development", "Documentation", "Requirements", "Testing"],
}
SYSTEM_FIELDS = {ref: {"referenceName": ref, "name": name, "type": typ, "readOnly": ro} for ref, name, typ, ro in _F}
# Fields every type has, in the order the service lists them.
COMMON_FIELDS = [ref for ref, *_ in _F if ref.startswith("System.")]
# Set by the service itself; never writable, not even with bypassRules.
ALWAYS_READ_ONLY = {"System.Id", "System.Rev", "System.AuthorizedAs", "System.AuthorizedDate",
                    "System.RevisedDate", "System.CommentCount", "System.Parent", "System.BoardColumn",
                    "System.BoardColumnDone", "System.NodeName"}
# Settable only with bypassRules (the dates and authors a migration keeps).
BYPASS_ONLY = {"System.CreatedDate", "System.CreatedBy", "System.ChangedDate", "System.ChangedBy",
               "Microsoft.VSTS.Common.StateChangeDate", "Microsoft.VSTS.Common.ActivatedDate",
               "Microsoft.VSTS.Common.ActivatedBy", "Microsoft.VSTS.Common.ResolvedDate",
               "Microsoft.VSTS.Common.ResolvedBy", "Microsoft.VSTS.Common.ClosedDate", "Microsoft.VSTS.Common.ClosedBy"}
CREATION_ONLY = {"System.CreatedDate", "System.CreatedBy"}


def type_field_refs(wit: WorkItemTypeDef, custom: dict | None = None) -> list[str]:
    """Every field a type has, in the order the service lists them: the System fields common to all types,
    the type's own, then the organisation's custom fields added to it (one with no types is on all)."""
    refs = list(COMMON_FIELDS) + [ref for ref in wit.extra_fields if ref not in COMMON_FIELDS]
    refs += [ref for ref, d in (custom or {}).items()
             if (not d.get("workItemTypes") or wit.name in d["workItemTypes"]) and ref not in refs]
    return refs

RELATION_TYPES = [
    # (reference name, name, usage, topology, directional, enabled, opposite)
    ("System.LinkTypes.Hierarchy-Forward", "Child", "workItemLink", "tree", True, "System.LinkTypes.Hierarchy-Reverse"),
    ("System.LinkTypes.Hierarchy-Reverse", "Parent", "workItemLink", "tree", True, "System.LinkTypes.Hierarchy-Forward"),
    ("System.LinkTypes.Related", "Related", "workItemLink", "network", False, "System.LinkTypes.Related"),
    ("System.LinkTypes.Dependency-Forward", "Successor", "workItemLink", "dependency", True, "System.LinkTypes.Dependency-Reverse"),
    ("System.LinkTypes.Dependency-Reverse", "Predecessor", "workItemLink", "dependency", True, "System.LinkTypes.Dependency-Forward"),
    ("System.LinkTypes.Duplicate-Forward", "Duplicate", "workItemLink", "tree", True, "System.LinkTypes.Duplicate-Reverse"),
    ("System.LinkTypes.Duplicate-Reverse", "Duplicate Of", "workItemLink", "tree", True, "System.LinkTypes.Duplicate-Forward"),
    ("Microsoft.VSTS.Common.TestedBy-Forward", "Tested By", "workItemLink", "dependency", True, "Microsoft.VSTS.Common.TestedBy-Reverse"),
    ("Microsoft.VSTS.Common.TestedBy-Reverse", "Tests", "workItemLink", "dependency", True, "Microsoft.VSTS.Common.TestedBy-Forward"),
    ("Microsoft.VSTS.TestCase.SharedStepReferencedBy-Forward", "Test Case", "workItemLink", "dependency", True, "Microsoft.VSTS.TestCase.SharedStepReferencedBy-Reverse"),
    ("Microsoft.VSTS.TestCase.SharedStepReferencedBy-Reverse", "Shared Steps", "workItemLink", "dependency", True, "Microsoft.VSTS.TestCase.SharedStepReferencedBy-Forward"),
    ("AttachedFile", "Attached File", "resourceLink", None, False, None),
    ("Hyperlink", "Hyperlink", "resourceLink", None, False, None),
    ("ArtifactLink", "Artifact Link", "resourceLink", None, False, None),
]
RELATION_BY_REF = {r[0].lower(): r for r in RELATION_TYPES}
