"""The seed generator: a realistic project of any size, written with bulk inserts (no query per item).

Same seed, same project. What it holds: Epic > Feature > story-level type > Task, and Bugs, up to four
deep; revisions that move state, assignee, iteration, priority and description (a few items with
hundreds); comments by several people over months, each one a revision as in the service; links of every
kind on both ends; attachments, some of them images shown inline; tags; area and iteration trees with
dates; custom fields (picklist, number, date, identity, HTML); non-Latin text and emoji; long HTML with
tables, code and nested lists; people who have left (inactive) or were deleted.
"""

from __future__ import annotations

import random
import struct
import zlib
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.sandbox.ado.models import AdoAttachment, AdoComment, AdoField, AdoIdentity, AdoUpdate, AdoWorkItem
from apps.sandbox.ado.processes import HIERARCHY, type_def
from apps.sandbox.ado.projects import nodes_ensure, project_create
from apps.sandbox.ado.render import identity_ref, iso
from apps.sandbox.ado.wit import FAR_FUTURE, next_ids

PEOPLE = [
    ("Jamal Hartnett", "jamal.hartnett@fabrikam.example", True, False),
    ("Chuck Reinhart", "chuck.reinhart@fabrikam.example", True, False),
    ("Zoë Ångström", "zoe.angstrom@fabrikam.example", True, False),
    ("张伟", "zhang.wei@fabrikam.example", True, False),
    ("Олег Петров", "oleg.petrov@fabrikam.example", True, False),
    ("Aïcha Benali", "aicha.benali@fabrikam.example", True, False),
    ("佐藤 花子", "hanako.sato@fabrikam.example", True, False),
    ("Priya Natarajan", "priya.natarajan@fabrikam.example", True, False),
    ("Mateus Gonçalves", "mateus.goncalves@fabrikam.example", True, False),
    ("Johnnie McLeod", "johnnie.mcleod@fabrikam.example", False, False),  # left the company
    ("Ravi Shankar", "ravi.shankar@fabrikam.example", False, False),  # left the company
    ("Deleted User", "former.contractor@fabrikam.example", False, True),
]
CUSTOM_FIELDS = [
    ("Custom.Customer", "Customer", "string", ["Contoso", "Northwind", "Tailspin Toys", "Wide World Importers", "Ålesund Kommune"]),
    ("Custom.RiskScore", "Risk Score", "double", []),
    ("Custom.Deadline", "Contract Deadline", "dateTime", []),
    ("Custom.Reviewer", "Reviewer", "identity", []),
    ("Custom.ReleaseNotes", "Release Notes", "html", []),
]
AREAS = ["Web", "Web\\Checkout", "Web\\Catalogue", "Mobile", "Mobile\\iOS", "Mobile\\Android", "Platform", "Platform\\Data"]
TAGS = ["backend", "frontend", "security", "performance", "tech-debt", "customer-reported", "accessibility", "i18n",
        "регрессия", "緊急", "🚀 launch"]
WORDS = ("checkout basket payment catalogue search login session cache invoice export report latency retry "
         "webhook token profile address shipping discount coupon audit migration index queue").split()
NON_LATIN = ["支付失败时显示错误", "Ошибка при оформлении заказа", "ログイン画面の表示が崩れる", "خطأ في صفحة الدفع",
             "Überprüfung der Lieferadresse", "결제 페이지 오류", "Ελληνικά: σφάλμα πληρωμής"]
EMOJI = ["🚀", "🐛", "🔥", "✅", "⚠️", "💡", "🎉"]


def _png(rng: random.Random, size: int = 8) -> bytes:
    """A small valid PNG of one random colour."""
    colour = bytes(rng.randrange(256) for _ in range(3))
    raw = b"".join(b"\x00" + colour * size for _ in range(size))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


class _Generator:
    def __init__(self, site, project, rng: random.Random, people, base_url: str):
        self.site, self.project, self.rng = site, project, rng
        self.people = people
        self.active = [p for p in people if p.is_active and not p.is_deleted]
        self.refs = {p.pk: identity_ref(p, site.slug) for p in people}
        self.base_url = base_url

    def person(self, *, active_only=False):
        pool = self.active if active_only or self.rng.random() < 0.85 else self.people
        return self.refs[self.rng.choice(pool).pk]

    def sentence(self, n=6):
        words = [self.rng.choice(WORDS) for _ in range(n)]
        if self.rng.random() < 0.15:
            words.append(self.rng.choice(NON_LATIN))
        if self.rng.random() < 0.1:
            words.append(self.rng.choice(EMOJI))
        return " ".join(words).capitalize()

    def description(self, images: list[AdoAttachment], long: bool = False) -> str:
        rng = self.rng
        parts = [f"<div><p>{self.sentence(12)}.</p>"]
        if rng.random() < 0.4 or long:
            parts.append("<ul><li>" + self.sentence(4) + "<ol><li>" + self.sentence(3) + "</li><li>" + self.sentence(3)
                         + "</li></ol></li><li>" + self.sentence(5) + "</li></ul>")
        if rng.random() < 0.25 or long:
            rows = "".join(f"<tr><td>{rng.choice(WORDS)}</td><td>{rng.randint(1, 999)}</td><td>{rng.choice(EMOJI)}</td></tr>"
                           for _ in range(rng.randint(2, 6)))
            parts.append(f"<table><thead><tr><th>Item</th><th>Count</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table>")
        if rng.random() < 0.2 or long:
            parts.append("<pre><code>def retry(request):\n    for attempt in range(5):\n        if send(request):\n"
                         "            return True\n    return False &lt;/code&gt;</code></pre>")
        if images and (rng.random() < 0.08 or long):
            image = rng.choice(images)
            parts.append(f'<p><img src="{self.base_url}/{self.project.guid}/_apis/wit/attachments/{image.guid}?fileName={image.file_name}" alt="screenshot"></p>')
        if long:
            parts.extend(f"<h2>Section {i}</h2><p>{self.sentence(40)}</p>" for i in range(rng.randint(30, 60)))
        parts.append("</div>")
        return "".join(parts)


@transaction.atomic
def ado_site_seed(*, site, items: int, seed: int = 1, project: str | None = None, process: str = "Agile") -> dict:
    rng = random.Random(seed)
    now = timezone.now().replace(microsecond=0)
    project_obj = project_create(site=site, name=project or "Fabrikam Fiber", process=process,
                                 description="A generated project: hierarchy, history, comments, links and attachments.")
    name = project_obj.name
    team = project_obj.teams.get()
    base_url = f"{settings.SITE_URL.rstrip('/')}/sandbox/ado/{site.slug}"

    people = []
    for display, email, active, deleted in PEOPLE:
        person, _ = AdoIdentity.objects.get_or_create(site=site, unique_name=email, defaults={
            "display_name": display, "is_active": active, "is_deleted": deleted})
        people.append(person)
    for ref, label, typ, picklist in CUSTOM_FIELDS:
        AdoField.objects.get_or_create(site=site, reference_name=ref, defaults={"name": label, "type": typ, "picklist": picklist})

    areas = nodes_ensure(project=project_obj, structure="area", paths=[f"{name}\\{a}" for a in AREAS])
    start = now - timedelta(days=420)
    iteration_dates, iteration_paths = {}, []
    for release in range(1, 4):
        for sprint in range(1, 7):
            path = f"{name}\\Release {release}\\Sprint {(release - 1) * 6 + sprint}"
            begin = start + timedelta(days=14 * ((release - 1) * 6 + sprint - 1))
            iteration_dates[path] = (begin, begin + timedelta(days=13))
            iteration_paths.append(path)
        iteration_dates[f"{name}\\Release {release}"] = (start + timedelta(days=84 * (release - 1)),
                                                         start + timedelta(days=84 * release - 1))
    iterations = nodes_ensure(project=project_obj, structure="iteration", paths=iteration_paths, dates=iteration_dates)
    area_nodes = [n for p, n in areas.items()]
    iteration_nodes = [iterations[p.lower()] for p in iteration_paths]

    gen = _Generator(site, project_obj, rng, people, base_url)
    attachment_count = max(2, items // 25)
    attachments = []
    for i in range(attachment_count):
        if i % 2 == 0:
            attachments.append(AdoAttachment(site=site, file_name=f"screenshot-{i}.png", content=_png(rng)))
        else:
            text = f"Log {i}\n{gen.sentence(20)}\n".encode()
            name_choice = rng.choice([f"log-{i}.txt", f"отчёт-{i}.txt", f"spec {i}.md"])
            attachments.append(AdoAttachment(site=site, file_name=name_choice, content=text))
    for attachment in attachments:
        attachment.size = len(attachment.content)
    AdoAttachment.objects.bulk_create(attachments, batch_size=500)
    images = [a for a in attachments if a.file_name.endswith(".png")]

    levels = HIERARCHY[process]
    bug_type = "Bug" if type_def(process, "Bug") else None
    plan = _plan(items, levels, bug_type, rng)
    first_id = next_ids(site, "work_item", len(plan))
    first_comment = None
    for offset, row in enumerate(plan):
        row["id"] = first_id + offset

    # Relations, stored on both ends.
    relations: dict[int, list] = {row["id"]: [] for row in plan}
    by_level: dict[int, list] = {}
    for row in plan:
        by_level.setdefault(row["level"], []).append(row)
    for row in plan:
        if row["parent"] is not None:
            parent = plan[row["parent"]]
            relations[row["id"]].append({"rel": "System.LinkTypes.Hierarchy-Reverse", "target_id": parent["id"], "attributes": {"isLocked": False, "name": "Parent"}})
            relations[parent["id"]].append({"rel": "System.LinkTypes.Hierarchy-Forward", "target_id": row["id"], "attributes": {"isLocked": False, "name": "Child"}})
    ids = [row["id"] for row in plan]
    for row in plan:
        roll = rng.random()
        if len(ids) > 1 and roll < 0.06:
            other = rng.choice(ids)
            if other != row["id"] and not any(r.get("target_id") == other for r in relations[row["id"]]):
                relations[row["id"]].append({"rel": "System.LinkTypes.Related", "target_id": other, "attributes": {"isLocked": False, "name": "Related", "comment": "See also"}})
                relations[other].append({"rel": "System.LinkTypes.Related", "target_id": row["id"], "attributes": {"isLocked": False, "name": "Related"}})
        elif len(ids) > 1 and roll < 0.09:
            other = rng.choice(ids)
            if other != row["id"] and not any(r.get("target_id") == other for r in relations[row["id"]]):
                relations[row["id"]].append({"rel": "System.LinkTypes.Dependency-Forward", "target_id": other, "attributes": {"isLocked": False, "name": "Successor"}})
                relations[other].append({"rel": "System.LinkTypes.Dependency-Reverse", "target_id": row["id"], "attributes": {"isLocked": False, "name": "Predecessor"}})
        elif len(ids) > 1 and roll < 0.10 and row["type"] == bug_type:
            other = rng.choice(ids)
            if other != row["id"] and not any(r.get("target_id") == other for r in relations[row["id"]]):
                relations[row["id"]].append({"rel": "System.LinkTypes.Duplicate-Forward", "target_id": other, "attributes": {"isLocked": False, "name": "Duplicate"}})
                relations[other].append({"rel": "System.LinkTypes.Duplicate-Reverse", "target_id": row["id"], "attributes": {"isLocked": False, "name": "Duplicate Of"}})
        if rng.random() < 0.07:
            attachment = rng.choice(attachments)
            relations[row["id"]].append({"rel": "AttachedFile", "attachment_guid": str(attachment.guid),
                                         "attributes": {"name": attachment.file_name, "resourceSize": attachment.size, "comment": ""}})
        if rng.random() < 0.04:
            relations[row["id"]].append({"rel": "Hyperlink", "url": f"https://wiki.fabrikam.example/{rng.choice(WORDS)}", "attributes": {"comment": "Design notes"}})
        if rng.random() < 0.03:
            relations[row["id"]].append({"rel": "ArtifactLink", "url": f"vstfs:///Git/Commit/{project_obj.guid}%2F{project_obj.guid}%2F{rng.getrandbits(160):040x}", "attributes": {"name": "Fixed in Commit"}})

    work_items, updates, comments = [], [], []
    comment_total = sum(row["comments"] for row in plan)
    first_comment = next_ids(site, "comment", comment_total) if comment_total else 0
    comment_id = first_comment
    for row in plan:
        wit = type_def(process, row["type"])
        created = now - timedelta(days=rng.uniform(30, 400))
        steps = row["revisions"]
        span = (now - timedelta(minutes=5) - created).total_seconds()
        times = sorted(created + timedelta(seconds=rng.uniform(1, span)) for _ in range(steps - 1))
        # strictly increasing, as the service guarantees
        dates = [created]
        for t in times:
            dates.append(max(t, dates[-1] + timedelta(milliseconds=10)))
        creator = gen.person(active_only=True)
        area = rng.choice(area_nodes)
        iteration = rng.choice(iteration_nodes)
        fields = {
            "System.Id": row["id"], "System.AreaPath": area.path, "System.TeamProject": name,
            "System.IterationPath": iteration.path, "System.WorkItemType": wit.name, "System.State": wit.initial_state,
            "System.Reason": "New", "System.CreatedDate": iso(created), "System.CreatedBy": creator,
            "System.ChangedDate": iso(created), "System.ChangedBy": creator, "System.AuthorizedDate": iso(created),
            "System.RevisedDate": FAR_FUTURE, "System.Title": gen.sentence(rng.randint(3, 9)),
            "System.AreaId": area.node_id, "System.IterationId": iteration.node_id, "System.CommentCount": 0,
            "System.Rev": 1, "Microsoft.VSTS.Common.StateChangeDate": iso(created),
        }
        if "Microsoft.VSTS.Common.Priority" in wit.extra_fields:
            fields["Microsoft.VSTS.Common.Priority"] = rng.randint(1, 4)
        if rng.random() < 0.8:
            fields["System.Description"] = gen.description(images, long=rng.random() < 0.02)
        if rng.random() < 0.6:
            fields["System.AssignedTo"] = gen.person()
        if rng.random() < 0.4:
            fields["System.Tags"] = "; ".join(sorted(set(rng.sample(TAGS, rng.randint(1, 3)))))
        if "Microsoft.VSTS.Scheduling.StoryPoints" in wit.extra_fields:
            fields["Microsoft.VSTS.Scheduling.StoryPoints"] = float(rng.choice([1, 2, 3, 5, 8, 13]))
        if "Microsoft.VSTS.Scheduling.RemainingWork" in wit.extra_fields:
            fields["Microsoft.VSTS.Scheduling.RemainingWork"] = float(rng.randint(0, 16))
        if "Microsoft.VSTS.Common.Severity" in wit.extra_fields:
            fields["Microsoft.VSTS.Common.Severity"] = rng.choice(["1 - Critical", "2 - High", "3 - Medium", "4 - Low"])
        if rng.random() < 0.3:
            fields["Custom.Customer"] = rng.choice(CUSTOM_FIELDS[0][3])
            fields["Custom.RiskScore"] = round(rng.uniform(0, 10), 2)
            fields["Custom.Deadline"] = iso(created + timedelta(days=rng.randint(30, 200)))
        if rng.random() < 0.15:
            fields["Custom.Reviewer"] = gen.person()
            fields["Custom.ReleaseNotes"] = f"<p><b>{gen.sentence(4)}</b></p><ul><li>{gen.sentence(6)}</li></ul>"
        parent_rel = next((r["target_id"] for r in relations[row["id"]] if r["rel"] == "System.LinkTypes.Hierarchy-Reverse"), None)
        if parent_rel:
            fields["System.Parent"] = parent_rel
        history = [(created, creator, {k: {"newValue": v} for k, v in fields.items()}, relations[row["id"]])]

        comment_revisions = set(rng.sample(range(1, steps), min(row["comments"], steps - 1))) if steps > 1 else set()
        states = wit.state_names
        for step in range(1, steps):
            when = dates[step]
            who = gen.person(active_only=True)
            delta = {}

            def change(ref, value, delta=delta, fields=fields):
                old = fields.get(ref)
                if old == value:
                    return
                entry = {"oldValue": old} if old is not None else {}
                if value is None:
                    fields.pop(ref, None)
                else:
                    fields[ref] = value
                    entry["newValue"] = value
                delta[ref] = entry

            if step in comment_revisions:
                text = f"<div>{gen.sentence(rng.randint(5, 25))}</div>"
                if images and rng.random() < 0.05:
                    image = rng.choice(images)
                    text += f'<div><img src="{base_url}/{project_obj.guid}/_apis/wit/attachments/{image.guid}?fileName={image.file_name}"></div>'
                comments.append(AdoComment(comment_id=comment_id, text=text, format="html", created_by=who,
                                           created_date=when, modified_by=who, modified_date=when,
                                           work_item_id=row["id"]))
                comment_id += 1
                delta["System.History"] = {"newValue": text}
                change("System.CommentCount", int(fields.get("System.CommentCount", 0)) + 1)
            else:
                kind = rng.random()
                if kind < 0.35:
                    index = states.index(fields["System.State"])
                    new_state = states[min(index + 1, len(states) - 1)] if rng.random() < 0.8 else states[max(index - 1, 0)]
                    if new_state != fields["System.State"]:
                        change("System.State", new_state)
                        change("System.Reason", f"Moved to state {new_state}")
                        change("Microsoft.VSTS.Common.StateChangeDate", iso(when))
                elif kind < 0.55:
                    change("System.AssignedTo", gen.person())
                elif kind < 0.7:
                    node = rng.choice(iteration_nodes)
                    change("System.IterationPath", node.path)
                    change("System.IterationId", node.node_id)
                elif kind < 0.85 and "Microsoft.VSTS.Common.Priority" in fields:
                    change("Microsoft.VSTS.Common.Priority", rng.randint(1, 4))
                else:
                    change("System.Description", gen.description(images))
            change("System.Rev", step + 1)
            change("System.ChangedDate", iso(when))
            change("System.ChangedBy", who)
            change("System.AuthorizedDate", iso(when))
            history.append((when, who, delta, None))

        item = AdoWorkItem(site=site, project=project_obj, item_id=row["id"], rev=steps, work_item_type=wit.name,
                           state=fields["System.State"], changed_date=dates[-1], fields=fields, relations=relations[row["id"]])
        work_items.append(item)
        row["history"] = history

    AdoWorkItem.objects.bulk_create(work_items, batch_size=1000)
    pk_of = dict(AdoWorkItem.objects.filter(site=site, project=project_obj).values_list("item_id", "pk"))
    for row in plan:
        for rev, (when, who, delta, added) in enumerate(row.pop("history"), start=1):
            updates.append(AdoUpdate(work_item_id=pk_of[row["id"]], rev=rev, revised_by=who, revised_date=when,
                                     fields=delta, relations={"added": added} if added else {}))
        if len(updates) >= 5000:
            AdoUpdate.objects.bulk_create(updates, batch_size=2500)
            updates = []
    AdoUpdate.objects.bulk_create(updates, batch_size=2500)
    for comment in comments:
        comment.work_item_id = pk_of[comment.work_item_id]
    AdoComment.objects.bulk_create(comments, batch_size=2500)

    return {
        "project": name, "process": process, "team": team.name, "items": len(plan),
        "revisions": sum(row["revisions"] for row in plan), "comments": len(comments),
        "attachments": len(attachments), "people": len(people), "seed": seed,
        "first_id": first_id, "last_id": first_id + len(plan) - 1 if plan else None,
    }


def _plan(items: int, levels: list[str], bug_type: str | None, rng: random.Random) -> list[dict]:
    """Who is what and whose child: a tree 4 deep (Epic > Feature > story > Task) plus Bugs."""
    if items <= 0:
        return []
    shares = {0: 0.03, 1: 0.09, 2: 0.33, 3: 0.40} if len(levels) == 4 else {0: 0.08, 1: 0.40, 2: 0.37}
    plan: list[dict] = []
    counts = {level: max(1, int(items * share)) for level, share in shares.items()}
    total = sum(counts.values())
    bugs = max(0, items - total) if bug_type else 0
    while sum(counts.values()) + bugs > items:  # tiny projects
        deepest = max((lvl for lvl, n in counts.items() if n > 1), default=None)
        if deepest is None:
            break
        counts[deepest] -= 1
    if not bug_type:
        counts[len(levels) - 1] += items - sum(counts.values())
    indices_by_level: dict[int, list[int]] = {}
    for level in sorted(counts):
        for _ in range(counts[level]):
            parent = rng.choice(indices_by_level[level - 1]) if level > 0 and indices_by_level.get(level - 1) else None
            indices_by_level.setdefault(level, []).append(len(plan))
            plan.append({"type": levels[level], "level": level, "parent": parent})
    for _ in range(items - len(plan)):
        stories = indices_by_level.get(min(2, len(levels) - 2), [])
        plan.append({"type": bug_type or levels[-1], "level": 3, "parent": rng.choice(stories) if stories and rng.random() < 0.7 else None})
    plan = plan[:items]
    for index, row in enumerate(plan):
        heavy = rng.random() < 0.01
        row["revisions"] = rng.randint(100, 300) if heavy else rng.randint(1, 7)
        row["comments"] = min(row["revisions"] - 1, rng.randint(0, 4) if not heavy else rng.randint(20, 60))
        row["index"] = index
    return plan
