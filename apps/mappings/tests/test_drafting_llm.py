"""The LLM layer against a local OpenAI-compatible server: what is sent, and what is refused."""

import json

import pytest

from apps.connections.connectors.base import Catalog
from apps.connections.connectors.records import FieldDefinition, FieldType, Person, Project, WorkItemType
from apps.core.testing.fake_openai import FakeOpenAI
from apps.mappings.drafting.llm import (
    LlmAnswerInvalid,
    LlmConfig,
    LlmError,
    llm_questions,
    llm_refine,
    proposals_merge,
)
from apps.mappings.drafting.proposals import AUTO_ACCEPT, Kind, Proposal
from apps.mappings.sanitise import Category, scrub

CANARY = "CANARY-7f3a-ticket-text"


def catalogs():
    source = Catalog(
        Project("1", "P", "P"),
        work_item_types=[WorkItemType("User Story", "User Story")],
        fields=[
            FieldDefinition("Custom.Escalation", "Escalation contact ops@acme-corp.test", FieldType.STRING, is_custom=True),
            FieldDefinition("Custom.Sev", "Sev", FieldType.STRING, is_custom=True,
                            allowed_values=("see https://user:hunter2@wiki.acme.test/sev", "Minor")),
        ],
        people=[Person("p1", "Dana Secretname", "dana@acme-corp.test")],
    )
    destination = Catalog(
        Project("10", "D", "D"),
        work_item_types=[WorkItemType("2", "Story")],
        fields=[FieldDefinition("customfield_1", "Escalation contact", FieldType.STRING, is_custom=True),
                FieldDefinition("customfield_2", "Severity level", FieldType.OPTION, is_custom=True,
                                allowed_values=("Minor", "Major"))],
    )
    return source, destination


def offline():
    return [
        Proposal(Kind.FIELD, "Custom.Escalation", None, 0.5, "no match", "fallback", source_label="Escalation"),
        Proposal(Kind.FIELD, "Custom.Sev", None, 0.5, "no match", "fallback", source_label="Sev"),
        Proposal(Kind.TYPE, "User Story", "2", 0.95, "Story", "standard", source_label="User Story"),
        Proposal(Kind.PERSON, "p1", None, 0.7, "no account", "fallback", source_label="Dana Secretname"),
    ]


def config(server, **kw):
    return LlmConfig(base_url=server.base_url, api_key="sk-test-not-a-real-key-123456", model="local", **kw)


def test_payload_holds_schema_only_and_nothing_the_sanitiser_removes():
    source, destination = catalogs()
    questions = llm_questions(proposals=offline(), source=source, destination=destination, direction="ado->jira")
    with FakeOpenAI() as server:
        improved = llm_refine(config=config(server), questions=questions)
        sent = server.requests[0]
    text = json.dumps(sent)
    assert sent["store"] is False
    assert "acme-corp.test" not in text and "hunter2" not in text and "wiki.acme.test" not in text
    assert "Dana" not in text and "Secretname" not in text  # people are never part of the payload
    assert CANARY not in text
    # Only the uncertain rows were asked about; the certain type mapping was not.
    asked = {q["subject"]["id"] for q in server.user_payload()["questions"]}
    assert asked == {"Custom.Escalation", "Custom.Sev"}
    # What was sent is exactly what the person can be shown, and its hash is what the audit keeps.
    assert server.user_payload() == questions.payload
    assert questions.sanitised.removal_counts() == {"email": 1, "secret": 1, "url": 1}
    assert {p.source: p.target for p in improved} == {"Custom.Escalation": "customfield_1", "Custom.Sev": "customfield_2"}
    assert all(p.layer == "llm" and p.confidence < AUTO_ACCEPT for p in improved)
    merged = proposals_merge(offline(), improved)
    assert [p.target for p in merged][:2] == ["customfield_1", "customfield_2"]


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("malformed", "did not answer with JSON"),
        ("wrong_shape", "wrong shape"),
        ("foreign_candidate", "not one of the candidates"),
        ("unknown_question", "did not ask"),
    ],
)
def test_a_bad_answer_is_refused_with_a_clear_message(mode, message):
    source, destination = catalogs()
    questions = llm_questions(proposals=offline(), source=source, destination=destination, direction="ado->jira")
    with FakeOpenAI(mode) as server, pytest.raises(LlmAnswerInvalid, match=message) as info:
        llm_refine(config=config(server), questions=questions)
    assert "offline draft stands" in str(info.value)


@pytest.mark.parametrize(("mode", "message"), [("error", "error \\(500\\)"), ("unauthorised", "refused the API key")])
def test_endpoint_failures_are_explained(mode, message):
    source, destination = catalogs()
    questions = llm_questions(proposals=offline(), source=source, destination=destination, direction="ado->jira")
    with FakeOpenAI(mode) as server, pytest.raises(LlmError, match=message):
        llm_refine(config=config(server, max_retries=0), questions=questions)


def test_a_slow_model_times_out():
    source, destination = catalogs()
    questions = llm_questions(proposals=offline(), source=source, destination=destination, direction="ado->jira")
    with FakeOpenAI("slow") as server, pytest.raises(LlmError, match="did not answer within"):
        llm_refine(config=config(server, timeout_s=0.5, max_retries=0), questions=questions)


def test_nothing_uncertain_means_no_call():
    source, destination = catalogs()
    certain = [p for p in offline() if p.confidence >= AUTO_ACCEPT]
    questions = llm_questions(proposals=certain, source=source, destination=destination, direction="ado->jira")
    with FakeOpenAI() as server:
        assert llm_refine(config=config(server), questions=questions) == []
        assert server.requests == []


def test_scrub_keeps_consented_categories_but_never_secrets():
    text = "mail ops@acme.test at https://acme.test/x token=abc123 key AKIAABCDEFGHIJKLMNOP"
    clean, found = scrub(text, consent=frozenset({Category.EMAIL, Category.URL}))
    assert "ops@acme.test" in clean and "https://acme.test/x" in clean
    assert "abc123" not in clean and "AKIA" not in clean
    assert found.count(Category.SECRET) == 2
