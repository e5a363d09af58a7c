"""The outside model through the service layer, against a local OpenAI-compatible server: nothing leaves
without an admin's consent and the exact payload the person saw; what leaves is schema only; a bad answer
is refused and the offline draft stands; the audit keeps a hash of what was sent, never the content."""

import hashlib
import json

import pytest

from apps.accounts.models import Membership
from apps.connections.connectors.records import FieldDefinition, FieldType
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from apps.core.testing.factories import MembershipFactory
from apps.core.testing.fake_openai import FakeOpenAI
from apps.mappings import services
from apps.mappings.drafting.proposals import AUTO_ACCEPT
from apps.mappings.models import MappingSet
from apps.mappings.tests.factories import CANARY, ado_agile_catalog, jira_scrum_catalog
from apps.mappings.tests.helpers import drafted_set, row

pytestmark = pytest.mark.django_db

SOURCE_EXTRA = (
    FieldDefinition("Custom.Escalation", "Escalation contact ops@acme-corp.test", FieldType.STRING, is_custom=True),
    FieldDefinition("Custom.Sev", "Sev", FieldType.STRING, is_custom=True,
                    allowed_values=("see https://user:hunter2@wiki.acme.test/sev", "Minor")),
)
DESTINATION_EXTRA = (
    FieldDefinition("customfield_10060", "Escalation owner", FieldType.STRING, is_custom=True),
    FieldDefinition("customfield_10070", "Severity level", FieldType.OPTION, is_custom=True,
                    allowed_values=("Minor", "Major")),
)
NEVER_SENT = ["acme-corp.test", "hunter2", "wiki.acme.test", "Ana Lima", "ana@fabrikam.test", "Bo Chen", CANARY,
              "sk-test-not-a-real-key"]


@pytest.fixture
def uncertain_set(organisation, member):
    return drafted_set(organisation=organisation, actor=member,
                       source=ado_agile_catalog(extra_fields=SOURCE_EXTRA),
                       destination=jira_scrum_catalog(extra_fields=DESTINATION_EXTRA))


@pytest.fixture
def model_on(settings):
    def configure(server):
        settings.MAPPING_LLM_BASE_URL = server.base_url
        settings.MAPPING_LLM_API_KEY = "sk-test-not-a-real-key-123456"
        settings.MAPPING_LLM_MODEL = "local-test"
        settings.MAPPING_LLM_TIMEOUT_SECONDS = 5
    return configure


@pytest.fixture
def run_tasks_now(monkeypatch, django_capture_on_commit_callbacks):
    """The draft task runs in this process when the transaction commits (what the worker would do)."""
    from apps.mappings import tasks

    monkeypatch.setattr(tasks.mapping_set_draft_task, "delay",
                        lambda **kw: services.mapping_set_draft_run(**{k: kw[k] for k in ("mapping_set_id", "use_llm")}))
    return django_capture_on_commit_callbacks


def rows_snapshot(mapping_set):
    return sorted(mapping_set.rows.values_list("kind", "scope", "source", "target", "confidence", "layer"))


def test_nothing_is_sent_unless_configured_and_consented(uncertain_set, member, model_on, settings):
    settings.MAPPING_LLM_API_KEY = ""
    with pytest.raises(ApplicationError, match="No outside model is configured"):
        services.mapping_set_draft_request(mapping_set=uncertain_set, actor=member, use_llm=True)
    with FakeOpenAI() as server:
        model_on(server)
        sha = services.mapping_set_llm_preview(mapping_set=uncertain_set).sanitised.sha256
        with pytest.raises(ApplicationError, match="must agree") as info:
            services.mapping_set_draft_request(mapping_set=uncertain_set, actor=member, use_llm=True,
                                               payload_sha256=sha)
        assert info.value.status_code == 403
        # Even a draft run asked for directly (a stale queued task) sends nothing without consent.
        services.mapping_set_draft_run(mapping_set_id=uncertain_set.pk, use_llm=True)
        assert server.requests == []
    uncertain_set.refresh_from_db()
    assert "Nothing was sent" in uncertain_set.draft_message


def test_only_an_admin_may_consent_and_secrets_are_not_consentable(uncertain_set, member, organisation):
    plain_member = MembershipFactory(organisation=organisation, role=Membership.Role.MEMBER).user
    with pytest.raises(ApplicationError, match="owner or admin") as info:
        services.mapping_set_consent_give(mapping_set=uncertain_set, actor=plain_member)
    assert info.value.status_code == 403
    with pytest.raises(ApplicationError, match="cannot be consented"):
        services.mapping_set_consent_give(mapping_set=uncertain_set, actor=member, categories=["secret"])
    services.mapping_set_consent_give(mapping_set=uncertain_set, actor=member, categories=["url"])
    uncertain_set.refresh_from_db()
    assert uncertain_set.has_llm_consent and uncertain_set.llm_consent_categories == ["url"]
    services.mapping_set_consent_withdraw(mapping_set=uncertain_set, actor=member)
    uncertain_set.refresh_from_db()
    assert not uncertain_set.has_llm_consent
    actions = set(AuditEvent.objects.for_organisation(organisation).values_list("action", flat=True))
    assert {"mapping.llm_consent_given", "mapping.llm_consent_withdrawn"} <= actions


def test_the_payload_sent_is_the_one_shown_schema_only_and_audited_by_hash(uncertain_set, member, organisation,
                                                                          model_on, run_tasks_now):
    services.mapping_set_consent_give(mapping_set=uncertain_set, actor=member)
    decided = row(uncertain_set, "field", "System.Title")
    services.mapping_row_decide(row=decided, actor=member, decision="edit", target="summary")
    with FakeOpenAI() as server:
        model_on(server)
        preview = services.mapping_set_llm_preview(mapping_set=uncertain_set)
        with pytest.raises(ApplicationError, match="has changed since it was shown"):
            services.mapping_set_draft_request(mapping_set=uncertain_set, actor=member, use_llm=True,
                                               payload_sha256="0" * 64)
        assert server.requests == []
        with run_tasks_now(execute=True):
            services.mapping_set_draft_request(mapping_set=uncertain_set, actor=member, use_llm=True,
                                               payload_sha256=preview.sanitised.sha256)
        assert len(server.requests) == 1
        sent = server.requests[0]
        user_message = next(m["content"] for m in sent["messages"] if m["role"] == "user")

    assert sent["store"] is False and sent["model"] == "local-test"
    assert server.user_payload() == preview.payload  # exactly what the person was shown
    text = json.dumps(sent)
    for secret in NEVER_SENT:
        assert secret not in text, secret
    asked = {q["subject"]["id"] for q in preview.payload["questions"]}
    assert {"Custom.Escalation", "Custom.Sev"} <= asked
    assert "System.Title" not in asked  # certain, and decided by a person: never second-guessed
    assert preview.sanitised.removal_counts() == {"email": 1, "secret": 1, "url": 1}
    assert all(q["kind"] in ("field", "type", "state", "value") for q in preview.payload["questions"])

    uncertain_set.refresh_from_db()
    assert uncertain_set.draft_status == MappingSet.DraftStatus.DONE, uncertain_set.draft_message
    escalation = row(uncertain_set, "field", "Custom.Escalation")
    assert escalation.layer == "llm" and escalation.target == "customfield_10060"
    assert escalation.confidence < AUTO_ACCEPT and escalation.decision == "pending"
    assert escalation.reason.startswith("Suggested by the model")

    sha = hashlib.sha256(user_message.encode()).hexdigest()
    sent_event = AuditEvent.objects.for_organisation(organisation).get(action="mapping.llm_sent")
    assert sent_event.data["payload_sha256"] == sha == preview.sanitised.sha256
    assert set(sent_event.data) == {"model", "payload_sha256", "questions", "removed", "consent"}
    proposed = AuditEvent.objects.for_organisation(organisation).get(action="mapping.llm_proposed")
    assert proposed.actor_kind == "model:local-test" and proposed.actor is None
    assert {"kind": "field", "scope": "", "source": "Custom.Escalation", "target": "customfield_10060"} in \
        proposed.data["rows"]
    requested = AuditEvent.objects.for_organisation(organisation).get(action="mapping.draft_requested",
                                                                      data__layers="llm")
    assert requested.actor == member and requested.data["payload_sha256"] == sha
    every_audit = json.dumps(list(AuditEvent.objects.for_organisation(organisation).values_list("data", flat=True)))
    for secret in NEVER_SENT + ["Escalation owner", "Severity level", "candidates"]:
        assert secret not in every_audit, secret


@pytest.mark.parametrize(("mode", "message"), [
    ("malformed", "did not answer with JSON"),
    ("wrong_shape", "wrong shape"),
    ("foreign_candidate", "not one of the candidates"),
    ("unauthorised", "refused the API key"),
])
def test_a_bad_answer_is_refused_and_the_offline_draft_stands(uncertain_set, member, organisation, model_on,
                                                              run_tasks_now, mode, message):
    services.mapping_set_consent_give(mapping_set=uncertain_set, actor=member)
    before = rows_snapshot(uncertain_set)
    with FakeOpenAI(mode) as server:
        model_on(server)
        sha = services.mapping_set_llm_preview(mapping_set=uncertain_set).sanitised.sha256
        with run_tasks_now(execute=True):
            services.mapping_set_draft_request(mapping_set=uncertain_set, actor=member, use_llm=True,
                                               payload_sha256=sha)
        assert server.requests, "the model was asked"
    uncertain_set.refresh_from_db()
    assert message in uncertain_set.draft_message
    assert uncertain_set.draft_status == MappingSet.DraftStatus.DONE
    assert rows_snapshot(uncertain_set) == before
    refused = AuditEvent.objects.for_organisation(organisation).get(action="mapping.llm_refused")
    assert refused.data["payload_sha256"] == sha and refused.actor_kind == "model:local-test"


def test_rows_changed_after_the_request_mean_nothing_is_sent(uncertain_set, member, model_on,
                                                             django_capture_on_commit_callbacks, monkeypatch):
    from apps.mappings import tasks

    queued = []
    monkeypatch.setattr(tasks.mapping_set_draft_task, "delay", lambda **kw: queued.append(kw))
    services.mapping_set_consent_give(mapping_set=uncertain_set, actor=member)
    with FakeOpenAI() as server:
        model_on(server)
        sha = services.mapping_set_llm_preview(mapping_set=uncertain_set).sanitised.sha256
        with django_capture_on_commit_callbacks(execute=True):
            services.mapping_set_draft_request(mapping_set=uncertain_set, actor=member, use_llm=True,
                                               payload_sha256=sha)
        # Someone decides a row the payload asked about before the worker picks the task up.
        services.mapping_row_decide(row=row(uncertain_set, "field", "Custom.Sev"), actor=member, decision="reject")
        services.mapping_set_draft_run(**queued[0])
        assert server.requests == []
    uncertain_set.refresh_from_db()
    assert "rows changed after the payload was shown" in uncertain_set.draft_message
