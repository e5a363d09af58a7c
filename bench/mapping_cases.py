"""Labelled cases for bench/mapping.py: real-shaped schemas and the right mapping, written out by hand.

Sources: Microsoft's own Agile process definitions (vsts-rest-api-specs examples: the 15 work item types
and the organisation's 121 fields) and the four processes' types and states as Microsoft documents them;
destinations: Jira company- and team-managed Scrum and Kanban projects with their standard fields, plus
real custom fields of public Jira sites (the Public Jira Dataset's field catalogue of 14 sites). The
expected answers below were written by a person, not derived from the drafter.
"""

# --- The four ADO processes: types (name, states as (name, category)) --------------------------------
P, I, R, C, X = "proposed", "in_progress", "in_progress", "done", "removed"  # noqa: E741
ADO_PROCESSES = {
    "Agile": {
        "Epic": [("New", P), ("Active", I), ("Resolved", R), ("Closed", C), ("Removed", X)],
        "Feature": [("New", P), ("Active", I), ("Resolved", R), ("Closed", C), ("Removed", X)],
        "User Story": [("New", P), ("Active", I), ("Resolved", R), ("Closed", C), ("Removed", X)],
        "Task": [("New", P), ("Active", I), ("Closed", C), ("Removed", X)],
        "Bug": [("New", P), ("Active", I), ("Resolved", R), ("Closed", C)],
        "Issue": [("Active", I), ("Closed", C)],
        "Test Case": [("Design", P), ("Ready", I), ("Closed", C)],
    },
    "Scrum": {
        "Epic": [("New", P), ("In Progress", I), ("Done", C), ("Removed", X)],
        "Feature": [("New", P), ("In Progress", I), ("Done", C), ("Removed", X)],
        "Product Backlog Item": [("New", P), ("Approved", P), ("Committed", I), ("Done", C), ("Removed", X)],
        "Task": [("To Do", P), ("In Progress", I), ("Done", C), ("Removed", X)],
        "Bug": [("New", P), ("Approved", P), ("Committed", I), ("Done", C), ("Removed", X)],
        "Impediment": [("Open", I), ("Closed", C)],
    },
    "Basic": {
        "Epic": [("To Do", P), ("Doing", I), ("Done", C)],
        "Issue": [("To Do", P), ("Doing", I), ("Done", C)],
        "Task": [("To Do", P), ("Doing", I), ("Done", C)],
    },
    "CMMI": {
        "Epic": [("Proposed", P), ("Active", I), ("Resolved", R), ("Closed", C), ("Removed", X)],
        "Feature": [("Proposed", P), ("Active", I), ("Resolved", R), ("Closed", C), ("Removed", X)],
        "Requirement": [("Proposed", P), ("Active", I), ("Resolved", R), ("Closed", C), ("Removed", X)],
        "Task": [("Proposed", P), ("Active", I), ("Resolved", R), ("Closed", C), ("Removed", X)],
        "Bug": [("Proposed", P), ("Active", I), ("Resolved", R), ("Closed", C)],
        "Change Request": [("Proposed", P), ("Active", I), ("Resolved", R), ("Closed", C)],
        "Risk": [("Proposed", P), ("Active", I), ("Resolved", R), ("Closed", C)],
    },
}
# The fields each process's projects carry, beyond the System.* ones every type has.
ADO_PROCESS_FIELDS = {
    "Agile": ["Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Common.Severity", "Microsoft.VSTS.Common.ValueArea",
              "Microsoft.VSTS.Common.Risk", "Microsoft.VSTS.Common.Activity", "Microsoft.VSTS.Common.StackRank",
              "Microsoft.VSTS.Common.AcceptanceCriteria", "Microsoft.VSTS.Scheduling.StoryPoints",
              "Microsoft.VSTS.Scheduling.RemainingWork", "Microsoft.VSTS.Scheduling.OriginalEstimate",
              "Microsoft.VSTS.Scheduling.CompletedWork", "Microsoft.VSTS.Scheduling.StartDate",
              "Microsoft.VSTS.Scheduling.TargetDate", "Microsoft.VSTS.TCM.ReproSteps", "Microsoft.VSTS.TCM.SystemInfo",
              "Microsoft.VSTS.Build.FoundIn", "Microsoft.VSTS.Build.IntegrationBuild", "Microsoft.VSTS.Common.ResolvedReason",
              "Microsoft.VSTS.Common.BusinessValue", "Microsoft.VSTS.Common.TimeCriticality"],
    "Scrum": ["Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Common.Severity", "Microsoft.VSTS.Common.ValueArea",
              "Microsoft.VSTS.Common.BacklogPriority", "Microsoft.VSTS.Common.AcceptanceCriteria",
              "Microsoft.VSTS.Scheduling.Effort", "Microsoft.VSTS.Scheduling.RemainingWork",
              "Microsoft.VSTS.Scheduling.TargetDate", "Microsoft.VSTS.TCM.ReproSteps", "Microsoft.VSTS.TCM.SystemInfo",
              "Microsoft.VSTS.Build.FoundIn", "Microsoft.VSTS.Build.IntegrationBuild", "Microsoft.VSTS.Common.Activity",
              "Microsoft.VSTS.Common.BusinessValue", "Microsoft.VSTS.Common.TimeCriticality"],
    "Basic": ["Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Scheduling.Effort",
              "Microsoft.VSTS.Scheduling.RemainingWork", "Microsoft.VSTS.Common.Activity",
              "Microsoft.VSTS.Common.StackRank"],
    "CMMI": ["Microsoft.VSTS.Common.Priority", "Microsoft.VSTS.Common.Severity", "Microsoft.VSTS.Common.Triage",
             "Microsoft.VSTS.CMMI.RequirementType", "Microsoft.VSTS.Scheduling.Size",
             "Microsoft.VSTS.Scheduling.OriginalEstimate", "Microsoft.VSTS.Scheduling.RemainingWork",
             "Microsoft.VSTS.Scheduling.CompletedWork", "Microsoft.VSTS.Scheduling.StartDate",
             "Microsoft.VSTS.Scheduling.FinishDate", "Microsoft.VSTS.TCM.SystemInfo", "Microsoft.VSTS.Build.FoundIn",
             "Microsoft.VSTS.Build.IntegrationBuild", "Microsoft.VSTS.Common.Activity", "Microsoft.VSTS.Common.StackRank",
             "Microsoft.VSTS.Common.ResolvedReason"],
}
ADO_PICKLISTS = {
    "Microsoft.VSTS.Common.Priority": ["1", "2", "3", "4"],
    "Microsoft.VSTS.Common.Severity": ["1 - Critical", "2 - High", "3 - Medium", "4 - Low"],
}

# --- Jira destinations ---------------------------------------------------------------------------------
# (id, name, type, vendor type, custom)
JIRA_SYSTEM_FIELDS = [
    ("summary", "Summary", "string", "summary", False), ("description", "Description", "text", "description", False),
    ("assignee", "Assignee", "person", "assignee", False), ("reporter", "Reporter", "person", "reporter", False),
    ("labels", "Labels", "options", "labels", False), ("priority", "Priority", "option", "priority", False),
    ("components", "Components", "options", "components", False), ("duedate", "Due date", "date", "duedate", False),
    ("environment", "Environment", "text", "environment", False), ("fixVersions", "Fix versions", "options", "fixVersions", False),
    ("versions", "Affects versions", "options", "versions", False), ("timeoriginalestimate", "Original Estimate", "integer", "timeoriginalestimate", False),
    ("timeestimate", "Remaining Estimate", "integer", "timeestimate", False), ("timespent", "Time Spent", "integer", "timespent", False),
    ("resolution", "Resolution", "option", "resolution", False), ("issuetype", "Issue Type", "other", "issuetype", False),
    ("parent", "Parent", "other", "parent", False), ("status", "Status", "other", "status", False),
]
JIRA_PRIORITIES = ["Highest", "High", "Medium", "Low", "Lowest"]
JIRA_RESOLUTIONS = ["Done", "Won't Do", "Duplicate", "Cannot Reproduce"]
COMPANY_SCRUM_CUSTOM = [
    ("customfield_10020", "Sprint", "options", "com.pyxis.greenhopper.jira:gh-sprint", True),
    ("customfield_10016", "Story Points", "decimal", "com.atlassian.jira.plugin.system.customfieldtypes:float", True),
    ("customfield_10014", "Epic Link", "other", "com.pyxis.greenhopper.jira:gh-epic-link", True),
    ("customfield_10019", "Rank", "other", "com.pyxis.greenhopper.jira:gh-lexo-rank", True),
    ("customfield_10021", "Flagged", "options", "com.atlassian.jira.plugin.system.customfieldtypes:multicheckboxes", True),
    ("customfield_10015", "Start date", "date", "com.atlassian.jira.plugin.system.customfieldtypes:datepicker", True),
]
TEAM_MANAGED_CUSTOM = [
    ("customfield_10020", "Sprint", "options", "com.pyxis.greenhopper.jira:gh-sprint", True),
    ("customfield_10016", "Story point estimate", "decimal", "com.pyxis.greenhopper.jira:jsw-story-points", True),
    ("customfield_10019", "Rank", "other", "com.pyxis.greenhopper.jira:gh-lexo-rank", True),
    ("customfield_10015", "Start date", "date", "com.atlassian.jira.plugin.system.customfieldtypes:datepicker", True),
]
SCRUM_STATUSES = [("To Do", P), ("In Progress", I), ("Done", C)]
KANBAN_STATUSES = [("Backlog", P), ("Selected for Development", P), ("In Progress", I), ("Done", C)]
JIRA_SCHEMES = {
    # (types as (id, name, hierarchy level), statuses, custom fields, has sprints)
    "company-scrum": ([("10000", "Epic", 1), ("10001", "Story", 0), ("10002", "Task", 0), ("10004", "Bug", 0),
                       ("10003", "Sub-task", -1)], SCRUM_STATUSES, COMPANY_SCRUM_CUSTOM),
    "company-kanban": ([("10000", "Epic", 1), ("10001", "Story", 0), ("10002", "Task", 0), ("10004", "Bug", 0),
                        ("10003", "Sub-task", -1)], KANBAN_STATUSES,
                       [f for f in COMPANY_SCRUM_CUSTOM if f[1] != "Sprint"]),
    "team-scrum": ([("10100", "Epic", 1), ("10101", "Story", 0), ("10102", "Task", 0), ("10104", "Bug", 0),
                    ("10103", "Subtask", -1)], SCRUM_STATUSES, TEAM_MANAGED_CUSTOM),
    "team-kanban": ([("10100", "Epic", 1), ("10101", "Story", 0), ("10102", "Task", 0), ("10104", "Bug", 0),
                     ("10103", "Subtask", -1)], [("To Do", P), ("In Progress", I), ("Done", C)],
                    [f for f in TEAM_MANAGED_CUSTOM if f[1] != "Sprint"]),
}

# --- Expected answers: standard -----------------------------------------------------------------------
# Types by role: the Jira type name each ADO type should go to (None: left out).
EXPECTED_TYPES = {
    "Agile": {"Epic": "Epic", "Feature": "Epic", "User Story": "Story", "Task": "Sub-task", "Bug": "Bug",
              "Issue": "Task", "Test Case": None},
    "Scrum": {"Epic": "Epic", "Feature": "Epic", "Product Backlog Item": "Story", "Task": "Sub-task", "Bug": "Bug",
              "Impediment": "Task"},
    "Basic": {"Epic": "Epic", "Issue": "Story", "Task": "Sub-task"},
    "CMMI": {"Epic": "Epic", "Feature": "Epic", "Requirement": "Story", "Task": "Sub-task", "Bug": "Bug",
             "Change Request": "Task", "Risk": "Task"},
}
# Fields: ADO reference name -> the Jira field (by name) it should fill, or None. "Sprint" and
# "Story Points" mean the scheme's own field of that role.
EXPECTED_FIELDS = {
    "System.Title": "Summary", "System.Description": "Description", "System.AssignedTo": "Assignee",
    "System.CreatedBy": "Reporter", "System.Tags": "Labels", "Microsoft.VSTS.Common.Priority": "Priority",
    "System.IterationPath": "Sprint", "System.AreaPath": "Components",
    "Microsoft.VSTS.Scheduling.StoryPoints": "Story Points", "Microsoft.VSTS.Scheduling.Effort": "Story Points",
    "Microsoft.VSTS.Scheduling.Size": "Story Points",
    "Microsoft.VSTS.Scheduling.TargetDate": "Due date", "Microsoft.VSTS.Scheduling.FinishDate": "Due date",
    "Microsoft.VSTS.Scheduling.StartDate": "Start date",
    "Microsoft.VSTS.Scheduling.OriginalEstimate": "Original Estimate",
    "Microsoft.VSTS.Scheduling.RemainingWork": "Remaining Estimate", "Microsoft.VSTS.Scheduling.CompletedWork": "Time Spent",
    "Microsoft.VSTS.TCM.SystemInfo": "Environment", "Microsoft.VSTS.Build.FoundIn": "Affects versions",
    "Microsoft.VSTS.Build.IntegrationBuild": "Fix versions", "Microsoft.VSTS.Common.ResolvedReason": "Resolution",
    # No Jira counterpart in a standard project: kept under the description or in the history.
    "Microsoft.VSTS.Common.AcceptanceCriteria": None, "Microsoft.VSTS.TCM.ReproSteps": None,
    "Microsoft.VSTS.Common.Severity": None, "Microsoft.VSTS.Common.ValueArea": None,
    "Microsoft.VSTS.Common.Risk": None, "Microsoft.VSTS.Common.Activity": None,
    "Microsoft.VSTS.Common.StackRank": None, "Microsoft.VSTS.Common.BacklogPriority": None,
    "Microsoft.VSTS.Common.BusinessValue": None, "Microsoft.VSTS.Common.TimeCriticality": None,
    "Microsoft.VSTS.Common.Triage": None, "Microsoft.VSTS.CMMI.RequirementType": None,
    "System.State": None, "System.Reason": None, "System.Id": None, "System.Rev": None,
    "System.CreatedDate": None, "System.ChangedDate": None, "System.ChangedBy": None, "System.History": None,
    "System.WorkItemType": None, "System.TeamProject": None, "System.AreaId": None, "System.IterationId": None,
}
# States: (ADO state name, category) -> Jira status name, per status set.
EXPECTED_STATES = {
    "scrum": {"New": "To Do", "Approved": "To Do", "Proposed": "To Do", "To Do": "To Do", "Design": "To Do",
              "Active": "In Progress", "In Progress": "In Progress", "Committed": "In Progress", "Doing": "In Progress",
              "Resolved": "In Progress", "Open": "In Progress", "Ready": "In Progress",
              "Closed": "Done", "Done": "Done", "Removed": "Done"},
    "kanban": {"New": "Backlog", "Approved": "Selected for Development", "Proposed": "Backlog", "To Do": "Backlog",
               "Design": "Backlog",
               "Active": "In Progress", "In Progress": "In Progress", "Committed": "In Progress",
               "Doing": "In Progress", "Resolved": "In Progress", "Open": "In Progress", "Ready": "In Progress",
               "Closed": "Done", "Done": "Done", "Removed": "Done"},
}
EXPECTED_PRIORITY_VALUES = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low"}

# --- Expected answers: custom fields against real Jira sites -------------------------------------------
# Each: (site, ADO custom field (reference name, name, ADO type, picklist?), the real Jira field id or None)
CUSTOM_CASES = [
    ("Apache", ("Custom.Reviewer", "Reviewer", "identity"), "customfield_10022"),
    ("Apache", ("Custom.Tester", "Tester", "identity"), "customfield_12311124"),
    ("Apache", ("Custom.Workaround", "Workaround", "html"), "customfield_12310180"),
    ("Apache", ("Custom.ReleaseNote", "Release Note", "html"), "customfield_12310192"),
    ("Apache", ("Custom.ReviewDate", "Review Date", "dateTime"), "customfield_12310820"),
    ("Apache", ("Custom.SkillLevel", "Skill Level", "picklist"), "customfield_12310270"),
    ("Apache", ("Custom.BugtraqID", "Bugtraq ID", "string"), "customfield_12310150"),
    ("Apache", ("Custom.Mentor", "Mentor", "identity"), "customfield_12314420"),
    # Apache has a field named exactly "Complexity" (and two named "Estimated Complexity"): the exact name wins.
    ("Apache", ("Custom.Complexity", "Complexity", "picklist"), "customfield_12313821"),
    ("Apache", ("Custom.CostCentre", "Cost Centre", "string"), None),
    ("RedHat", ("Custom.QAContact", "QA Contact", "identity"), "customfield_12315948"),
    ("RedHat", ("Custom.DesignDocument", "Design Document", "string"), "customfield_12316241"),
    ("RedHat", ("Custom.ReleaseNotes", "Release Notes", "html"), "customfield_12317313"),
    ("RedHat", ("Custom.Developer", "Developer", "identity"), "customfield_12315141"),
    ("RedHat", ("Custom.DeploymentNotes", "Deployment Notes", "html"), "customfield_12312440"),
    ("RedHat", ("Custom.PercentComplete", "Percent Complete", "double"), "customfield_12314741"),
    ("RedHat", ("Custom.PlannedEnd", "Planned End", "dateTime"), "customfield_12315944"),
    ("RedHat", ("Custom.Department", "Department", "picklist"), "customfield_12316341"),
    ("RedHat", ("Custom.MarketingCampaign", "Marketing Campaign", "string"), None),
    ("MongoDB", ("Custom.ProductManager", "Product Manager", "identity"), "customfield_18358"),
    ("MongoDB", ("Custom.ChangeReason", "Change Reason", "picklist"), "customfield_17467"),
    ("MongoDB", ("Custom.ChangeRisk", "Change Risk", "picklist"), "customfield_17466"),
    ("MongoDB", ("Custom.ActualTime", "Actual Time", "double"), "customfield_10855"),
    ("MongoDB", ("Custom.DocsReviewer", "Docs Reviewer", "identity"), "customfield_14876"),
    ("MongoDB", ("Custom.ReleaseNotes", "Release Notes", "html"), "customfield_15150"),
    ("Hyperledger", ("Custom.RootCauseAnalysis", "Root Cause Analysis", "html"), "customfield_10300"),
    ("Hyperledger", ("Custom.Workaround", "Workaround", "html"), "customfield_10301"),
    ("Hyperledger", ("Custom.TestPlan", "Test Plan", "html"), "customfield_10514"),
    ("Hyperledger", ("Custom.MustFix", "Must Fix", "picklist"), "customfield_10511"),
    ("Hyperledger", ("Custom.FoundInCommit", "Found In Commit", "string"), "customfield_10521"),
    ("Hyperledger", ("Custom.TestResult", "Test Result", "picklist"), "customfield_10515"),
    ("Hyperledger", ("Custom.Datacenter", "Datacenter", "string"), None),
    ("JFrog", ("Custom.ImpactOnProduction", "Impact On Production", "picklist"), "customfield_14030"),
    ("JFrog", ("Custom.PostMortem", "Post Mortem", "html"), "customfield_12107"),
    ("JFrog", ("Custom.PreventiveMeasures", "Preventive Measures", "html"), "customfield_12109"),
    ("JFrog", ("Custom.RiskProbability", "Risk Probability", "picklist"), "customfield_13200"),
    ("JFrog", ("Custom.RiskConsequence", "Risk Consequence", "picklist"), "customfield_13201"),
    ("JFrog", ("Custom.DeploymentDate", "Deployment Date", "dateTime"), "customfield_12503"),
    ("JFrog", ("Custom.Stakeholder", "Stakeholder", "identity"), "customfield_12904"),
    ("Qt", ("Custom.TechnicalRisk", "Technical Risk", "picklist"), "customfield_10027"),
    ("Qt", ("Custom.PMOwner", "PM Owner", "identity"), "customfield_11101"),
    ("Qt", ("Custom.RnDOwner", "R&D Owner", "identity"), "customfield_11102"),
    ("Qt", ("Microsoft.VSTS.Common.BusinessValue", "Business Value", "integer"), "customfield_10184"),
    ("Qt", ("Custom.LegalReview", "Legal Review", "boolean"), None),
    ("Spring", ("Microsoft.VSTS.Common.AcceptanceCriteria", "Acceptance Criteria", "html"), "customfield_10782"),
    ("Spring", ("Custom.OutOfScope", "Out of Scope", "html"), "customfield_10783"),
    ("Spring", ("Custom.PullRequestURL", "Pull Request", "string"), "customfield_10684"),
    ("Sakai", ("Custom.QAStatus", "QA Status", "picklist"), "customfield_10103"),
    ("Sakai", ("Custom.ProjectManager", "Project Manager", "picklist"), "customfield_10074"),
    ("Sakai", ("Custom.ReleaseNotes", "Release Notes", "html"), "customfield_10043"),
]
