"""Generated Jira projects of any size, the same for the same seed.

`items > 0`: a company-managed Scrum project with epics, stories, tasks, bugs and sub-tasks; changelogs
spread over months (transitions along the workflow, assignee and priority changes, sprint moves); comments
in the site's rich text (ADF on Cloud, wiki markup on Data Center) with mentions and restricted
visibility; issue links and remote links; attachments, some shown inline in descriptions; closed, active
and future sprints; components, versions (fix versions on about a third of the stories and bugs, some set
later through the changelog; affected versions on bugs), labels, every custom field kind; non-Latin text; deactivated people and
people whose e-mail is hidden.

`items == 0` (or `layout="destination"`): an empty destination ready to receive a migration, a
company-managed Scrum project (DEST) and a team-managed project (TEAM), with people, components and a
future sprint but no issue.

Rows are written with bulk_create in a few passes, so 10,000 items take seconds, not minutes.
"""

from __future__ import annotations

import random
import re
import struct
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta

from django.db import transaction

from apps.sandbox.jira import catalog
from apps.sandbox.jira.adf import adf_doc, adf_paragraph, adf_text
from apps.sandbox.jira.models import (
    JiraAttachment,
    JiraChangelog,
    JiraComment,
    JiraEntityProperty,
    JiraField,
    JiraIssue,
    JiraIssueLink,
    JiraIssueType,
    JiraProject,
    JiraRemoteLink,
    JiraSprint,
    JiraUser,
    JiraVersion,
    JiraWorklog,
)
from apps.sandbox.jira.services import jira_project_create, jira_site_admin, jira_site_bootstrap

PEOPLE = (
    ("Ada Lovelace", True, True), ("Grace Hopper", True, True), ("Linus Virtanen", True, False),
    ("Zoë Ångström", True, True), ("李娜", True, True), ("Алексей Смирнов", True, False),
    ("محمد علي", True, True), ("José Núñez", True, True), ("田中 太郎", True, False),
    ("Søren Kierkegaard", True, True), ("Priya Raghunathan", True, True), ("Kwame Mensah", True, True),
    ("Ingrid Bergström", True, False), ("Đặng Thu Hà", True, True), ("Ολυμπία Παπαδοπούλου", True, True),
    ("Mateusz Wróbel", True, True), ("Chiara Bianchi", True, True), ("Oluwaseun Adeyemi", True, False),
    # Deactivated: they left, their issues and comments stay.
    ("Former Contractor", False, True), ("Ex Employee", False, False), ("Björn Lindqvist", False, True),
)
COMPONENTS = (("Backend", "Services and the database"), ("Frontend", "The web client"), ("API", "The public REST API"),
              ("Mobile", "iOS and Android apps"), ("Infrastructure", "Cloud, CI and deployment"),
              ("Documentation", "Guides and reference"))
LABELS = ("customer", "regression", "tech-debt", "performance", "security", "ux", "q3-okr", "needs-triage",
          "accessibility", "i18n", "日本語", "données")
NOUNS = ("checkout", "login", "search index", "invoice export", "notification service", "report builder",
         "user profile", "audit log", "payment retry", "dashboard", "SSO settings", "CSV import", "rate limiter",
         "webhook delivery", "mobile sync", "billing page", "permissions matrix", "onboarding flow")
VERBS = ("Improve", "Fix", "Add", "Refactor", "Document", "Migrate", "Speed up", "Remove", "Localise", "Harden")
BUG_SYMPTOMS = ("crashes when the list is empty", "shows the wrong total", "times out for large accounts",
                "loses unsaved changes", "is unreadable in dark mode", "double-charges on retry",
                "ignores the user's time zone", "breaks with non-ASCII names (Łódź, 東京)")
EPIC_THEMES = ("Self-service onboarding", "Payments v2", "Enterprise SSO", "Mobile offline mode", "Reporting overhaul",
               "Platform reliability", "Internationalisation (国际化)", "Accessibility AA", "Data retention")
SPRINT_DAYS = 14
# Project versions: (name, released, release date in days from now: past, future or none).
VERSIONS = (("v1.0", True, -120), ("v1.1", True, -40), ("v2.0 Beta", False, 30), ("v2.1", False, None))


def _png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    """A small valid PNG (one colour), so inline images render in a browser."""
    raw = b"".join(b"\x00" + bytes(colour) * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _key_from(name: str) -> str:
    """Jira's habit: the first word's letters ("Acme Platform" -> ACME), else the initials."""
    words = [re.sub(r"[^A-Z]", "", w) for w in name.upper().split()]
    first = words[0] if words else ""
    if len(first) >= 2:
        return first[:6]
    initials = "".join(w[:1] for w in words)
    return initials[:6] if len(initials) >= 2 else "PROJ"


def _people(site, rng) -> list[JiraUser]:
    existing = {u.display_name: u for u in JiraUser.objects.filter(site=site)}
    new = []
    for index, (name, active, email_visible) in enumerate(PEOPLE):
        if name in existing:
            continue
        handle = f"user{index + 1:02d}"
        new.append(JiraUser(site=site, account_id=new_account_id_seeded(rng), name=handle, key=f"JIRAUSER{10100 + index}",
                            display_name=name, email=f"{handle}@example.com", email_visible=email_visible, active=active,
                            time_zone=rng.choice(("Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Berlin"))))
    JiraUser.objects.bulk_create(new)
    return list(JiraUser.objects.filter(site=site).order_by("id"))


def new_account_id_seeded(rng) -> str:
    return "712020:" + "-".join(f"{rng.getrandbits(bits):0{bits // 4}x}" for bits in (32, 16, 16, 16, 48))


def jira_site_seed(*, site, items: int, seed: int = 1, project: str | None = None, layout: str | None = None, **_) -> dict:
    started = time.monotonic()
    rng = random.Random(seed)
    jira_site_bootstrap(site=site)
    with transaction.atomic():
        people = _people(site, rng)
        if items == 0 or layout == "destination":
            summary = _destination(site, people)
        else:
            summary = _source(site, rng, people, items=items, name=project or "Acme Platform")
    summary["seconds"] = round(time.monotonic() - started, 2)
    return summary


def _destination(site, people) -> dict:
    admin = jira_site_admin(site=site)
    scrum = jira_project_create(site=site, key="DEST", name="Migration target (company-managed Scrum)",
                                style="classic", template="scrum", lead=admin,
                                description="An empty company-managed Scrum project, ready to receive a migration.")
    team = jira_project_create(site=site, key="TEAM", name="Team landing (team-managed)", style="next-gen",
                               template="scrum", lead=admin,
                               description="An empty team-managed project, ready to receive a migration.")
    for project in (scrum, team):
        for name, description in COMPONENTS[:4]:
            project.components.get_or_create(name=name, defaults={"description": description})
    board = scrum.boards.first()
    if not board.sprints.exists():
        JiraSprint.objects.create(site=site, board=board, name="DEST Sprint 1", state="future",
                                  created=datetime.now(UTC))
    return {"layout": "destination", "projects": ["DEST", "TEAM"], "users": len(people), "issues": 0}


def _rich(site, blocks: list[tuple[str, str]]):
    """[(kind, text)] -> ADF on Cloud, wiki markup on DC. Kinds: p, h, bullet, code, quote, mention, image."""
    if site.kind == "jira_dc":
        lines = []
        for kind, text in blocks:
            lines.append({"p": text, "h": f"h3. {text}", "bullet": "\n".join(f"* {t}" for t in text.split("|")),
                          "code": "{code:python}\n" + text + "\n{code}", "quote": "{quote}" + text + "{quote}",
                          "mention": f"[~{text}] please have a look.", "image": f"!{text}|thumbnail!"}[kind])
        return "\n\n".join(lines)
    content = []
    for kind, text in blocks:
        if kind == "p":
            content.append(adf_paragraph(adf_text(text)))
        elif kind == "h":
            content.append({"type": "heading", "attrs": {"level": 3}, "content": [adf_text(text)]})
        elif kind == "bullet":
            content.append({"type": "bulletList", "content": [
                {"type": "listItem", "content": [adf_paragraph(adf_text(t))]} for t in text.split("|")]})
        elif kind == "code":
            content.append({"type": "codeBlock", "attrs": {"language": "python"}, "content": [adf_text(text)]})
        elif kind == "quote":
            content.append({"type": "blockquote", "content": [adf_paragraph(adf_text(text))]})
        elif kind == "mention":
            account_id, name = text.split("|", 1)
            content.append(adf_paragraph({"type": "mention", "attrs": {"id": account_id, "text": "@" + name}},
                                         adf_text(" please have a look.")))
        elif kind == "image":
            media_id, filename = text.split("|", 1)
            content.append({"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [
                {"type": "media", "attrs": {"type": "file", "id": media_id, "collection": "", "alt": filename,
                                            "width": 64, "height": 48}}]})
    return adf_doc(*content)


def _source(site, rng, people, *, items: int, name: str) -> dict:
    key = _key_from(name)
    admin = jira_site_admin(site=site)
    active_people = [p for p in people if p.active and p.pk != admin.pk]
    everyone = [p for p in people if p.pk != admin.pk]
    project = JiraProject.objects.filter(site=site, key=key).first() or jira_project_create(
        site=site, key=key, name=name, style="classic", template="scrum", lead=active_people[0],
        description=f"{name}: generated by the sandbox seeder.")
    components = [project.components.get_or_create(name=n, defaults={"description": d, "lead": rng.choice(active_people)})[0]
                  for n, d in COMPONENTS]
    types = {t.name: t for t in JiraIssueType.objects.filter(site=site, project__isnull=True)}
    fields = {f.field_id: f for f in JiraField.objects.filter(site=site)}
    board = project.boards.first()
    now = datetime.now(UTC).replace(microsecond=0)
    span_days = 270
    origin = now - timedelta(days=span_days)

    # Sprints: closed ones covering the past, one active, two future.
    n_closed = max(2, span_days // SPRINT_DAYS - 1)
    sprints = []
    base_number = board.sprints.count()
    for index in range(n_closed + 3):
        start = origin + timedelta(days=SPRINT_DAYS * index)
        if index < n_closed:
            state, complete = "closed", start + timedelta(days=SPRINT_DAYS, hours=2)
        elif index == n_closed:
            state, complete = "active", None
            start = now - timedelta(days=5)
        else:
            state, complete, start = "future", None, None
        sprints.append(JiraSprint(site=site, board=board, name=f"{key} Sprint {base_number + index + 1}", state=state,
                                  goal=rng.choice(("Ship the MVP", "Stabilise", "Close the audit findings", "")),
                                  start_date=start, end_date=start + timedelta(days=SPRINT_DAYS) if start else None,
                                  complete_date=complete, created=(start or now) - timedelta(days=3)))
    JiraSprint.objects.bulk_create(sprints)
    closed = [s for s in sprints if s.state == "closed"]
    active = next(s for s in sprints if s.state == "active")
    future = [s for s in sprints if s.state == "future"]

    n_epics = max(1, round(items * 0.03))
    n_subtasks = round(items * 0.2) if items >= 5 else 0
    n_standard = max(0, items - n_epics - n_subtasks)
    start_number = project.next_number
    # The first issue is an epic, so that every later standard issue can have one; the rest are mixed in time.
    specs = [1] * n_epics + [0] * n_standard + [-1] * n_subtasks
    rest = specs[1:]
    rng.shuffle(rest)
    specs = specs[:1] + rest
    created_times = sorted(origin + timedelta(seconds=rng.uniform(0, span_days * 86400 - 7200)) for _ in range(items))

    issue_rows: list[JiraIssue] = []
    plan = []  # per issue: dict of extra things to write after the ids exist
    for index, level in enumerate(specs):
        number = start_number + index
        created = created_times[index]
        if level == 1:
            issue_type = types["Epic"]
            summary = f"{rng.choice(EPIC_THEMES)} — phase {index + 1}"
        elif level == 0:
            issue_type = types[rng.choices(("Story", "Task", "Bug"), (45, 30, 25))[0]]
            if issue_type.name == "Bug":
                summary = f"{rng.choice(NOUNS).capitalize()} {rng.choice(BUG_SYMPTOMS)}"
            else:
                summary = f"{rng.choice(VERBS)} the {rng.choice(NOUNS)}"
        else:
            issue_type = types["Sub-task"]
            summary = f"{rng.choice(('Write tests for', 'Review', 'Implement', 'Update docs of'))} the {rng.choice(NOUNS)}"
        age_days = (now - created).days
        roll = rng.random()
        if age_days > 60:
            status = catalog.DONE_STATUS if roll < 0.8 else "3" if roll < 0.9 else catalog.INITIAL_STATUS
        elif age_days > 14:
            status = catalog.DONE_STATUS if roll < 0.4 else "3" if roll < 0.6 else "10001" if roll < 0.7 else catalog.INITIAL_STATUS
        else:
            status = catalog.INITIAL_STATUS if roll < 0.6 else "3"
        reporter = rng.choice(everyone)
        assignee = rng.choice(active_people + [None]) if status != catalog.INITIAL_STATUS or rng.random() < 0.5 else None
        labels = rng.sample(LABELS, rng.choice((0, 0, 1, 1, 2, 3)))
        custom = {}
        if level == 0 and issue_type.name == "Story":
            custom[catalog.STORY_POINTS_FIELD] = rng.choice((1, 2, 3, 5, 8, 13))
        if issue_type.name == "Bug":
            severity = fields["customfield_10030"].options
            custom["customfield_10030"] = rng.choice(severity)["id"]
        if rng.random() < 0.4:
            custom["customfield_10031"] = [o["id"] for o in rng.sample(fields["customfield_10031"].options, rng.randint(1, 3))]
        if rng.random() < 0.3:
            custom["customfield_10032"] = round(rng.uniform(0.5, 15), 1)
        if rng.random() < 0.3:
            custom["customfield_10033"] = (created + timedelta(days=rng.randint(7, 90))).date().isoformat()
        if rng.random() < 0.3:
            custom["customfield_10034"] = rng.choice(active_people).account_id if site.kind == "jira_cloud" else rng.choice(active_people).name
        if rng.random() < 0.2:
            custom["customfield_10035"] = rng.sample(("v1.2", "v2.0", "hotfix", "beta"), rng.randint(1, 2))
        if rng.random() < 0.25:
            custom["customfield_10036"] = rng.choice(("Globex", "Initech", "Umbrella GmbH", "株式会社サンプル", "Société Générale"))
        if level >= 0 and rng.random() < 0.3:
            custom["customfield_10037"] = _rich(site, [("bullet", "Given a user|When they act|Then it works")])
        if rng.random() < 0.15:
            custom["customfield_10038"] = f"https://wiki.example.com/spec/{number}"
        with_image = level >= 0 and rng.random() < 0.08
        image_media = None
        blocks = [("p", f"{summary}. Context from the customer call on {created:%d %B}.")]
        if rng.random() < 0.5:
            blocks.append(("bullet", "Reproduce locally|Write the fix|Add a regression test"))
        if rng.random() < 0.15:
            blocks.append(("code", "def retry(n):\n    return min(2 ** n, 60)"))
        if rng.random() < 0.1:
            blocks.append(("p", "Описание на русском: проверить экспорт. 中文说明：检查导出。"))
        if with_image:
            image_media = uuid.UUID(int=rng.getrandbits(128), version=4)
            filename = f"screenshot-{number}.png"
            blocks.append(("image", f"{image_media}|{filename}" if site.kind == "jira_cloud" else filename))
        description = _rich(site, blocks) if rng.random() < 0.9 else None
        updated = min(now, created + timedelta(days=rng.uniform(0, min(age_days, 60) + 0.01)))
        resolution = catalog.DONE_RESOLUTION if status == catalog.DONE_STATUS else ""
        if status == catalog.DONE_STATUS and issue_type.name == "Bug" and rng.random() < 0.15:
            resolution = rng.choice(("10001", "10002", "10003"))
        issue_rows.append(JiraIssue(
            site=site, project=project, issue_type=issue_type, number=number, key=f"{key}-{number}", summary=summary[:255],
            description=description, status_id=status, priority_id=rng.choices(list(catalog.PRIORITIES), (5, 15, 55, 20, 5))[0],
            resolution_id=resolution, reporter=reporter, creator=reporter, assignee=assignee,
            labels=labels, labels_index="|" + "|".join(labels) + "|" if labels else "",
            component_ids=[], custom=custom, rank=number * 100,
            duedate=(created + timedelta(days=rng.randint(10, 60))).date() if rng.random() < 0.2 else None,
            created=created, updated=updated, resolutiondate=updated if status == catalog.DONE_STATUS else None,
        ))
        plan.append({"level": level, "image": (image_media, f"screenshot-{number}.png") if with_image else None,
                     "components": rng.sample(components, rng.choice((0, 1, 1, 2)))})

    # Ids follow the keys, as in Jira; parents are set once every issue has its id.
    JiraIssue.objects.bulk_create(issue_rows, batch_size=500)
    epics, standard, subtasks = [], [], []
    for issue, extra in zip(issue_rows, plan, strict=True):
        if extra["level"] == 1:
            epics.append(issue)
        elif extra["level"] == 0:
            if epics and rng.random() < 0.75:
                issue.parent = rng.choice(epics[-12:])
            standard.append(issue)
        else:
            if standard:
                issue.parent = rng.choice(standard[-30:])
            else:  # nothing to hang it under yet: it becomes a task
                issue.issue_type = types["Task"]
            subtasks.append(issue)
    JiraIssue.objects.bulk_update(standard + subtasks, ["parent", "issue_type"], batch_size=500)
    project.next_number = start_number + items
    project.save(update_fields=["next_number"])

    for issue, extra in zip(issue_rows, plan, strict=True):
        issue.component_ids = [c.pk for c in extra["components"]]
    JiraIssue.objects.bulk_update(issue_rows, ["component_ids"], batch_size=500)

    sprint_through = JiraIssue.sprints.through
    memberships, changelogs, comments, attachments, links, remote_links, properties = [], [], [], [], [], [], []
    png = _png(64, 48, (52, 101, 164))
    for issue, extra in zip(issue_rows, plan, strict=True):
        level = extra["level"]
        # Sprint membership follows the status and the age; some issues were carried over a sprint.
        issue_sprints = []
        if level == 0 or (level == -1 and issue.parent and issue.parent.issue_type_id != types["Epic"].pk):
            if issue.status_id == catalog.DONE_STATUS and closed:
                first = min(len(closed) - 1, max(0, int((issue.created - origin).days // SPRINT_DAYS)))
                issue_sprints.append(closed[first])
                if rng.random() < 0.2 and first + 1 < len(closed):
                    issue_sprints.append(closed[first + 1])
            elif issue.status_id != catalog.INITIAL_STATUS:
                issue_sprints.append(active)
            elif rng.random() < 0.5 and future:
                issue_sprints.append(rng.choice(future))
        memberships += [sprint_through(jiraissue_id=issue.pk, jirasprint_id=s.pk) for s in issue_sprints]
        changelogs += _history(issue, rng, active_people, issue_sprints)
        for _ in range(rng.choices((0, 1, 2, 3, 5), (30, 30, 20, 15, 5))[0]):
            author = rng.choice(everyone)
            when = issue.created + (issue.updated - issue.created) * rng.random()
            blocks = [("p", rng.choice(("Looks good to me.", "Can we split this?", "Deployed to staging, please verify.",
                                        "Je confirme le problème.", "再現しました。", "Blocked by the API change.")))]
            if rng.random() < 0.25:
                other = rng.choice(active_people)
                blocks.append(("mention", f"{other.account_id}|{other.display_name}" if site.kind == "jira_cloud" else other.name))
            visibility = {"type": "role", "value": "Developers"} if rng.random() < 0.05 else None
            comments.append(JiraComment(issue=issue, author=author, update_author=author, body=_rich(site, blocks),
                                        visibility=visibility, created=when, updated=when))
        if extra["image"]:
            media_id, filename = extra["image"]
            attachments.append(JiraAttachment(issue=issue, author=issue.reporter, filename=filename, mime_type="image/png",
                                              size=len(png), content=png, media_id=media_id, created=issue.created))
        if rng.random() < 0.05:
            text = f"Log of {issue.key}\nline 2: ünïcödé\n".encode()
            attachments.append(JiraAttachment(issue=issue, author=issue.reporter, filename=f"{issue.key.lower()}-log.txt",
                                              mime_type="text/plain", size=len(text), content=text,
                                              created=issue.updated))
        if rng.random() < 0.05:
            remote_links.append(JiraRemoteLink(issue=issue, global_id=f"git-commit-{issue.pk}", relationship="mentioned in",
                                               object={"url": f"https://git.example.com/acme/commit/{issue.pk:040x}",
                                                       "title": f"Commit for {issue.key}"},
                                               application={"type": "com.example.git", "name": "Git"}))
        if rng.random() < 0.02:
            properties.append(JiraEntityProperty(issue=issue, key="migrayt.sample", value={"origin": "seed", "n": issue.number}))
    seen_links = set()
    for issue in standard + subtasks:
        if rng.random() < 0.25 and len(standard) > 1:
            other = rng.choice(standard)
            type_id = rng.choices(list(catalog.LINK_TYPES), (35, 5, 10, 50))[0]
            if other.pk != issue.pk and (type_id, issue.pk, other.pk) not in seen_links:
                seen_links.add((type_id, issue.pk, other.pk))
                links.append(JiraIssueLink(site=site, link_type_id=type_id, inward_issue=other, outward_issue=issue))
    sprint_through.objects.bulk_create(memberships, batch_size=1000)
    JiraChangelog.objects.bulk_create(changelogs, batch_size=1000)
    JiraComment.objects.bulk_create(comments, batch_size=1000)
    JiraAttachment.objects.bulk_create(attachments, batch_size=200)
    JiraIssueLink.objects.bulk_create(links, batch_size=1000)
    JiraRemoteLink.objects.bulk_create(remote_links, batch_size=1000)
    remote_links += _web_links(issue_rows, random.Random(f"weblinks:{key}:{items}"))
    JiraEntityProperty.objects.bulk_create(properties, batch_size=1000)
    worklogs = _time_tracking(site, issue_rows, plan, active_people, random.Random(f"worklogs:{key}:{items}"))
    version_changes = _fix_versions(project, issue_rows, plan, active_people, now,
                                    random.Random(f"versions:{key}:{items}"))
    return {"layout": "source", "worklogs": worklogs, "version_changes": version_changes, "project": key, "issues": items, "epics": len(epics), "standard": len(standard),
            "subtasks": len([s for s in subtasks if s.parent_id]), "users": len(people), "sprints": len(sprints),
            "changelogs": len(changelogs), "comments": len(comments), "attachments": len(attachments),
            "links": len(links), "remote_links": len(remote_links)}


def _web_links(issue_rows, rng) -> list[JiraRemoteLink]:
    """Web links on about a fifth of the issues (a GitLab commit, a Confluence page, or both), as Jira's
    development and Confluence integrations leave them: its own random stream, so the rest of the seed is as
    it was before them, and a small project has a few too."""
    made = []
    for issue in issue_rows:
        if rng.random() >= 0.2:
            continue
        if rng.random() < 0.7:
            sha = f"{rng.getrandbits(160):040x}"
            made.append(JiraRemoteLink(issue=issue, relationship="mentioned on", object={
                "url": f"https://gitlab.example.com/acme/app/-/commit/{sha}",
                "title": f"Commit - {issue.key}: {issue.summary[:60]}", "icon": {"title": "GitLab"}}))
        if rng.random() < 0.5:
            page = rng.randint(100000, 999999)
            made.append(JiraRemoteLink(issue=issue, global_id=f"appId=confluence&pageId={page}", relationship="Wiki Page",
                                       object={"url": f"https://acme.atlassian.net/wiki/pages/viewpage.action?pageId={page}",
                                               "title": "Wiki Page"},
                                       application={"type": "com.atlassian.confluence", "name": "Confluence"}))
    return JiraRemoteLink.objects.bulk_create(made, batch_size=1000)


def _time_tracking(site, issue_rows, plan, people, rng) -> int:
    """Estimates on about half of the stories, tasks and sub-tasks, and work logged on those begun (its own
    random stream, so the rest of the seed is as it was before time tracking)."""
    estimated, worklogs = [], []
    texts = ("Investigated the root cause.", "Pair programming with the team.", "Code review and fixes.",
             "Tests écrits et relus.", "")
    for issue, extra in zip(issue_rows, plan, strict=True):
        if extra["level"] > 0 or rng.random() < 0.5:
            continue
        issue.original_estimate_seconds = rng.choice((1, 2, 4, 8, 16, 24)) * 3600
        spent = 0
        if issue.status_id != catalog.INITIAL_STATUS:
            for n in range(rng.choice((1, 1, 2, 3))):
                seconds = rng.choice((15, 30, 60, 90, 120, 240)) * 60
                spent += seconds
                started = issue.created + (issue.updated - issue.created) * ((n + 1) / 4)
                text = rng.choice(texts)
                worklogs.append(JiraWorklog(issue=issue, author=rng.choice(people), started=started,
                                            time_spent_seconds=seconds, created=started, updated=started,
                                            comment=_rich(site, [("p", text)]) if text else None))
        issue.remaining_estimate_seconds = 0 if issue.status_id == catalog.DONE_STATUS else max(
            0, issue.original_estimate_seconds - spent)
        estimated.append(issue)
    JiraIssue.objects.bulk_update(estimated, ["original_estimate_seconds", "remaining_estimate_seconds"], batch_size=500)
    JiraWorklog.objects.bulk_create(worklogs, batch_size=1000)
    return len(worklogs)


def _fix_versions(project, issue_rows, plan, people, now, rng) -> int:
    """The project's versions; about a third of the stories and bugs fixed in one (a few in two), some of them
    set after creation through the changelog (added, or moved from another version, one item each, as Jira
    writes them); half of those bugs affecting a released version. Its own random stream, so the rest of the
    seed is as it was before versions. Returns the changelog entries written."""
    versions = [JiraVersion.objects.get_or_create(project=project, name=name, defaults={
        "released": released, "description": f"Release {name}",
        "release_date": (now + timedelta(days=days)).date() if days is not None else None})[0]
        for name, released, days in VERSIONS]
    released = [v for v in versions if v.released]
    fixed, entries = [], []
    for issue, extra in zip(issue_rows, plan, strict=True):
        if extra["level"] != 0 or issue.issue_type.name not in ("Story", "Bug") or rng.random() >= 0.34:
            continue
        final = rng.sample(versions, rng.choice((1, 1, 1, 2)))
        issue.fix_version_ids = [v.pk for v in final]
        if issue.issue_type.name == "Bug" and rng.random() < 0.5:
            issue.affects_version_ids = [rng.choice(released).pk]
        fixed.append(issue)
        roll = rng.random()
        if roll >= 0.5:
            continue  # fixed in it from the start
        items = [{"field": "Fix Version", "fieldtype": "jira", "fieldId": "fixVersions", "from": None,
                  "fromString": None, "to": str(final[0].pk), "toString": final[0].name}]
        if roll < 0.2:  # moved from another version
            other = rng.choice([v for v in versions if v not in final])
            items.append({"field": "Fix Version", "fieldtype": "jira", "fieldId": "fixVersions", "from": str(other.pk),
                          "fromString": other.name, "to": None, "toString": None})
        entries.append(JiraChangelog(issue=issue, author=rng.choice(people), items=items,
                                     created=issue.created + (issue.updated - issue.created) * rng.uniform(0.1, 0.9)))
    JiraIssue.objects.bulk_update(fixed, ["fix_version_ids", "affects_version_ids"], batch_size=500)
    JiraChangelog.objects.bulk_create(entries, batch_size=1000)
    return len(entries)


def _history(issue: JiraIssue, rng, people, sprints) -> list[JiraChangelog]:
    """Changelog entries between created and updated: assignee and priority changes, sprint moves and the
    status walk along the company-managed workflow to the issue's current status."""
    path = {"10000": [], "3": ["3"], "10001": ["3", "10001"], "10002": ["3", "10001", "10002"]}[issue.status_id]
    if issue.status_id == catalog.DONE_STATUS and rng.random() < 0.3:
        path = ["3", "10002"]
    moments = sorted(issue.created + (issue.updated - issue.created) * rng.random() for _ in range(len(path) + 3))
    out = []
    when = iter(moments)
    if issue.assignee_id and rng.random() < 0.6:
        out.append(JiraChangelog(issue=issue, author=issue.reporter, created=next(when), items=[{
            "field": "assignee", "fieldtype": "jira", "fieldId": "assignee", "from": None, "fromString": None,
            "to": issue.assignee.account_id, "toString": issue.assignee.display_name}]))
    if rng.random() < 0.2:
        out.append(JiraChangelog(issue=issue, author=rng.choice(people), created=next(when), items=[{
            "field": "priority", "fieldtype": "jira", "fieldId": "priority", "from": "4", "fromString": "Low",
            "to": issue.priority_id, "toString": catalog.PRIORITIES[issue.priority_id][0]}]))
    for sprint in sprints:
        out.append(JiraChangelog(issue=issue, author=rng.choice(people), created=next(when), items=[{
            "field": "Sprint", "fieldtype": "custom", "fieldId": catalog.SPRINT_FIELD, "from": "", "fromString": "",
            "to": str(sprint.pk), "toString": sprint.name}]))
        break
    previous = catalog.INITIAL_STATUS
    for status in path:
        items = [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": previous,
                  "fromString": catalog.STATUSES[previous][0], "to": status, "toString": catalog.STATUSES[status][0]}]
        if status == catalog.DONE_STATUS:
            items.append({"field": "resolution", "fieldtype": "jira", "fieldId": "resolution", "from": None,
                          "fromString": None, "to": issue.resolution_id,
                          "toString": catalog.RESOLUTIONS[issue.resolution_id or catalog.DONE_RESOLUTION][0]})
        moment = next(when, issue.updated)
        out.append(JiraChangelog(issue=issue, author=issue.assignee or issue.reporter, created=moment, items=items))
        previous = status
    return out

