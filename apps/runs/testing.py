"""Test and bench support: a seeded Azure DevOps sandbox project, an empty Jira sandbox project, the two
connections, and a mapping plan between them (what an approved mapping of the Agile process gives)."""

from dataclasses import dataclass

from apps.mappings.drafting.proposals import Transform
from apps.mappings.plan import FieldRule, MappingPlan, TypeRule

ADO_PAT = "runs-ado-pat"  # noqa: S105 - a sandbox credential made for the tests
JIRA_TOKEN = "runs-jira-token"  # noqa: S105
JIRA_EMAIL = "sandbox.admin@migrayt.local"
ADO_PROJECT = "Fabrikam Fiber"
JIRA_PROJECT = "MIG"
TYPES = {"Epic": "Epic", "Feature": "Story", "User Story": "Story", "Task": "Sub-task", "Bug": "Bug"}
TYPE_LEVELS = {"Epic": 1, "Story": 0, "Task": 0, "Bug": 0, "Sub-task": -1}
STATES = {"New": "To Do", "Active": "In Progress", "Resolved": "In Review", "Closed": "Done", "Removed": "Done"}
LINKS = {"System.LinkTypes.Related": "Relates", "System.LinkTypes.Dependency-Forward": "Blocks",
         "System.LinkTypes.Duplicate-Forward": "Duplicate"}


@dataclass
class SandboxPair:
    ado_site: object
    jira_site: object
    source: object  # Connection
    destination: object  # Connection
    plan: MappingPlan


def agile_to_jira_plan(*, iterations: dict[str, str] | None = None) -> MappingPlan:
    return MappingPlan(
        version_id=0, source_kind="azure_devops", destination_kind="jira_cloud", source_project=ADO_PROJECT,
        destination_project=JIRA_PROJECT,
        types={k: TypeRule(k, v) for k, v in TYPES.items()},
        fields={
            "System.Title": FieldRule("System.Title", "summary", Transform.COPY),
            "System.Description": FieldRule("System.Description", "description", Transform.RICH_TEXT),
            "Microsoft.VSTS.Common.Priority": FieldRule("Microsoft.VSTS.Common.Priority", "priority",
                                                         Transform.MAP_VALUES,
                                                         {"1": "Highest", "2": "High", "3": "Medium", "4": "Low"}),
            "System.Tags": FieldRule("System.Tags", "labels", Transform.TAGS_TO_LABELS),
            "System.History": FieldRule("System.History", None, Transform.HISTORY),
        },
        states={(t, s): target for t in TYPES for s, target in STATES.items()},
        iterations=iterations or {},
        link_types=dict(LINKS),
    )


def sandbox_pair(*, organisation, actor, base_url: str, items: int, seed: int = 1, slug: str = "runs",
                 sprints: bool = False, data_center: bool = False) -> SandboxPair:
    from apps.connections.services import connection_create
    from apps.sandbox import services as sandbox
    from apps.sandbox.jira.adapter import FULL_SCOPES
    from apps.sandbox.jira.services import jira_principal, jira_project_create, jira_site_admin

    ado = sandbox.site_create(kind="ado", slug=f"{slug}-ado")
    sandbox.site_seed(site=ado, items=items, seed=seed)
    sandbox.token_create(site=ado, name="runs", scopes=["vso.work_full", "vso.project"], secret=ADO_PAT)
    jira = sandbox.site_create(kind="jira_dc" if data_center else "jira_cloud", slug=f"{slug}-jira")
    sandbox.token_create(site=jira, name="runs", scopes=list(FULL_SCOPES),
                         principal=jira_principal(user=jira_site_admin(site=jira)), secret=JIRA_TOKEN)
    jira_project_create(site=jira, key=JIRA_PROJECT, name="Migration")
    source = connection_create(organisation=organisation, actor=actor, kind="azure_devops", name=f"{slug} ADO",
                               base_url=f"{base_url}/sandbox/ado/{ado.slug}", token=ADO_PAT)
    destination = connection_create(organisation=organisation, actor=actor,
                                    kind="jira_data_center" if data_center else "jira_cloud", name=f"{slug} Jira",
                                    base_url=f"{base_url}/sandbox/jira/{jira.slug}", token=JIRA_TOKEN,
                                    **({} if data_center else {"email": JIRA_EMAIL}))
    iterations = {}
    if sprints:
        from apps.sandbox.ado.models import AdoNode

        for node in AdoNode.objects.filter(project__site=ado, structure="iteration", parent__isnull=False,
                                           start_date__isnull=False, finish_date__isnull=False):
            iterations[str(node.node_id)] = f"create:{node.name}"
    plan = agile_to_jira_plan(iterations=iterations)
    if data_center:
        from dataclasses import replace

        plan = replace(plan, destination_kind="jira_data_center")
    return SandboxPair(ado, jira, source, destination, plan)


def destination_truth(jira_site) -> dict:
    """What the Jira sandbox holds, read from its own tables: every issue with its migrayt.source id, its
    parent's source id, and the links between source ids."""
    from apps.sandbox.jira.models import JiraEntityProperty, JiraIssue, JiraIssueLink

    issues = list(JiraIssue.objects.filter(site=jira_site).values("id", "parent_id", "status_id"))
    source_of = {p.issue_id: str((p.value or {}).get("source_id", ""))
                 for p in JiraEntityProperty.objects.filter(issue__site=jira_site, key="migrayt.source")}
    links = [(link.link_type_id, source_of.get(link.outward_issue_id), source_of.get(link.inward_issue_id))
             for link in JiraIssueLink.objects.filter(site=jira_site)]
    return {"issues": issues, "source_of": source_of, "links": links}


def _canonical(kind: str, a: str, b: str) -> tuple:
    if kind.endswith("-Reverse"):
        return kind[: -len("-Reverse")] + "-Forward", b, a
    if kind.endswith("-Forward"):
        return kind, a, b
    return (kind, *sorted((a, b)))


def migration_check(*, ado_site, jira_site) -> dict:
    """The crash and fault tests' verdict, from the two sandboxes' own tables (not from the run's records):
    every source item in Jira exactly once, under the parent the type levels allow, with every mapped link
    exactly once."""
    import re

    from apps.sandbox.ado.models import AdoWorkItem

    rows = {str(w.item_id): w for w in AdoWorkItem.objects.filter(site=ado_site, is_deleted=False)}
    level = {sid: TYPE_LEVELS[TYPES[w.work_item_type]] for sid, w in rows.items() if w.work_item_type in TYPES}
    parent_of = {sid: str(w.fields.get("System.Parent") or "") for sid, w in rows.items()}

    def expected_parent(sid):
        climb = parent_of.get(sid, "")
        while climb and level.get(climb) != level[sid] + 1:
            climb = parent_of.get(climb, "")
        return climb

    expected_links = set()
    for sid, w in rows.items():
        for rel in w.relations:
            match = re.search(r"/workItems/(\d+)$", str(rel.get("url", "")), re.IGNORECASE)
            kind = str(rel.get("rel", ""))
            target = match.group(1) if match else str(rel.get("target_id") or "")
            if not target or kind.startswith("System.LinkTypes.Hierarchy"):
                continue
            canonical = _canonical(kind, sid, target)
            if canonical[0] in LINKS and canonical[1] in level and canonical[2] in level:
                expected_links.add((LINKS[canonical[0]], *sorted(canonical[1:])))
    truth = destination_truth(jira_site)
    source_of = truth["source_of"]
    counts: dict[str, int] = {}
    for issue in truth["issues"]:
        sid = source_of.get(issue["id"], "")
        counts[sid] = counts.get(sid, 0) + 1
    duplicates = sum(n - 1 for sid, n in counts.items() if n > 1)
    missing = sum(1 for sid in level if sid not in counts)
    wrong_parent = 0
    for issue in truth["issues"]:
        sid = source_of.get(issue["id"], "")
        if sid in level and source_of.get(issue["parent_id"], "") != expected_parent(sid):
            wrong_parent += 1
    from apps.sandbox.jira.catalog import LINK_TYPES

    names = {k: v[0] for k, v in LINK_TYPES.items()}
    actual = [(names.get(t, t), *sorted((a or "", b or ""))) for t, a, b in truth["links"]]
    wrong_links = len(set(actual) ^ expected_links) + (len(actual) - len(set(actual)))
    return {"items": len(level), "destination_issues": len(truth["issues"]), "duplicates": duplicates,
            "missing": missing, "wrong_parent": wrong_parent, "wrong_links": wrong_links,
            "links": len(expected_links)}


# --- a worker to kill ----------------------------------------------------------------------------------------


class KillableWorker:
    """A real Celery worker in its own process group, so SIGKILL takes it and its pool children down at once,
    as when a machine or container dies."""

    def __init__(self, *, log_path, extra_env: dict | None = None, concurrency: int = 1):
        self.log_path = log_path
        self.extra_env = extra_env or {}
        self.concurrency = concurrency
        self.process = None

    def start(self):
        import os
        import subprocess
        import sys

        from django.conf import settings

        from apps.core.testing.worker import database_url_for_tests

        env = dict(os.environ)
        env.update({"DATABASE_URL": database_url_for_tests(), "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                    "MIGRAYT_VAR_DIR": str(settings.VAR_DIR), "MIGRAYT_WORKER_HEARTBEAT_SECONDS": "1",
                    "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "migrayt.settings"),
                    **self.extra_env})
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
                [sys.executable, "-m", "celery", "-A", "migrayt", "worker", "--loglevel=INFO",
                 f"--concurrency={self.concurrency}", "--pool=prefork", "--without-gossip", "--without-mingle",
                 "--hostname=runs-worker@%h"],
                cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def kill(self):
        import os
        import signal

        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self):
        import os
        import signal
        import subprocess

        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def crash_drill(*, run, worker: KillableWorker, kills: int, rng, timeout: float = 600.0,
                min_gap: float = 1.0, max_gap: float = 6.0) -> dict:
    """Start the worker, then `kills` times: wait a random moment while the run is active, SIGKILL the
    worker's whole process group, start a new one. Then wait for the run to end. Returns what happened."""
    import time


    started = time.monotonic()
    done_kills = 0
    worker.start()
    try:
        while done_kills < kills and time.monotonic() - started < timeout:
            # Kill only once the new worker is writing again (the run's checkpoint moved since it started),
            # then at a random moment: the kills land in the middle of the work, not in the start-up.
            restarted = time.monotonic()
            run.refresh_from_db()
            mark = run.updated_at
            while run.is_active and run.updated_at == mark and time.monotonic() - restarted < 120:
                time.sleep(0.2)
                run.refresh_from_db()
            if not run.is_active:
                break
            time.sleep(rng.uniform(min_gap, max_gap))
            run.refresh_from_db()
            if not run.is_active:
                break
            worker.kill()
            done_kills += 1
            worker.start()
        while time.monotonic() - started < timeout:
            run.refresh_from_db()
            if not run.is_active:
                break
            time.sleep(0.5)
    finally:
        worker.stop()
    run.refresh_from_db()
    return {"kills": done_kills, "state": run.state, "wall_s": round(time.monotonic() - started, 1),
            "error": run.error_message}


def drive(run, *, limit: int = 500) -> list[str]:
    """Run every step in this process, one after another, without a worker (and without enqueueing)."""
    import time
    from unittest import mock

    from apps.runs import services

    outcomes = []
    waits = []
    with mock.patch.object(services, "run_enqueue", lambda run, countdown=0: waits.append(countdown)):
        for _ in range(limit):
            run.refresh_from_db()
            if not run.is_active:
                return outcomes
            outcomes.append(services.run_step_execute(run_id=run.pk, step=run.step))
            if waits and waits[-1]:
                time.sleep(min(float(waits[-1]), 60.0))  # what the broker's countdown would do
    raise AssertionError(f"the run did not finish in {limit} steps: {outcomes[-5:]}")


class Crash(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs, not even the checkpoint."""


def drive_through_crashes(run, *, attempts: int = 4, lease_seconds: float = 1.2) -> None:
    """drive(run) again after each Crash (a worker killed mid-step), once the killed worker's lease has run
    out (the test sets RUNS_LEASE_SECONDS under `lease_seconds`)."""
    import time

    for _ in range(attempts):
        try:
            drive(run)
            return
        except Crash:
            time.sleep(lease_seconds)


def approved_version(*, pair: SandboxPair, organisation, actor):
    """What a person does in Catalog and Map, done through the services in this process: scan both projects,
    draft a mapping, send everyone without an account to the destination's admin, leave out what cannot be
    converted, accept the rest, approve. Returns the frozen MappingVersion."""
    from unittest import mock

    from apps.catalog import services as catalog
    from apps.catalog.models import Scan
    from apps.mappings import selectors as mapping_selectors
    from apps.mappings import services as mappings

    scans = []
    with mock.patch.object(catalog, "_enqueue", lambda *args, **kwargs: None):
        for connection, project, role in ((pair.source, ADO_PROJECT, "source"), (pair.destination, JIRA_PROJECT,
                                                                                 "destination")):
            scan = catalog.scan_create(organisation=organisation, actor=actor, connection=connection, project=project,
                                       role=role)
            for _ in range(200):
                if catalog.scan_step(scan_id=scan.pk) is None:
                    break
            scans.append(Scan.unscoped.get(pk=scan.pk))
    mapping_set = mappings.mapping_set_create(organisation=organisation, actor=actor, name="FF to MIG",
                                              source_scan_id=scans[0].pk, destination_scan_id=scans[1].pk, draft=False)
    mappings.mapping_set_draft_run(mapping_set_id=mapping_set.pk)
    mapping_set.refresh_from_db()
    admin = scans[1].schema["people"][0]["source_id"]
    mappings.mapping_set_update(mapping_set=mapping_set, actor=actor, default_person=admin, areas_as_labels=True)
    mappings.mapping_rows_accept_above(mapping_set=mapping_set, actor=actor, confidence=0.5)
    for row in mapping_set.rows.filter(decision="pending"):  # what the bulk accept left: decided one by one
        mappings.mapping_row_decide(row=row, actor=actor, decision="accept" if row.target else "reject")
    for issue in mapping_selectors.mapping_set_issues(mapping_set):
        if issue.level == "error" and issue.code == "cannot_convert":
            row = mapping_set.rows.get(kind=issue.kind, source=issue.source, scope=issue.scope or "")
            mappings.mapping_row_decide(row=row, actor=actor, decision="reject")
    return mappings.mapping_set_approve(mapping_set=mapping_set, actor=actor)


# --- the other direction: a seeded Jira sandbox project into an empty Azure DevOps (Agile) project ----------

ADO_TARGET = "Migration Target"
JIRA_TO_ADO_TYPES = {"Epic": "Epic", "Story": "User Story", "Task": "User Story", "Bug": "Bug", "Sub-task": "Task"}
JIRA_TO_ADO_STATES = {"To Do": "New", "In Progress": "Active", "In Review": "Resolved", "Done": "Closed"}
JIRA_TO_ADO_LINKS = {"Blocks": "System.LinkTypes.Dependency-Forward", "Relates": "System.LinkTypes.Related",
                     "Duplicate": "System.LinkTypes.Duplicate-Forward", "Cloners": "System.LinkTypes.Related"}
JIRA_TO_ADO_PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "4"}


def _connection_kind(site_kind: str) -> str:
    """A Jira sandbox site's kind as a connection's kind (a Data Center site is `jira_dc`)."""
    return "jira_data_center" if site_kind == "jira_dc" else site_kind


def jira_to_ado_plan(*, jira_site, project_key: str, people: dict[str, str]) -> MappingPlan:
    """What an approved mapping of a seeded Jira project onto the Agile process gives: every sprint and
    component created (as iterations and areas), every person mapped to their Azure DevOps identity."""
    from apps.sandbox.jira.catalog import LINK_TYPES, SPRINT_FIELD, STORY_POINTS_FIELD
    from apps.sandbox.jira.models import JiraIssueType, JiraProject, JiraSprint

    types = {str(t.pk): t.name for t in JiraIssueType.objects.filter(site=jira_site, project__isnull=True)}
    project = JiraProject.objects.get(site=jira_site, key=project_key)
    task_states = {**JIRA_TO_ADO_STATES, "In Review": "Active"}  # an Agile Task has no Resolved
    states = {}
    for type_id, name in types.items():
        target = JIRA_TO_ADO_TYPES.get(name)
        for status, state in (task_states if target == "Task" else JIRA_TO_ADO_STATES).items():
            states[(type_id, status)] = state
    return MappingPlan(
        version_id=0, source_kind=_connection_kind(jira_site.kind), destination_kind="azure_devops",
        source_project=project_key,
        destination_project=ADO_TARGET,
        types={k: TypeRule(k, JIRA_TO_ADO_TYPES.get(v)) for k, v in types.items()},
        fields={
            "summary": FieldRule("summary", "System.Title", Transform.COPY),
            "description": FieldRule("description", "System.Description", Transform.RICH_TEXT),
            "assignee": FieldRule("assignee", "System.AssignedTo", Transform.PERSON),
            "reporter": FieldRule("reporter", "System.CreatedBy", Transform.PERSON),
            "labels": FieldRule("labels", "System.Tags", Transform.TAGS_TO_LABELS),
            "priority": FieldRule("priority", "Microsoft.VSTS.Common.Priority", Transform.MAP_VALUES,
                                  dict(JIRA_TO_ADO_PRIORITIES)),
            STORY_POINTS_FIELD: FieldRule(STORY_POINTS_FIELD, "Microsoft.VSTS.Scheduling.StoryPoints", Transform.NUMBER),
            SPRINT_FIELD: FieldRule(SPRINT_FIELD, "System.IterationPath", Transform.ITERATION),
            "components": FieldRule("components", "System.AreaPath", Transform.AREA),
            "timeoriginalestimate": FieldRule("timeoriginalestimate", "Microsoft.VSTS.Scheduling.OriginalEstimate",
                                              Transform.HOURS_TO_SECONDS),
            "timeestimate": FieldRule("timeestimate", "Microsoft.VSTS.Scheduling.RemainingWork",
                                      Transform.HOURS_TO_SECONDS),
            "timespent": FieldRule("timespent", "Microsoft.VSTS.Scheduling.CompletedWork", Transform.WORKLOG),
        },
        states=states,
        people=dict(people),
        iterations={str(s.pk): f"create:{s.name}" for s in JiraSprint.objects.filter(board__project=project)},
        areas={str(c.pk): f"create:{c.name}" for c in project.components.all()},
        link_types={type_id: JIRA_TO_ADO_LINKS[name] for type_id, (name, _, _) in LINK_TYPES.items()},
    )


def jira_sandbox_pair(*, organisation, actor, base_url: str, items: int, seed: int = 1, slug: str = "reverse",
                      kind: str = "jira_cloud") -> SandboxPair:
    """A seeded Jira sandbox site (Cloud or Data Center) as the source, an empty Agile project in an Azure
    DevOps sandbox organisation (with an identity for each Jira person) as the destination."""
    from apps.connections.services import connection_create
    from apps.sandbox import services as sandbox
    from apps.sandbox.ado.models import AdoIdentity
    from apps.sandbox.ado.projects import project_create
    from apps.sandbox.jira.adapter import FULL_SCOPES
    from apps.sandbox.jira.models import JiraUser
    from apps.sandbox.jira.services import jira_principal, jira_site_admin

    jira = sandbox.site_create(kind=kind, slug=f"{slug}-jira")
    summary = sandbox.site_seed(site=jira, items=items, seed=seed)
    admin = jira_site_admin(site=jira)
    sandbox.token_create(site=jira, name="runs", scopes=list(FULL_SCOPES), principal=jira_principal(user=admin),
                         secret=JIRA_TOKEN)
    ado = sandbox.site_create(kind="ado", slug=f"{slug}-ado")
    project_create(site=ado, name=ADO_TARGET, process="Agile")
    people = {}
    for user in JiraUser.objects.filter(site=jira).exclude(pk=admin.pk):
        AdoIdentity.objects.get_or_create(site=ado, unique_name=user.email, defaults={
            "display_name": user.display_name, "is_active": user.active})
        people[user.account_id if kind == "jira_cloud" else user.name] = user.email
    sandbox.token_create(site=ado, name="runs", scopes=["vso.work_full", "vso.project"], secret=ADO_PAT)
    source = connection_create(organisation=organisation, actor=actor, kind=_connection_kind(kind), name=f"{slug} Jira",
                               base_url=f"{base_url}/sandbox/jira/{jira.slug}", token=JIRA_TOKEN,
                               email=JIRA_EMAIL if kind == "jira_cloud" else "")
    destination = connection_create(organisation=organisation, actor=actor, kind="azure_devops", name=f"{slug} ADO",
                                    base_url=f"{base_url}/sandbox/ado/{ado.slug}", token=ADO_PAT)
    plan = jira_to_ado_plan(jira_site=jira, project_key=summary["project"], people=people)
    return SandboxPair(ado, jira, source, destination, plan)


def ado_truth(ado_site) -> dict:
    """What the Azure DevOps sandbox holds, read from its own tables: each item's source id (from its
    Hyperlink's comment), its parent, its links and its state."""
    from apps.sandbox.ado.models import AdoWorkItem

    rows = list(AdoWorkItem.objects.filter(site=ado_site, is_deleted=False))
    source_of = {}
    for row in rows:
        for relation in row.relations:
            comment = str((relation.get("attributes") or {}).get("comment") or "")
            if relation.get("rel") == "Hyperlink" and comment.startswith("migrayt source "):
                source_of[row.item_id] = comment.removeprefix("migrayt source ")
    return {"rows": rows, "source_of": source_of}


def jira_to_ado_check(*, jira_site, ado_site, plan: MappingPlan, project_key: str = "") -> dict:
    """The verdict of a Jira -> Azure DevOps run, from the two sandboxes' own tables: every migrated issue in
    Azure DevOps exactly once, under its parent, in its mapped state, with every mapped link once. With
    `project_key`, only that project's issues were migrated (a site with several)."""
    from apps.sandbox.jira.models import JiraIssue, JiraIssueLink

    issues = JiraIssue.objects.filter(site=jira_site).select_related("issue_type")
    if project_key:
        issues = issues.filter(project__key=project_key)
    issues = {str(i.pk): i for i in issues}
    migrated = {sid for sid, i in issues.items() if plan.types.get(str(i.issue_type_id)) and
                plan.types[str(i.issue_type_id)].target_type}
    truth = ado_truth(ado_site)
    source_of = truth["source_of"]
    counts: dict[str, int] = {}
    for row in truth["rows"]:
        counts[source_of.get(row.item_id, "")] = counts.get(source_of.get(row.item_id, ""), 0) + 1
    from apps.sandbox.jira.catalog import STATUSES

    wrong_parent = wrong_state = 0
    links = set()
    link_rows = 0
    for row in truth["rows"]:
        sid = source_of.get(row.item_id, "")
        issue = issues.get(sid)
        if issue is None:
            continue
        parent = str(row.fields.get("System.Parent") or "")
        parent_sid = next((source_of[r.item_id] for r in truth["rows"] if str(r.item_id) == parent), "")
        if parent_sid != (str(issue.parent_id) if issue.parent_id and str(issue.parent_id) in migrated else ""):
            wrong_parent += 1
        expected = plan.states.get((str(issue.issue_type_id), STATUSES[issue.status_id][0]), "")
        if expected and row.fields.get("System.State") != expected:
            wrong_state += 1
        for relation in row.relations:
            rel = relation.get("rel", "")
            if rel.startswith("System.LinkTypes.") and "Hierarchy" not in rel and not rel.endswith("-Reverse"):
                other = source_of.get(relation.get("target_id"), "")
                link_rows += 1
                ends = (sid, other) if rel.endswith("-Forward") else tuple(sorted((sid, other)))
                links.add((rel, *ends))
    expected_links = set()
    for link in JiraIssueLink.objects.filter(site=jira_site):
        rel = plan.link_types.get(str(link.link_type_id))
        # "A blocks B": the link's inward issue is A (its issue shows the outward verb), the outward one B.
        a, b = str(link.inward_issue_id), str(link.outward_issue_id)
        if rel and a in migrated and b in migrated:
            expected_links.add((rel, a, b) if rel.endswith("-Forward") else (rel, *sorted((a, b))))
    related_rows = sum(1 for x in links if not x[0].endswith("-Forward"))
    duplicates_of_links = link_rows - len(links) - related_rows  # Related shows on both ends
    return {"items": len(migrated), "destination_items": len(truth["rows"]),
            "duplicates": sum(n - 1 for sid, n in counts.items() if n > 1),
            "missing": sum(1 for sid in migrated if sid not in counts), "wrong_parent": wrong_parent,
            "wrong_state": wrong_state, "links": len(expected_links),
            "wrong_links": len(links ^ expected_links) + max(0, duplicates_of_links)}


def return_leg(*, pair: SandboxPair, organisation, actor, base_url: str, slug: str = "back",
               token: str = "round-trip-ado-pat") -> SandboxPair:  # noqa: S107 - a sandbox credential
    """The way back of a round trip: the Jira project a run from `pair` wrote into as the source, an empty
    Agile project in a new Azure DevOps sandbox organisation as the destination (an identity for each Jira
    person), and the mapping back (jira_to_ado_plan)."""
    from apps.connections.services import connection_create
    from apps.sandbox import services as sandbox
    from apps.sandbox.ado.models import AdoIdentity
    from apps.sandbox.ado.projects import project_create
    from apps.sandbox.jira.models import JiraUser

    back = sandbox.site_create(kind="ado", slug=f"{slug}-ado")
    project_create(site=back, name=ADO_TARGET, process="Agile")
    people = {}
    for user in JiraUser.objects.filter(site=pair.jira_site):
        AdoIdentity.objects.get_or_create(site=back, unique_name=user.email,
                                          defaults={"display_name": user.display_name, "is_active": user.active})
        people[user.account_id if pair.jira_site.kind == "jira_cloud" else user.name] = user.email
    sandbox.token_create(site=back, name="runs", scopes=["vso.work_full", "vso.project"], secret=token)
    destination = connection_create(organisation=organisation, actor=actor, kind="azure_devops", name=f"{slug} ADO",
                                    base_url=f"{base_url}/sandbox/ado/{back.slug}", token=token)
    plan = jira_to_ado_plan(jira_site=pair.jira_site, project_key=JIRA_PROJECT, people=people)
    return SandboxPair(back, pair.jira_site, pair.destination, destination, plan)
