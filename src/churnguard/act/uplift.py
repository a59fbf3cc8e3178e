"""Uplift of retention offers, learned from past campaigns with randomised control arms.

Training data (:func:`campaign_examples`): every assignment of a *retention* campaign
(``campaigns.goal``) with a known outcome (read by :func:`churnguard.act.experiments.
campaign_outcomes`: the ``outcome`` column, else the churn labels), labelled
``lost`` = lost within 90 days after assignment, with the point-in-time features of
:mod:`churnguard.predict.features` as of the day the campaign's first assignment went out
(only rows before it: point-in-time for every assignee, whose own assignment is at most a
few days later; one feature query per campaign instead of one per day).

Each offer is learned from the campaigns that made it, treated arm against *the same
campaigns'* control arm: the randomisation is inside a campaign, and campaigns run at
different times (a control pooled across campaigns would mix in what differs between
those months, e.g. a price increase that followed one campaign and not another).

Three methods (``method``):

- **risk** (``"risk"``, what :func:`churnguard.act.target.plan` uses by default):
  :class:`RiskScaledUplift`, the customer's churn probability (from the churn model) times
  the offer's relative reduction of the loss rate, measured campaign by campaign against
  its own control arm. It has no per-customer learning of its own, so it cannot overfit a
  few hundred assignees, and a relative effect transfers from the risk-selected campaign
  populations to today's customers where an absolute one does not. On the simulator
  (``benchmarks/target.py``, 60,000 customers x 36 months, seed 7, budget 20,000) its plan's
  true incremental profit was 39,682-47,155 against 13,766-15,983 for the T-learner's.
- **T-learner** (``"t"``; :func:`fit_offers`' default): ``mu0`` = P(lost) of the control
  arm, ``mu1`` = of the treated arm, each fitted on its own arm; ``tau = mu1 - mu0``.
- **X-learner** (``"x"``; Künzel, Sekhon, Bickel & Yu 2019, PNAS 116:4156): the same
  stage 1, then regressions of the imputed effects ``D1 = Y1 - mu0(X1)`` (treated) and
  ``D0 = mu1(X0) - Y0`` (controls); ``tau = g tau0 + (1 - g) tau1``, ``g`` = treated share.

The X-learner is the textbook choice for unbalanced arms (campaigns treat 50-70 %), which
is why it was built first; the T-learner measured better here: on the same workspace its
held-out Qini coefficient was higher for all four offers (discount_20pct +3.73 vs +2.28,
free_month +2.22 vs -0.78, loyalty_bonus +7.19 vs +4.99, personal_call +8.18 vs +1.33),
and its plan's true profit at ``min_uplift`` 0.05 was 8,714 vs 5,157 (November 2026). With
arms of a few hundred 0/1 outcomes, the X-learner's second-stage regressions on imputed
effects stop after very few boosting rounds and shrink the heterogeneity away. The number
of boosting rounds of every model is chosen by 3-fold cross-validation (early stopping),
because the arms are too small to set a validation period aside; cross-fitting folds
reuse the full fit's rounds.

After cross-fitting, each model is *calibrated* (:meth:`UpliftModel.calibrate`): its
spread around the campaigns' average effect is shrunk by the held-out slope of the
transformed outcome on the prediction (clipped to [0, 1]).

Uplift here is in *retention* probability: ``uplift = P(lost | no offer) - P(lost |
offer)`` (positive = the offer keeps the customer). :func:`qini_curve` scores held-out
predictions (cross-fitted: every assignment predicted by models that did not see it).

>>> import numpy as np
>>> q = qini_curve(np.array([0.3, 0.2, 0.1, 0.0]), np.array([1, 0, 1, 0]),
...                np.array([1, 0, 0, 1]), points=4)
>>> q["qini"].round(3).tolist()
[0.0, 1.0, 1.0, 1.0, 0.0]
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from churnguard.errors import InputError, NotFittedError
from churnguard.predict.features.registry import Feature
from churnguard.predict.model import FeatureEncoder

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)

Method = Literal["risk", "x", "t"]
METHODS: tuple[str, ...] = ("risk", "t", "x")
HORIZON_DAYS = 90
#: fewest assignees (and fewest lost / retained) per arm to learn an offer's uplift
MIN_ARM = 30
MIN_EVENTS = 5
#: LightGBM parameters of every stage: small, regularised trees (arms of a few hundred)
PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 7,
    "max_depth": 4,
    "min_data_in_leaf": 25,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 5.0,
    "cat_smooth": 20,
    "min_data_per_group": 25,
    "max_cat_to_onehot": 8,
    "num_threads": 2,
    "seed": 7,
    "deterministic": True,
    "verbose": -1,
    "feature_pre_filter": False,
}
MAX_ROUNDS = 200


# -- training data ------------------------------------------------------------------------
def campaign_examples(ws: Workspace, *, horizon_days: int = HORIZON_DAYS) -> pd.DataFrame:
    """One row per assignment of a retention campaign with a known outcome.

    Columns: ``assignment_id, customer_id, campaign_id, offer`` (the campaign's offer, for
    both arms), ``treated`` (1/0), ``lost`` (1/0), ``accepted`` (treated arm; NaN for
    controls), ``origin`` (the features' as-of day), then the features.
    Raises :class:`InputError` when the workspace has no such campaign.
    """
    from churnguard.act.experiments import campaign_outcomes
    from churnguard.predict.dataset import workspace_tables
    from churnguard.predict.features import compute_features

    wh = ws.warehouse
    names = set(wh.ibis.list_tables())
    if not {"campaigns", "assignments"} <= names:
        raise InputError("no campaigns in the workspace: uplift is learned from past "
                         "campaigns with a control arm (ingest campaigns and assignments)")
    camps = wh.table("campaigns").to_pandas()
    assign = wh.table("assignments").to_pandas()
    goal = camps.get("goal", pd.Series("retention", index=camps.index)).fillna("retention")
    camps = camps[goal.str.lower() != "winback"]
    tables = workspace_tables(ws)
    parts = []
    for c in camps.itertuples():
        a = assign[assign["campaign_id"] == c.campaign_id]
        if a.empty or not (a["arm"] == "control").any() or not (a["arm"] == "treatment").any():
            continue
        offer = getattr(c, "offer", None)
        if offer is None or pd.isna(offer):
            treated_offers = a.loc[a["arm"] == "treatment", "offer"].dropna()
            if treated_offers.empty:
                continue
            offer = treated_offers.mode().iloc[0]
        out = campaign_outcomes(ws, str(c.campaign_id), horizon_days=horizon_days)
        out = out[out["retained"].notna()]
        if out.empty:
            continue
        out = out.merge(a[["assignment_id", "accepted"]], on="assignment_id", how="left")
        origin = pd.Timestamp(pd.to_datetime(out["assigned_at"], utc=True).min()).floor("D")
        feats = compute_features(tables, origin.to_pydatetime(),
                                 customers=sorted(set(out["customer_id"])))
        feats = feats.drop(columns=["as_of"], errors="ignore")
        rows = pd.DataFrame({
            "assignment_id": out["assignment_id"].to_numpy(),
            "customer_id": out["customer_id"].astype(str).to_numpy(),
            "campaign_id": str(c.campaign_id),
            "offer": str(offer),
            "treated": (out["arm"] == "treatment").astype(int).to_numpy(),
            "lost": (1 - out["retained"]).astype(int).to_numpy(),
            "accepted": pd.to_numeric(out["accepted"].astype("float64"), errors="coerce")
            .to_numpy(),
            "origin": origin,
        })
        parts.append(rows.merge(feats.astype({"customer_id": str}), on="customer_id",
                                how="inner"))
    if not parts:
        raise InputError("no retention campaign with a control arm and known outcomes: "
                         "uplift cannot be learned. Run a campaign with a random control "
                         f"group and wait {horizon_days} days for its outcomes")
    # a fixed row order: the engine returns rows in any order, and bagging depends on it
    return pd.concat(parts, ignore_index=True).sort_values(
        "assignment_id", kind="stable", ignore_index=True)


# -- the meta-learner ---------------------------------------------------------------------
def _rounds_by_cv(params: dict[str, Any], X: np.ndarray, y: np.ndarray, cat: list[int],
                  *, stratified: bool) -> int:
    import lightgbm as lgb

    ds = lgb.Dataset(X, y, categorical_feature=cat, free_raw_data=False)
    folds = 3 if len(y) >= 60 else 2
    res = lgb.cv(params, ds, num_boost_round=MAX_ROUNDS, nfold=folds, stratified=stratified,
                 seed=int(params["seed"]),
                 callbacks=[lgb.early_stopping(20, verbose=False)])
    curve: Any = next(iter(res.values()))  # the mean metric per round kept
    return max(1, len(curve))


def _fit_booster(params: dict[str, Any], X: np.ndarray, y: np.ndarray,
                 cat: list[int], *, binary: bool, rounds: int | None = None
                 ) -> tuple[Any, int]:
    import lightgbm as lgb

    p = {**params, "objective": "binary" if binary else "regression",
         "metric": "binary_logloss" if binary else "l2"}
    if rounds is None:
        rounds = _rounds_by_cv(p, X, y, cat, stratified=binary)
    booster = lgb.train(p, lgb.Dataset(X, y, categorical_feature=cat), num_boost_round=rounds)
    return booster, rounds


class UpliftModel:
    """Uplift of one offer: a T-learner (or X-learner) on LightGBM.

    Parameters
    ----------
    method : {"x", "t"}
        Meta-learner (see the module docstring).
    params : dict, optional
        LightGBM parameters over :data:`PARAMS`.
    rounds : dict, optional
        Boosting rounds per stage (``mu0, mu1, tau0, tau1``), e.g. ``rounds_`` of a model
        fitted on more data; default: chosen by cross-validation.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"price_sensitivity": rng.random(2000)})
    >>> t = (rng.random(2000) < 0.5).astype(int)
    >>> p = 0.3 - 0.2 * t * (X.price_sensitivity > 0.5)  # helps the sensitive half only
    >>> y = (rng.random(2000) < p).astype(int)
    >>> reg = {"price_sensitivity": Feature("price_sensitivity", "", "", "float64", "x", "")}
    >>> m = UpliftModel(method="x").fit(X, t, y, registry=reg)
    >>> u = m.predict(pd.DataFrame({"price_sensitivity": [0.1, 0.9]}))["uplift"]
    >>> bool(u[1] > u[0] + 0.02)  # true: 0.2 and 0; regularised trees shrink towards 0.1
    True
    """

    def __init__(self, *, method: Method = "t", params: Mapping[str, Any] | None = None,
                 rounds: Mapping[str, int] | None = None) -> None:
        self.method = method
        self.params = params
        self.rounds = rounds

    def fit(self, X: pd.DataFrame, treated: Sequence[int] | np.ndarray,
            lost: Sequence[int] | np.ndarray, *, registry: Mapping[str, Feature],
            features: Sequence[str] | None = None) -> UpliftModel:
        """Fit on assignees ``X`` with arm ``treated`` (1/0) and outcome ``lost`` (1/0).

        Returns self with ``encoder_``, ``mu0_``, ``mu1_`` (and ``tau0_``, ``tau1_`` for the
        X-learner), ``propensity_`` (treated share), ``n_treated_``, ``n_control_``.
        """
        if self.method not in ("x", "t"):
            raise InputError(f"uplift method {self.method!r}: use x or t")
        t = np.asarray(treated, dtype=int)
        y = np.asarray(lost, dtype=float)
        _check_arms(t, y)
        params = {**PARAMS, **(self.params or {})}
        self.encoder_ = FeatureEncoder.fit(X, registry, features)
        M = self.encoder_.transform(X)
        cat = self.encoder_.categorical_indices
        t1, t0 = t == 1, t == 0
        given = dict(self.rounds or {})
        self.rounds_: dict[str, int] = {}

        def fit(stage: str, rows: np.ndarray, target: np.ndarray, binary: bool) -> Any:
            booster, self.rounds_[stage] = _fit_booster(params, M[rows], target, cat,
                                                        binary=binary, rounds=given.get(stage))
            return booster

        self.mu0_ = fit("mu0", t0, y[t0], True)
        self.mu1_ = fit("mu1", t1, y[t1], True)
        self.propensity_ = float(t1.mean())
        self.n_treated_, self.n_control_ = int(t1.sum()), int(t0.sum())
        self.ate_ = float(y[t0].mean() - y[t1].mean())
        self.calibration_: tuple[float, float] | None = None
        if self.method == "x":
            d1 = y[t1] - self.mu0_.predict(M[t1])
            d0 = self.mu1_.predict(M[t0]) - y[t0]
            self.tau1_ = fit("tau1", t1, d1, False)
            self.tau0_ = fit("tau0", t0, d0, False)
        return self

    def calibrate(self, uplift: np.ndarray, treated: np.ndarray, lost: np.ndarray
                  ) -> UpliftModel:
        """Shrink predictions by their held-out slope (cross-fitted ``uplift`` of the
        training assignees): the transformed outcome ``Z = (1 - lost)(T - g) / (g(1 -
        g))`` has ``E[Z | x] = uplift(x)``, so the least-squares slope of ``Z`` on the
        held-out prediction says how much of its spread is real (1: all, 0: none).
        Predictions become ``ate + slope (raw - mean held-out raw)``, slope clipped to
        [0, 1]: a noisy model falls back towards the campaigns' average effect instead of
        sending money after its noise (the winner's curse of ranking by uplift x value).
        """
        u = np.asarray(uplift, float)
        t = np.asarray(treated, float)
        r = 1 - np.asarray(lost, float)
        g = self.propensity_
        z = r * (t - g) / (g * (1 - g))
        var = float(np.var(u))
        slope = float(np.cov(u, z, bias=True)[0, 1] / var) if var > 0 else 0.0
        self.calibration_ = (float(np.mean(u)), float(np.clip(slope, 0.0, 1.0)))
        return self

    def predict(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """``p_lost_control``, ``p_lost_offer`` and ``uplift`` (retention; arrays of shape
        (n_customers,)). For the X-learner ``p_lost_offer = p_lost_control - uplift``."""
        if not hasattr(self, "mu0_"):
            raise NotFittedError("UpliftModel is not fitted yet; call fit(X, treated, lost)")
        M = self.encoder_.transform(X)
        p0 = self.mu0_.predict(M)
        if self.method == "t":
            tau = self.mu1_.predict(M) - p0
        else:
            g = self.propensity_
            tau = g * self.tau0_.predict(M) + (1 - g) * self.tau1_.predict(M)
        if self.calibration_ is not None:
            centre, slope = self.calibration_
            tau = -(self.ate_ + slope * (-tau - centre))
        tau = np.clip(tau, -p0, 1 - p0)  # keep P(lost | offer) inside [0, 1]
        return {"p_lost_control": p0, "p_lost_offer": p0 + tau, "uplift": -tau}


class RiskScaledUplift:
    """Uplift of one offer as the customer's churn probability times the offer's relative
    reduction of the loss rate in its past campaigns (``method="risk"``).

    The offer is assumed to scale each customer's risk of leaving by one factor, as a
    hazard ratio does: ``P(lost | offer) = (1 - rrr) P(lost | no offer)``, so ``uplift =
    rrr x churn_probability``. The factor is what randomised campaigns measure well: per
    campaign, ``1 - lost(treated) / lost(control)``; pooled over the offer's campaigns as
    ``sum_c n_c (l0_c - l1_c) / sum_c n_c l0_c`` (``n_c`` assignees, ``l0_c`` / ``l1_c``
    the control / treated loss rates), each campaign compared with its own control arm.
    The per-customer part comes from the churn model, which learns from every customer
    and period rather than from a few hundred campaign assignees, and it transfers: a
    campaign run on a riskier population, or before a price rise, measures the same
    relative effect while its absolute effect would not apply to today's customers.

    ``predict`` needs a ``churn_probability`` column (the churn model's, at the plan's
    as-of day). What it cannot see: customers whom any contact drives away ("do not
    disturb") are inside the campaigns' average, not singled out.

    Examples
    --------
    >>> ex = pd.DataFrame({"campaign_id": ["A"] * 8 + ["B"] * 4,
    ...                    "treated": [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0],
    ...                    "lost": [1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0]})
    >>> ex = ex.loc[ex.index.repeat(10)]   # 80 assignees in A, 40 in B
    >>> m = RiskScaledUplift().fit(ex)   # lost: A 0.5 -> 0.25, B 0.5 -> 0
    >>> round(m.rrr_, 4)   # (80 x 0.25 + 40 x 0.5) / (80 x 0.5 + 40 x 0.5) = 40 / 60
    0.6667
    >>> m.predict(pd.DataFrame({"churn_probability": [0.3]}))["uplift"].round(3).tolist()
    [0.2]
    """

    method = "risk"

    def fit(self, examples: pd.DataFrame) -> RiskScaledUplift:
        """Estimate the relative reduction from ``campaign_id``, ``treated``, ``lost``.

        Raises :class:`InputError` when an arm is too small (as :class:`UpliftModel`) or
        the controls lost nobody (no risk to reduce)."""
        t = examples["treated"].to_numpy(dtype=int)
        y = examples["lost"].to_numpy(dtype=float)
        _check_arms(t, y)
        num = den = 0.0
        for _, g in examples.groupby("campaign_id", sort=True):
            gt, gy = g["treated"].to_numpy(dtype=int), g["lost"].to_numpy(dtype=float)
            if gt.min() == gt.max():
                continue  # a campaign without both arms says nothing about the effect
            l1, l0 = gy[gt == 1].mean(), gy[gt == 0].mean()
            num += len(g) * (l0 - l1)
            den += len(g) * l0
        if den <= 0:
            raise InputError("no control assignee was lost: a relative effect on the loss "
                             "rate cannot be measured")
        self.rrr_ = float(num / den)
        self.n_treated_, self.n_control_ = int((t == 1).sum()), int((t == 0).sum())
        self.ate_ = float(y[t == 0].mean() - y[t == 1].mean())
        return self

    def predict(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """``p_lost_control`` (= ``X.churn_probability``), ``p_lost_offer`` and ``uplift``."""
        if not hasattr(self, "rrr_"):
            raise NotFittedError("RiskScaledUplift is not fitted yet; call fit(examples)")
        if "churn_probability" not in X:
            raise InputError("the risk method needs each customer's churn_probability "
                             "(train a churn model: `churnguard train`)")
        p0 = X["churn_probability"].to_numpy(dtype=float)
        uplift = self.rrr_ * p0
        return {"p_lost_control": p0, "p_lost_offer": p0 - uplift, "uplift": uplift}


def _check_arms(t: np.ndarray, y: np.ndarray) -> None:
    for arm, name in ((1, "treated"), (0, "control")):
        ya = y[t == arm]
        if len(ya) < MIN_ARM or ya.sum() < MIN_EVENTS or (1 - ya).sum() < MIN_EVENTS:
            raise InputError(
                f"{name} arm: {len(ya)} assignees, {int(ya.sum())} lost; an uplift model "
                f"needs at least {MIN_ARM} per arm with {MIN_EVENTS} lost and "
                f"{MIN_EVENTS} retained")


@dataclass
class OfferModels:
    """Fitted uplift models per campaign offer, with acceptance rates and held-out Qini."""

    models: dict[str, UpliftModel | RiskScaledUplift]
    acceptance: dict[str, float]
    examples: dict[str, int]
    skipped: dict[str, str] = field(default_factory=dict)
    heldout: pd.DataFrame | None = None


def fit_offers(examples: pd.DataFrame, registry: Mapping[str, Feature], *,
               offers: Sequence[str] | None = None, method: Method = "t",
               params: Mapping[str, Any] | None = None, folds: int = 3,
               calibrate: bool = True, seed: int = 0) -> OfferModels:
    """One model per campaign offer (those in ``offers``, default all): a
    :class:`RiskScaledUplift` for ``method="risk"`` (``examples`` then need the assignees'
    ``churn_probability`` at assignment), else an :class:`UpliftModel`.

    With ``folds`` >= 2 every assignment also gets a cross-fitted (held-out) uplift, kept
    in ``heldout`` (``offer, treated, lost, uplift``) for the Qini curves, and with
    ``calibrate`` the meta-learners are shrunk by their held-out slope
    (:meth:`UpliftModel.calibrate`). Offers whose arms
    are too small are left out, with the reason in ``skipped``.
    """
    if method not in METHODS:
        raise InputError(f"uplift method {method!r}: use {', '.join(METHODS)}")
    if method == "risk" and "churn_probability" not in examples:
        raise InputError("the risk method needs the assignees' churn_probability at "
                         "assignment (score the campaign examples with the churn model)")
    feats = [f for f in registry if f in examples.columns
             and examples[f].nunique(dropna=False) > 1]
    want = list(dict.fromkeys(offers)) if offers is not None else sorted(
        examples["offer"].unique())
    models: dict[str, UpliftModel | RiskScaledUplift] = {}
    acceptance: dict[str, float] = {}
    counts: dict[str, int] = {}
    skipped: dict[str, str] = {}
    held: list[pd.DataFrame] = []
    for name in want:
        ex = examples[examples["offer"] == name].reset_index(drop=True)
        if ex.empty:
            skipped[name] = "no past campaign made this offer"
            continue
        try:
            model: UpliftModel | RiskScaledUplift = (
                RiskScaledUplift().fit(ex) if method == "risk"
                else UpliftModel(method=method, params=params).fit(
                    ex, ex["treated"], ex["lost"], registry=registry, features=feats))
        except InputError as exc:
            skipped[name] = f"too little campaign data: {exc}"
            continue
        models[name] = model
        acc = ex.loc[ex["treated"] == 1, "accepted"].dropna()
        acceptance[name] = float(acc.mean()) if len(acc) else float("nan")
        counts[name] = len(ex)
        if folds >= 2:
            rounds = model.rounds_ if isinstance(model, UpliftModel) else None
            h = _cross_fit(ex, registry, feats, method, params, folds, seed, rounds)
            held.append(h)
            if isinstance(model, UpliftModel) and calibrate and len(h) > 2 * MIN_ARM:
                model.calibrate(h["uplift"], h["treated"], h["lost"])
    heldout = pd.concat(held, ignore_index=True) if held else None
    return OfferModels(models, acceptance, counts, skipped, heldout)


def _cross_fit(ex: pd.DataFrame, registry: Mapping[str, Feature], feats: list[str],
               method: Method, params: Mapping[str, Any] | None, folds: int,
               seed: int, rounds: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Held-out uplift of every assignment (stratified by arm x outcome); the folds reuse
    the full fit's boosting rounds (``risk``: the folds' own relative reduction)."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(ex), dtype=int)
    strata = ex["treated"].to_numpy() * 2 + ex["lost"].to_numpy()
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        fold[rng.permutation(idx)] = np.arange(len(idx)) % folds
    pred = np.full(len(ex), np.nan)
    for k in range(folds):
        tr = fold != k
        try:
            m = RiskScaledUplift().fit(ex[tr]) if method == "risk" else UpliftModel(
                method=method, params=params, rounds=rounds).fit(
                ex[tr], ex.loc[tr, "treated"], ex.loc[tr, "lost"], registry=registry,
                features=feats)
        except InputError:
            continue
        pred[~tr] = m.predict(ex[~tr])["uplift"]
    return pd.DataFrame({"offer": ex["offer"], "treated": ex["treated"], "lost": ex["lost"],
                         "uplift": pred}).dropna()


# -- evaluation ---------------------------------------------------------------------------
def qini_curve(uplift: np.ndarray, treated: np.ndarray, retained: np.ndarray, *,
               points: int = 50) -> pd.DataFrame:
    """Qini curve (Radcliffe 2007): targeting the top fraction ``phi`` by predicted uplift,
    the incremental retained customers ``R_T(phi) - R_C(phi) N_T(phi) / N_C(phi)``;
    ``random`` is the straight line of targeting at random. Returns ``fraction, qini,
    random`` at ``points`` + 1 cut-offs (0 included).
    """
    u, t, r = (np.asarray(v, dtype=float) for v in (uplift, treated, retained))
    order = np.argsort(-u, kind="stable")
    t, r = t[order], r[order]
    n = len(u)
    nt, nc = np.cumsum(t), np.cumsum(1 - t)
    rt, rc = np.cumsum(t * r), np.cumsum((1 - t) * r)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(nc > 0, rt - rc * nt / np.maximum(nc, 1), rt)
    cut = np.unique(np.ceil(np.linspace(0, n, points + 1)).astype(int))
    qv = np.concatenate([[0.0], q])[cut]
    return pd.DataFrame({"fraction": cut / max(n, 1), "qini": qv,
                         "random": cut / max(n, 1) * qv[-1]})


def qini_coefficient(curve: pd.DataFrame) -> float:
    """Area between the Qini curve and the random line, over the number of assignees
    (trapezoids on the curve's cut-offs); > 0 means the ranking beats random."""
    x = curve["fraction"].to_numpy()
    gap = (curve["qini"] - curve["random"]).to_numpy()
    return float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(x)))


def qini_by_offer(heldout: pd.DataFrame, *, points: int = 50) -> dict[str, pd.DataFrame]:
    """A Qini curve per offer from cross-fitted predictions (``fit_offers(...).heldout``)."""
    out = {}
    for name, g in heldout.groupby("offer", sort=True):
        out[str(name)] = qini_curve(g["uplift"].to_numpy(), g["treated"].to_numpy(),
                                    1 - g["lost"].to_numpy(), points=points)
    return out


__all__ = ["HORIZON_DAYS", "METHODS", "OfferModels", "RiskScaledUplift", "UpliftModel",
           "campaign_examples", "fit_offers", "qini_by_offer", "qini_coefficient", "qini_curve"]
