"""A multilingual churn-reason classifier: character n-gram TF-IDF + logistic regression.

Reads English, Chinese (simplified and traditional) and Persian without a word segmenter
(see :mod:`churnguard.reasons.text`), predicts a sub-reason of the taxonomy with a
probability, and says ``unknown`` when the best probability is below ``threshold``.

Fitting uses scikit-learn; prediction is plain NumPy/SciPy on the learned data
(``vocabulary_``, ``idf_``, ``coef_``, ``intercept_``), so a model saved as data
(JSON + NPZ, with a content hash; never a pickle) loads back to identical predictions.

>>> texts = ["too expensive", "price went up", "cheaper elsewhere", "太贵了", "价格太高",
...          "support never answered", "slow support", "客服太慢", "服务很差", "پشتیبانی ضعیف"]
>>> labels = ["price"] * 5 + ["poor_service"] * 5
>>> clf = ReasonClassifier(min_df=1, C=20.0, threshold=0.5).fit(texts, labels)
>>> clf.predict(["the price is too expensive", "價格太貴"]).tolist()
['price', 'price']
>>> clf.classify(["客服"]).columns.tolist()
['sub_reason', 'reason', 'confidence']
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from churnguard.contract.reasons import SUB_REASONS
from churnguard.errors import InputError, NotFittedError
from churnguard.reasons.taxonomy import UNKNOWN, main_of
from churnguard.reasons.text import NORMALISATION_VERSION, char_ngrams

SCHEMA_VERSION = 1
META_FILE = "reasons.json"
ARRAYS_FILE = "reasons.npz"
_ARRAYS = ("idf_", "coef_", "intercept_")


def _texts(texts: Iterable[object]) -> list[str]:
    return ["" if t is None or t != t else str(t) for t in texts]  # None / NaN -> ""


class ReasonClassifier:
    """Sub-reason classifier over character n-grams (``char_wb``) of normalised text.

    Parameters
    ----------
    ngram_min, ngram_max : int
        Lengths of the character n-grams (1-4: single Chinese characters up to short words).
    min_df : int
        Keep n-grams seen in at least this many training texts.
    C : float
        Inverse L2 regularisation strength of the logistic regression.
    threshold : float
        Below this best-class probability the prediction is ``unknown``.
    """

    def __init__(self, *, ngram_min: int = 1, ngram_max: int = 4, min_df: int = 2,
                 C: float = 10.0, threshold: float = 0.5) -> None:
        self.ngram_min = ngram_min
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.C = C
        self.threshold = threshold

    # -- fitting -------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (saved with the model)."""
        return {k: getattr(self, k) for k in ("ngram_min", "ngram_max", "min_df", "C",
                                                "threshold")}

    def fit(self, texts: Sequence[object], sub_reasons: Sequence[str]) -> ReasonClassifier:
        """Learn from texts and their sub-reason codes; returns ``self``.

        texts : array-like of shape (n_texts,); sub_reasons : array-like of shape (n_texts,)
        """
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        x, y = _texts(texts), [str(s) for s in sub_reasons]
        if len(x) != len(y):
            raise InputError(f"{len(x)} texts but {len(y)} labels: give one label per text")
        bad = sorted({s for s in y if s not in SUB_REASONS})
        if bad:
            raise InputError(f"labels {bad} are not sub-reasons; use one of "
                             f"{', '.join(SUB_REASONS)}")
        if len(set(y)) < 2:
            raise InputError(f"need texts of at least two sub-reasons to train, got "
                             f"{sorted(set(y))}; label more feedback (feedback.sub_reason)")
        vec = TfidfVectorizer(analyzer=partial(char_ngrams, ngram_min=self.ngram_min,
                                               ngram_max=self.ngram_max),
                              min_df=self.min_df, sublinear_tf=True, dtype=np.float64)
        features = vec.fit_transform(x)
        lr = LogisticRegression(C=self.C, max_iter=3000)
        lr.fit(features, y)
        vocab = vec.vocabulary_
        self.vocabulary_: list[str] = sorted(vocab, key=vocab.__getitem__)
        self.idf_: np.ndarray = np.asarray(vec.idf_, dtype=np.float64)
        self.classes_: list[str] = [str(c) for c in lr.classes_]
        coef, intercept = np.asarray(lr.coef_), np.asarray(lr.intercept_)
        if len(self.classes_) == 2:  # binary: sklearn keeps one row; make it a softmax pair
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        self.coef_: np.ndarray = coef.astype(np.float64)
        self.intercept_: np.ndarray = intercept.astype(np.float64)
        self.n_train_: int = len(x)
        self.trained_at_: str = datetime.now(UTC).isoformat(timespec="seconds")
        self.metrics_: dict[str, Any] = {}
        self._index = {g: i for i, g in enumerate(self.vocabulary_)}
        return self

    # -- prediction ----------------------------------------------------------------------
    def _check_is_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("the reason classifier is not trained: call fit(), or run "
                                 "`churnguard reasons <workspace> --train`")

    def transform(self, texts: Sequence[object]) -> sp.csr_matrix:
        """TF-IDF features (sublinear tf, L2-normalised rows), shape (n_texts, n_features)."""
        self._check_is_fitted()
        rows: list[int] = []
        cols: list[int] = []
        vals: list[int] = []
        for r, text in enumerate(_texts(texts)):
            counts: dict[int, int] = {}
            for g in char_ngrams(text, ngram_min=self.ngram_min, ngram_max=self.ngram_max):
                j = self._index.get(g)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            rows.extend([r] * len(counts))
            cols.extend(counts)
            vals.extend(counts.values())
        n = len(texts)
        m = sp.csr_matrix((np.asarray(vals, np.float64), (rows, cols)),
                          shape=(n, len(self.vocabulary_)))
        m.data = (np.log(m.data) + 1.0) * self.idf_[m.indices]
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags(1.0 / norms) @ m)

    def predict_proba(self, texts: Sequence[object]) -> np.ndarray:
        """Class probabilities, shape (n_texts, n_classes), columns follow ``classes_``."""
        z = self.transform(texts) @ self.coef_.T + self.intercept_
        z = np.asarray(z) - np.max(z, axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[object]) -> np.ndarray:
        """Sub-reason per text; ``unknown`` below ``threshold`` or for an empty text."""
        return self.classify(texts)["sub_reason"].to_numpy()

    def classify(self, texts: Sequence[object]) -> pd.DataFrame:
        """A frame with ``sub_reason``, ``reason`` (main) and ``confidence`` per text."""
        texts = _texts(texts)
        proba = self.predict_proba(texts)
        best = proba.argmax(axis=1) if len(texts) else np.zeros(0, int)
        conf = proba[np.arange(len(texts)), best] if len(texts) else np.zeros(0)
        empty = np.array([not t.strip() for t in texts], bool)
        conf = np.where(empty, 0.0, conf)
        sub = np.where(conf >= self.threshold, np.asarray(self.classes_, object)[best], UNKNOWN)
        return pd.DataFrame({"sub_reason": sub, "reason": [main_of(s) for s in sub],
                             "confidence": conf})

    # -- saving as data ------------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION, "kind": "churnguard.reasons.ReasonClassifier",
            "normalisation_version": NORMALISATION_VERSION, "params": self.get_params(),
            "classes": self.classes_, "vocabulary": self.vocabulary_,
            "n_train": self.n_train_, "trained_at": self.trained_at_, "metrics": self.metrics_,
        }

    @property
    def model_id_(self) -> str:
        """Content hash (sha256, first 16 hex digits) of the parameters and learned data."""
        self._check_is_fitted()
        return _content_hash(self._meta(), {k: getattr(self, k) for k in _ARRAYS})

    def save(self, folder: str | Path) -> Path:
        """Write ``reasons.json`` + ``reasons.npz`` into ``folder``; returns the JSON path."""
        self._check_is_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {**self._meta(), "model_id": self.model_id_}
        tmp_npz, tmp_json = folder / f".{ARRAYS_FILE}.tmp", folder / f".{META_FILE}.tmp"
        with open(tmp_npz, "wb") as fh:
            np.savez(fh, **{k: getattr(self, k) for k in _ARRAYS})
        tmp_json.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp_npz, folder / ARRAYS_FILE)
        os.replace(tmp_json, folder / META_FILE)
        return folder / META_FILE

    @classmethod
    def load(cls, folder: str | Path) -> ReasonClassifier:
        """Read a model written by :meth:`save`, checking its schema and content hash."""
        folder = Path(folder)
        meta_path = folder / META_FILE
        if not meta_path.exists():
            raise InputError(f"{folder}: no reason model ({META_FILE}); train one with "
                             "`churnguard reasons <workspace> --train`")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("schema_version") != SCHEMA_VERSION or \
                meta.get("normalisation_version") != NORMALISATION_VERSION:
            raise InputError(f"{meta_path}: saved by another churnguard version "
                             f"(schema {meta.get('schema_version')}); retrain it with --train")
        with np.load(folder / ARRAYS_FILE, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k]) for k in _ARRAYS}
        clf = cls(**meta["params"])
        for k, v in arrays.items():
            setattr(clf, k, v)
        clf.vocabulary_, clf.classes_ = list(meta["vocabulary"]), list(meta["classes"])
        clf.n_train_, clf.trained_at_ = int(meta["n_train"]), str(meta["trained_at"])
        clf.metrics_ = dict(meta.get("metrics") or {})
        clf._index = {g: i for i, g in enumerate(clf.vocabulary_)}
        if clf.model_id_ != meta.get("model_id"):
            raise InputError(f"{folder}: model files do not match their content hash "
                             f"({meta.get('model_id')}); they were changed or damaged. "
                             "Retrain with `churnguard reasons <workspace> --train`")
        return clf


def _content_hash(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(json.dumps(meta, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name], dtype=np.float64)
        h.update(f"{name}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]
