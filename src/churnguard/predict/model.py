"""The churn model: LightGBM with early stopping on a time-based validation set, class
weighting, and a calibrator chosen on that validation set.

:class:`FeatureEncoder` turns a feature frame into a float matrix: numeric features as
they are (null = missing), categorical ones as integer codes of a vocabulary learned in
training (unknown or rare values = missing), which LightGBM splits on natively. Both the
encoder and the calibrator are data (JSON), so a model saves without pickles.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from churnguard.errors import NotFittedError
from churnguard.predict.calibration import Calibrator, choose_calibrator
from churnguard.predict.features.registry import Feature

log = logging.getLogger(__name__)

#: default LightGBM parameters (2 threads: the reference laptop)
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    # early stopping follows log loss (smooth; validation AUC is noisy and stopped CDNOW
    # after 3-60 rounds), the candidate trees are compared on validation AUC
    "metric": ["binary_logloss", "auc"],
    "learning_rate": 0.05,
    "num_leaves": 31,
    "max_depth": 8,  # shallow trees keep TreeSHAP reasons fast (cost ~ leaves x depth^2)
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 20,
    "min_data_per_group": 50,
    "max_cat_to_onehot": 8,
    "num_threads": 2,
    "seed": 7,
    "deterministic": True,
    "verbose": -1,
    "feature_pre_filter": False,
}
MAX_ROUNDS = 2000
EARLY_STOPPING_ROUNDS = 50
MAX_CATEGORIES = 200
#: on small data (fewer training rows than :data:`TUNE_BELOW_ROWS`) these simpler trees are
#: also tried, and the better on validation AUC is kept
SMALL_DATA_CANDIDATES: tuple[dict[str, Any], ...] = (
    {"num_leaves": 7, "min_data_in_leaf": 30, "learning_rate": 0.03, "lambda_l2": 5.0},
    {"num_leaves": 3, "min_data_in_leaf": 30, "learning_rate": 0.05, "lambda_l2": 5.0},
)
TUNE_BELOW_ROWS = 50_000


@dataclass
class FeatureEncoder:
    """Feature frame -> float matrix. ``categories`` maps a categorical feature to its
    vocabulary (code = position)."""

    features: list[str]
    dtypes: dict[str, str]
    categories: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(cls, frame: pd.DataFrame, registry: Mapping[str, Feature],
            features: Sequence[str] | None = None) -> FeatureEncoder:
        """Learn the vocabularies from a training frame (values seen at least 5 times,
        the most frequent :data:`MAX_CATEGORIES`)."""
        names = [f for f in (features or list(registry)) if f in frame.columns]
        cats: dict[str, list[str]] = {}
        for name in names:
            if registry[name].kind == "categorical":
                counts = frame[name].dropna().astype(str).value_counts()
                counts = counts[counts >= 5].head(MAX_CATEGORIES)
                cats[name] = sorted(counts.index.tolist())
        return cls(names, {n: registry[n].dtype for n in names}, cats)

    def transform(self, frame: pd.DataFrame | pa.RecordBatch | pa.Table) -> np.ndarray:
        """The matrix of shape (n_customers, n_features), float64.

        An Arrow batch (as scoring streams them) is encoded without a pandas round trip:
        numeric columns cast in Arrow, text categories looked up with ``index_in``; other
        column types take the pandas path, so both give the same matrix.
        """
        if isinstance(frame, pa.RecordBatch | pa.Table):
            return self._transform_arrow(frame)
        out = np.empty((len(frame), len(self.features)), dtype=np.float64)
        for j, name in enumerate(self.features):
            out[:, j] = self._encode_series(name, frame[name])
        return out

    def _encode_series(self, name: str, col: pd.Series) -> np.ndarray:
        if name in self.categories:
            codes = pd.Categorical(col.astype("string"), categories=self.categories[name]
                                   ).codes.astype(np.float64)
            codes[codes < 0] = np.nan
            return codes
        return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)

    def _transform_arrow(self, batch: pa.RecordBatch | pa.Table) -> np.ndarray:
        import pyarrow.compute as pc

        # filled feature by feature as rows of the transpose (contiguous writes), then
        # turned into the row-major matrix LightGBM reads in one blocked copy
        out = np.empty((len(self.features), batch.num_rows), dtype=np.float64)
        for j, name in enumerate(self.features):
            col = batch.column(name)
            typ = col.type
            if name in self.categories and (pa.types.is_string(typ)
                                            or pa.types.is_large_string(typ)):
                vocab = pa.array(self.categories[name], pa.string())
                codes = pc.index_in(col, value_set=vocab)
                out[j] = pc.cast(codes, pa.float64()).to_numpy(zero_copy_only=False)
            elif name not in self.categories and (pa.types.is_integer(typ)
                                                  or pa.types.is_floating(typ)
                                                  or pa.types.is_boolean(typ)
                                                  or pa.types.is_null(typ)):
                out[j] = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
            else:
                out[j] = self._encode_series(name, col.to_pandas())
        return np.ascontiguousarray(out.T)

    @property
    def categorical_indices(self) -> list[int]:
        """Column positions of the categorical features."""
        return [j for j, n in enumerate(self.features) if n in self.categories]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"features": self.features, "dtypes": self.dtypes,
                "categories": self.categories}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureEncoder:
        """Inverse of :meth:`to_dict`."""
        return cls(list(d["features"]), dict(d["dtypes"]),
                   {k: list(v) for k, v in d["categories"].items()})


def imbalance_weight(y: np.ndarray) -> float:
    """``scale_pos_weight``: sqrt(negatives / positives) when positives are rare, else 1.

    Partial re-weighting helps the trees find the minority class; the calibrator then
    takes the probabilities back to the true base rate.

    >>> imbalance_weight(np.array([0] * 90 + [1] * 10))
    3.0
    """
    pos = float(np.sum(y))
    neg = float(len(y) - pos)
    if pos == 0 or neg == 0 or pos / len(y) >= 0.25:
        return 1.0
    return float(np.sqrt(neg / pos))


class ChurnModel:
    """A calibrated LightGBM churn classifier.

    Parameters
    ----------
    params : dict, optional
        LightGBM parameters over :data:`DEFAULT_PARAMS`.
    calibrate : bool
        Choose and fit a calibrator on the validation set (default True).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"days": rng.exponential(50, 3000)})
    >>> y = (rng.random(3000) < 1 / (1 + np.exp(-(X.days - 80) / 20))).astype(int)
    >>> reg = {"days": Feature("days", "d", "days", "float64", "inactivity", "x")}
    >>> m = ChurnModel().fit(X[:2000], y[:2000], X[2000:], y[2000:], registry=reg)
    >>> p = m.predict_proba(X[:5])
    >>> bool(((p >= 0) & (p <= 1)).all())
    True
    """

    def __init__(self, *, params: Mapping[str, Any] | None = None,
                 calibrate: bool = True) -> None:
        self.params = params
        self.calibrate = calibrate

    def fit(self, X: pd.DataFrame, y: Sequence[int] | np.ndarray, X_val: pd.DataFrame,
            y_val: Sequence[int] | np.ndarray, *, registry: Mapping[str, Feature],
            features: Sequence[str] | None = None) -> ChurnModel:
        """Train on ``X, y``, stop early on ``X_val, y_val`` (the later period), calibrate.

        Returns self with ``booster_``, ``encoder_``, ``calibrator_``, ``best_iteration_``,
        ``params_`` and ``calibration_scores_``.
        """
        import lightgbm as lgb

        ytr, yva = np.asarray(y, dtype=int), np.asarray(y_val, dtype=int)
        self.encoder_ = FeatureEncoder.fit(X, registry, features)
        params = {**DEFAULT_PARAMS, **(self.params or {})}
        params.setdefault("scale_pos_weight", imbalance_weight(ytr))
        cat = self.encoder_.categorical_indices
        dtrain = lgb.Dataset(self.encoder_.transform(X), ytr, feature_name=self.encoder_.features,
                             categorical_feature=cat, free_raw_data=True)
        dval = lgb.Dataset(self.encoder_.transform(X_val), yva, reference=dtrain,
                           categorical_feature=cat)
        candidates = [params]
        if len(ytr) < TUNE_BELOW_ROWS and not self.params:
            candidates += [{**params, **c} for c in SMALL_DATA_CANDIDATES]
        best: tuple[float, Any, dict[str, Any]] | None = None
        for cand in candidates:
            booster = lgb.train(
                cand, dtrain, num_boost_round=MAX_ROUNDS, valid_sets=[dval],
                callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, first_metric_only=True,
                                             verbose=False)],
            )
            score = float(booster.best_score["valid_0"]["auc"])
            if best is None or score > best[0]:
                best = (score, booster, cand)
        assert best is not None
        self.booster_, self.params_ = best[1], best[2]
        self.best_iteration_ = int(self.booster_.best_iteration or self.booster_.num_trees())
        raw_val = self.raw_proba(X_val)
        if self.calibrate and len(np.unique(yva)) == 2:
            self.calibrator_, self.calibration_scores_ = choose_calibrator(raw_val, yva)
        else:
            self.calibrator_, self.calibration_scores_ = Calibrator("identity"), {}
        log.info("lightgbm: %d rounds, calibrator %s", self.best_iteration_,
                 self.calibrator_.kind)
        return self

    def _check(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("this ChurnModel is not fitted yet; call fit() first")

    def matrix(self, X: pd.DataFrame) -> np.ndarray:
        """The encoded feature matrix of a frame."""
        self._check()
        return self.encoder_.transform(X)

    def raw_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Uncalibrated LightGBM probabilities, shape (n_customers,)."""
        self._check()
        m = X if isinstance(X, np.ndarray) else self.encoder_.transform(X)
        return np.asarray(self.booster_.predict(m, num_iteration=self.best_iteration_),
                          dtype=np.float64)

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated churn probabilities, shape (n_customers,)."""
        return self.calibrator_.transform(self.raw_proba(X))

    def contributions(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Per-feature contributions to the log-odds (TreeSHAP), shape (n, n_features + 1);
        the last column is the expected value."""
        self._check()
        m = X if isinstance(X, np.ndarray) else self.encoder_.transform(X)
        return np.asarray(self.booster_.predict(m, num_iteration=self.best_iteration_,
                                                pred_contrib=True), dtype=np.float64)

    def importance(self) -> pd.DataFrame:
        """Global importance: total gain per feature, as a share (sorted)."""
        self._check()
        gain = self.booster_.feature_importance("gain", iteration=self.best_iteration_)
        df = pd.DataFrame({"feature": self.encoder_.features, "gain": gain})
        df["share"] = df["gain"] / max(float(df["gain"].sum()), 1e-12)
        return df.sort_values("gain", ascending=False, ignore_index=True)

    @classmethod
    def from_parts(cls, model_text: str, encoder: FeatureEncoder, calibrator: Calibrator,
                   best_iteration: int, params: Mapping[str, Any]) -> ChurnModel:
        """Rebuild a fitted model from its saved parts (see :mod:`.registry`)."""
        import lightgbm as lgb

        m = cls(params=dict(params))
        m.booster_ = lgb.Booster(model_str=model_text)
        m.encoder_, m.calibrator_ = encoder, calibrator
        m.best_iteration_, m.params_ = int(best_iteration), dict(params)
        m.calibration_scores_ = {}
        return m
