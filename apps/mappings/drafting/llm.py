"""Layer 3: a large language model, through any OpenAI-compatible endpoint, asked only about what the
offline layers left uncertain, and given only sanitised schema metadata.

The caller (a service that has checked the organisation's consent) builds the questions with
`llm_questions()`, shows the person `questions.payload` if they want to see it, then calls `llm_refine()`.
The answer is validated here: JSON of the agreed shape, every answer about a question we asked, every
target one of the candidates we offered. Anything else is refused with a clear message and the offline
draft stands. The model's proposals are never auto-accepted.
"""

import json
from dataclasses import dataclass, field

import jsonschema

from apps.connections.connectors.base import Catalog
from apps.mappings.drafting import knowledge as k
from apps.mappings.drafting.proposals import AUTO_ACCEPT, Kind, Proposal
from apps.mappings.sanitise import Category, SanitisedPayload, sanitise

MAX_QUESTIONS = 60
MAX_CANDIDATES = 40
LLM_MAX_CONFIDENCE = AUTO_ACCEPT - 0.01

SYSTEM_PROMPT = (
    "You help map the schema of one issue tracker onto another (Azure DevOps and Jira). You receive "
    "questions about work item types, fields, statuses and values, each with the candidates the destination "
    "offers. Answer every question with the id of the best candidate, or null when none fits, a confidence "
    "between 0 and 1, and a one-sentence reason. Use only the candidates given. Reply with JSON only."
)

ANSWER_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["answers"],
    "properties": {
        "answers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "target", "confidence", "reason"],
                "properties": {
                    "id": {"type": "string"},
                    "target": {"type": ["string", "null"]},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "reason": {"type": "string", "minLength": 1, "maxLength": 400},
                },
            },
        }
    },
}


class LlmError(Exception):
    """The model could not help; the message says why in plain words. The offline draft stands."""


class LlmAnswerInvalid(LlmError):
    pass


@dataclass(frozen=True)
class LlmConfig:
    base_url: str
    api_key: str = field(repr=False)
    model: str
    timeout_s: float = 30.0
    max_retries: int = 2


@dataclass
class Questions:
    sanitised: SanitisedPayload
    candidates: dict[str, set[str]]  # question id -> the target ids offered
    proposals: dict[str, Proposal]  # question id -> the offline proposal it may replace

    @property
    def payload(self) -> dict:
        return self.sanitised.payload


def llm_questions(
    *,
    proposals: list[Proposal],
    source: Catalog,
    destination: Catalog,
    direction: str,
    consent: frozenset[Category] = frozenset(),
) -> Questions:
    """The questions worth asking: proposals below the auto-accept confidence, about schema only (never
    people), each with the destination's candidates."""
    src_fields = {f.source_id: f for f in source.fields}
    dst_fields = [f for f in destination.fields if not f.read_only]
    claimed = {p.target for p in proposals if p.kind == Kind.FIELD and p.target and p.confidence >= AUTO_ACCEPT}
    dst_values = {f.source_id: f.allowed_values for f in destination.fields}
    questions, candidates, by_id = [], {}, {}
    for p in proposals:
        if p.confidence >= AUTO_ACCEPT or p.kind not in (Kind.FIELD, Kind.TYPE, Kind.STATE, Kind.VALUE):
            continue
        if len(questions) >= MAX_QUESTIONS:
            break
        if p.kind == Kind.FIELD:
            sf = src_fields.get(p.source)
            if sf is None:
                continue
            offered = [f for f in dst_fields if f.source_id not in claimed and k.transform_between(sf, f)]
            subject = {"id": sf.source_id, "name": sf.name, "type": str(sf.type),
                       "allowed_values": list(sf.allowed_values)[:30]}
            options = [{"id": f.source_id, "name": f.name, "type": str(f.type)} for f in offered[:MAX_CANDIDATES]]
        elif p.kind == Kind.TYPE:
            subject = {"id": p.source, "name": p.source_label}
            options = [{"id": t.source_id, "name": t.name, "level": t.hierarchy_level}
                       for t in destination.work_item_types if not t.disabled]
        elif p.kind == Kind.STATE:
            subject = {"id": p.source, "name": p.source_label, "of_type": p.scope}
            names = {s.name: s for t in destination.work_item_types for s in t.states}
            options = [{"id": n, "name": n, "category": str(s.category)} for n, s in names.items()]
        else:
            target_field = next((q.target for q in proposals if q.kind == Kind.FIELD and q.source == p.scope), None)
            subject = {"id": p.source, "value": p.source_label, "of_field": p.scope}
            options = [{"id": v, "name": v} for v in dst_values.get(target_field, ())][:MAX_CANDIDATES]
        if not options:
            continue
        qid = f"q{len(questions) + 1}"
        questions.append({"id": qid, "kind": str(p.kind), "subject": subject, "candidates": options,
                          "current_guess": p.target})
        candidates[qid] = {o["id"] for o in options}
        by_id[qid] = p
    payload = {"direction": direction, "questions": questions}
    return Questions(sanitise(payload, consent=consent), candidates, by_id)


def llm_refine(*, config: LlmConfig, questions: Questions, http_client=None) -> list[Proposal]:
    """Ask the model and return the proposals it improves (new Proposal objects, layer "llm")."""
    if not questions.payload["questions"]:
        return []
    answer = _ask(config, questions.sanitised, http_client)
    try:
        data = json.loads(answer)
    except (TypeError, ValueError):
        raise LlmAnswerInvalid("The model did not answer with JSON; the offline draft stands.") from None
    try:
        jsonschema.validate(data, ANSWER_SCHEMA)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
        raise LlmAnswerInvalid(f"The model's answer has the wrong shape at {where}: {exc.message}. "
                               "The offline draft stands.") from None
    improved = []
    for item in data["answers"]:
        qid = item["id"]
        if qid not in questions.candidates:
            raise LlmAnswerInvalid(f"The model answered a question we did not ask ({qid!r}); the offline draft stands.")
        target = item["target"]
        if target is not None and target not in questions.candidates[qid]:
            raise LlmAnswerInvalid(f"The model proposed {target!r}, which is not one of the candidates offered for "
                                   f"{qid}; the offline draft stands.")
        offline = questions.proposals[qid]
        if target is None or target == offline.target:
            continue
        improved.append(Proposal(
            kind=offline.kind, source=offline.source, target=target,
            confidence=min(float(item["confidence"]), LLM_MAX_CONFIDENCE),
            reason=f"Suggested by the model: {item['reason'].strip()}", layer="llm",
            transform=offline.transform, scope=offline.scope, source_label=offline.source_label, target_label=target,
        ))
    return improved


def _ask(config: LlmConfig, sanitised: SanitisedPayload, http_client) -> str:
    import openai

    client = openai.OpenAI(base_url=config.base_url, api_key=config.api_key, timeout=config.timeout_s,
                           max_retries=config.max_retries, http_client=http_client)
    try:
        response = client.chat.completions.create(
            model=config.model,
            messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": sanitised.text}],
            response_format={"type": "json_schema",
                             "json_schema": {"name": "mapping_answers", "schema": ANSWER_SCHEMA, "strict": True}},
            temperature=0,
            store=False,  # Zero Data Retention: the provider must not keep the exchange
        )
    except openai.AuthenticationError:
        raise LlmError("The model endpoint refused the API key.") from None
    except openai.APITimeoutError:
        raise LlmError(f"The model did not answer within {config.timeout_s:.0f} seconds.") from None
    except openai.APIConnectionError:
        raise LlmError("The model endpoint could not be reached.") from None
    except openai.APIStatusError as exc:
        raise LlmError(f"The model endpoint answered with an error ({exc.status_code}).") from None
    if not response.choices:
        raise LlmAnswerInvalid("The model returned no answer; the offline draft stands.")
    return response.choices[0].message.content or ""


def proposals_merge(offline: list[Proposal], improved: list[Proposal]) -> list[Proposal]:
    """The draft with the model's improvements in place of the offline proposals they replace."""
    by_key = {p.key(): p for p in improved}
    return [by_key.get(p.key(), p) for p in offline]
