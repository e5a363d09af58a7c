"""Scans and mapping sets for the mapping tests, built through the catalog's own model and serialiser (no
vendor HTTP is faked: the schemas are what `discover()` returns for an ADO Agile project and a Jira Cloud
company-managed Scrum project)."""

from django.utils import timezone

from apps.catalog.models import Scan
from apps.connections.connectors.base import Catalog
from apps.connections.connectors.records import (
    Area,
    FieldDefinition,
    FieldType,
    Iteration,
    LinkType,
    Person,
    Project,
    State,
    StateCategory,
    WorkItemType,
)
from apps.connections.connectors.serialise import catalog_to_dict

P, I, D, X = StateCategory.PROPOSED, StateCategory.IN_PROGRESS, StateCategory.DONE, StateCategory.REMOVED  # noqa: E741
# Free text a catalog may carry besides names (a sprint goal, an area description): never sent to a model.
CANARY = "CANARY-7f3a-free-text"


def ado_agile_catalog(*, extra_fields=(), people=None) -> Catalog:
    agile = (State("New", P), State("Active", I), State("Resolved", I), State("Closed", D), State("Removed", X))
    return Catalog(
        Project("p-ado", "FF", "Fabrikam Fiber", process="Agile"),
        work_item_types=[
            WorkItemType("Epic", "Epic", hierarchy_level=2, states=agile),
            WorkItemType("Feature", "Feature", hierarchy_level=1, states=agile),
            WorkItemType("User Story", "User Story", states=agile),
            WorkItemType("Bug", "Bug", states=agile),
            WorkItemType("Task", "Task", hierarchy_level=-1,
                         states=(State("New", P), State("Active", I), State("Closed", D), State("Removed", X))),
        ],
        fields=[
            FieldDefinition("System.Id", "ID", FieldType.INTEGER, read_only=True),
            FieldDefinition("System.Rev", "Rev", FieldType.INTEGER, read_only=True),
            FieldDefinition("System.Title", "Title", FieldType.STRING),
            FieldDefinition("System.Description", "Description", FieldType.TEXT),
            FieldDefinition("System.State", "State", FieldType.STRING),
            FieldDefinition("System.AssignedTo", "Assigned To", FieldType.PERSON),
            FieldDefinition("System.CreatedBy", "Created By", FieldType.PERSON, read_only=True),
            FieldDefinition("System.Tags", "Tags", FieldType.OPTIONS, is_multi_value=True),
            FieldDefinition("System.AreaPath", "Area Path", FieldType.AREA),
            FieldDefinition("System.IterationPath", "Iteration Path", FieldType.ITERATION),
            FieldDefinition("Microsoft.VSTS.Common.Priority", "Priority", FieldType.INTEGER,
                            allowed_values=("1", "2", "3", "4")),
            FieldDefinition("Microsoft.VSTS.Scheduling.StoryPoints", "Story Points", FieldType.DECIMAL),
            FieldDefinition("Microsoft.VSTS.Common.AcceptanceCriteria", "Acceptance Criteria", FieldType.TEXT),
            FieldDefinition("Custom.CustomerImpact", "Customer Impact", FieldType.STRING, is_custom=True,
                            allowed_values=("High", "Medium", "Low")),
            *extra_fields,
        ],
        link_types=[
            LinkType("System.LinkTypes.Hierarchy-Forward", "Child", is_hierarchy=True),
            LinkType("System.LinkTypes.Related", "Related"),
            LinkType("System.LinkTypes.Dependency-Forward", "Successor"),
        ],
        iterations=[
            Iteration("it-1", "Sprint 1", path="Fabrikam Fiber\\Sprint 1", goal=f"Ship the login page {CANARY}"),
            Iteration("it-2", "Sprint 2", path="Fabrikam Fiber\\Sprint 2"),
        ],
        areas=[Area("ar-1", "Web", path="Fabrikam Fiber\\Web", description=f"Front end {CANARY}"),
               Area("ar-2", "Billing", path="Fabrikam Fiber\\Billing")],
        people=list(people) if people is not None else [
            Person("ado-ana", "Ana Lima", "ana@fabrikam.test"),
            Person("ado-bo", "Bo Chen", "bo.chen@old-domain.test"),
            Person("ado-cy", "Cy Gone", "cy@fabrikam.test", active=False),
        ],
    )


def jira_scrum_catalog(*, required=("summary", "project", "issuetype"), extra_fields=(), people=None) -> Catalog:
    statuses = (State("To Do", P, "1"), State("In Progress", I, "3"), State("Done", D, "10001"),
                State("Won't Do", D, "10002"))
    required = tuple(required)
    return Catalog(
        Project("10000", "PROJ", "Proj", process="scrum"),
        work_item_types=[
            WorkItemType("10001", "Epic", hierarchy_level=1, states=statuses, required_field_ids=required),
            WorkItemType("10002", "Story", states=statuses, required_field_ids=required),
            WorkItemType("10003", "Task", states=statuses, required_field_ids=required),
            WorkItemType("10004", "Bug", states=statuses, required_field_ids=required),
            WorkItemType("10005", "Sub-task", hierarchy_level=-1, is_subtask=True, states=statuses,
                         required_field_ids=required),
        ],
        fields=[
            FieldDefinition("summary", "Summary", FieldType.STRING),
            FieldDefinition("description", "Description", FieldType.TEXT),
            FieldDefinition("status", "Status", FieldType.OPTION, read_only=True),
            FieldDefinition("issuetype", "Issue Type", FieldType.OPTION),
            FieldDefinition("project", "Project", FieldType.OPTION),
            FieldDefinition("assignee", "Assignee", FieldType.PERSON),
            FieldDefinition("reporter", "Reporter", FieldType.PERSON),
            FieldDefinition("labels", "Labels", FieldType.OPTIONS, is_multi_value=True),
            FieldDefinition("components", "Components", FieldType.OPTIONS, is_multi_value=True),
            FieldDefinition("priority", "Priority", FieldType.OPTION,
                            allowed_values=("Highest", "High", "Medium", "Low", "Lowest")),
            FieldDefinition("duedate", "Due date", FieldType.DATE),
            FieldDefinition("customfield_10016", "Story point estimate", FieldType.DECIMAL, is_custom=True,
                            vendor_type="com.atlassian.jira.plugin.system.customfieldtypes:float"),
            FieldDefinition("customfield_10020", "Sprint", FieldType.ITERATION, is_custom=True, is_multi_value=True,
                            vendor_type="com.pyxis.greenhopper.jira:gh-sprint"),
            FieldDefinition("customfield_10040", "Acceptance criteria", FieldType.TEXT, is_custom=True),
            FieldDefinition("customfield_10050", "Customer impact", FieldType.OPTION, is_custom=True,
                            allowed_values=("High", "Medium", "Low")),
            *extra_fields,
        ],
        link_types=[
            LinkType("10000", "Blocks", outward="blocks", inward="is blocked by"),
            LinkType("10001", "Duplicate", outward="duplicates", inward="is duplicated by"),
            LinkType("10003", "Relates", outward="relates to", inward="relates to"),
        ],
        iterations=[Iteration("37", "Sprint 1", state="active", board_id="1")],
        areas=[Area("10100", "Web")],
        people=list(people) if people is not None else [
            Person("acc-ana", "Ana Lima", "ana@fabrikam.test"),
            Person("acc-bo", "Bo Chen", ""),  # Jira Cloud hides this e-mail address
            Person("acc-admin", "Migration Bot", "bot@fabrikam.test"),
        ],
    )


def scan_make(*, organisation, catalog: Catalog, kind: str, role: str = Scan.Role.SOURCE,
              status: str = Scan.Status.DONE) -> Scan:
    return Scan.objects.create(
        organisation=organisation, connection_name=f"{kind} connection", connection_kind=kind,
        project_id=catalog.project.source_id, project_key=catalog.project.key, project_name=catalog.project.name,
        role=role, status=status, schema=catalog_to_dict(catalog) if status == Scan.Status.DONE else None,
        finished_at=timezone.now() if status == Scan.Status.DONE else None,
    )


def scans_make(*, organisation, source: Catalog | None = None, destination: Catalog | None = None,
               destination_kind: str = "jira_cloud") -> tuple[Scan, Scan]:
    return (
        scan_make(organisation=organisation, catalog=source or ado_agile_catalog(), kind="azure_devops"),
        scan_make(organisation=organisation, catalog=destination or jira_scrum_catalog(), kind=destination_kind,
                  role=Scan.Role.DESTINATION),
    )
