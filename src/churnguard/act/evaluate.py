"""Precision and recall of warning rules against a simulated business's ground truth.

For evaluation only (the simulator's ``ground_truth/`` folder; analytics and rules never
read it). The population is the customers the data shows active as of ``as_of`` who are
truly active then: customers who silently churned earlier (a transactional customer's
dropout is seen in the data only months later) are left out, they are not "about to
churn". A customer of it is a *positive* when the simulator churned them within
``horizon_days`` after it (a churn event with ``as_of <= churn_at < as_of + horizon``).
For each rule: customers it fires for, true positives, precision, recall, and lift =
precision / base rate (how much likelier a flagged customer churns than the average one).

Rules on ``churn_probability`` need a model. ``fit_model=True`` fits one the way
``churnguard train`` does, but with labels known by ``as_of`` only (origins at least one
horizon before it; labels from the data's churn definition, never from the ground truth),
and scores the population with it, so the model rule is judged on customers and months it
never saw. Otherwise the scores of ``as_of`` in ``score_history`` are used if there are any.

Measured on simulated shops the rules were not tuned on (tuned on seeds 11 and 17; 90-day
horizon; quarterly as-of dates 2025-03-01 .. 2025-12-01 pooled; command
``churnguard rules <workspace> --evaluate --as-of 2025-03-01 ... --as-of 2025-12-01``):

    precision / recall / lift     seed 23 (6,000)          seed 5 (1,500)
    purchase frequency drop       16.3 % /  2.2 % / 1.17   18.8 % /  1.8 % / 1.42
    interaction drop              21.6 % /  2.3 % / 1.55   18.6 % /  2.4 % / 1.41
    complaints rising             19.0 % /  0.8 % / 1.36   27.8 % /  1.5 % / 2.11
    no contact                    17.6 % /  5.7 % / 1.26   14.5 % /  5.3 % / 1.10
    request not followed up       21.4 % /  5.3 % / 1.53   24.5 % /  6.8 % / 1.85
    any of these five             18.8 % / 14.0 % / 1.34   18.9 % / 14.7 % / 1.44

Base rates 14.0 % and 13.2 %. "High value at high risk" with ``--fit-model`` (2025-12-01):
25.9 % / 1.9 % / 1.99 on seed 23, 55.6 % / 5.3 % / 4.36 on seed 5 (9 customers).
``docs/rules-evaluation.md`` has the counts, the method and why the behavioural signals stay
well under 2x in the simulator (its churn shocks are invisible before they strike; neglect
carries almost no hazard there).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from churnguard.act.inputs import rule_inputs
from churnguard.act.rules import Rule, evaluate_rules
from churnguard.errors import InputError

if TYPE_CHECKING:
    from churnguard.warehouse.workspace import Workspace

log = logging.getLogger(__name__)


def _events(ws: Workspace) -> pd.DataFrame:
    path = ws.truth_dir / "churn_events.parquet"
    if not path.is_file():
        raise InputError(f"{path}: no ground truth; this works on simulated workspaces "
                         "(`churnguard simulate`)")
    return pd.read_parquet(path, columns=["customer_id", "churn_at", "reactivated_at"])


def true_churners(ws: Workspace, as_of: datetime, horizon_days: int = 90) -> set[str]:
    """Customers the simulator churned in ``[as_of, as_of + horizon_days)``."""
    ev = _events(ws)
    end = as_of + timedelta(days=horizon_days)
    hit = ev[(ev["churn_at"] >= pd.Timestamp(as_of)) & (ev["churn_at"] < pd.Timestamp(end))]
    return set(hit["customer_id"].astype(str))


def truly_gone(ws: Workspace, as_of: datetime) -> set[str]:
    """Customers who had truly churned before ``as_of`` (and not come back by then), even
    if the data does not show it yet (a non-contractual churn is seen only later)."""
    ev = _events(ws)
    t = pd.Timestamp(as_of)
    gone = ev[(ev["churn_at"] < t) & (ev["reactivated_at"].isna() | (ev["reactivated_at"] >= t))]
    return set(gone["customer_id"].astype(str))


def point_in_time_scores(ws: Workspace, as_of: datetime, horizon_days: int = 90
                         ) -> pd.DataFrame:
    """Churn probability and risk band of the active customers as of ``as_of`` from a model
    fitted with labels known by ``as_of`` (nothing after it is used).

    Risk bands are cut like ``churnguard train`` cuts them: ``high`` from the 90th, ``medium``
    from the 70th percentile of the validation origin's probabilities. Raises
    :class:`churnguard.errors.ChurnguardError` when there is too little data for a model.
    """
    from churnguard.measure.definitions import ChurnRules
    from churnguard.predict.dataset import ExampleBuilder, data_range, workspace_tables
    from churnguard.predict.pipeline import InsufficientDataError, fit_at
    from churnguard.predict.score import bands_of

    tables = workspace_tables(ws)
    rules = ChurnRules.from_config(ws.config.churn)
    first = data_range(tables).first_at
    if first is None:
        raise InsufficientDataError("no events to fit a model on")
    builder = ExampleBuilder(tables, rules=rules, horizon_days=horizon_days)
    fit = fit_at(builder, as_of, first, window_days=rules.inactive_days, baselines=False)
    frame = builder.unlabelled(as_of)
    p = fit.model.predict_proba(frame)
    v = fit.validation_proba
    bands = {"high": float(np.quantile(v, 0.9)), "medium": float(np.quantile(v, 0.7))}
    log.info("point-in-time model as of %s: validation %s", as_of.date(),
             fit.validation.get("lightgbm"))
    return pd.DataFrame({"customer_id": frame["customer_id"].astype(str).to_numpy(),
                         "churn_probability": p, "risk_band": bands_of(p, bands)})


def _cuts(as_of: str | date | datetime | Sequence[str | date | datetime]) -> list[datetime]:
    from churnguard.predict.dataset import parse_as_of

    values = [as_of] if isinstance(as_of, str | date | datetime) else list(as_of)
    if not values:
        raise InputError("rule evaluation needs an as-of date, e.g. 2025-12-01")
    cuts = []
    for v in values:
        cut = parse_as_of(v)
        if cut is None:
            raise InputError(f"rule evaluation needs an as-of date, e.g. 2025-12-01, not {v!r}")
        cuts.append(cut)
    return sorted(set(cuts))


def rule_precision_recall(ws: Workspace, rules: Sequence[Rule],
                          as_of: str | date | datetime | Sequence[str | date | datetime], *,
                          horizon_days: int = 90, fit_model: bool = False) -> pd.DataFrame:
    """One row per rule (plus ``any rule``): ``rule, fired, true_positives, precision,
    recall, lift``; ``base_rate``, ``customers``, ``churners``, ``notes``, ``as_of`` (a list)
    and ``horizon_days`` are in ``frame.attrs``.

    Several ``as_of`` dates pool their customer-dates (a customer counts once per date),
    which steadies the estimates of rules that fire rarely. ``fit_model`` fits a
    point-in-time model per date (:func:`point_in_time_scores`) for the rules on
    ``churn_probability`` / ``risk_band``; if that is impossible the note says why and those
    rules are skipped.
    """
    from churnguard.errors import ChurnguardError

    if horizon_days < 1:
        raise InputError(f"horizon must be at least 1 day, got {horizon_days}")
    population: set[tuple[datetime, str]] = set()
    positives: set[tuple[datetime, str]] = set()
    fired_by: dict[str, set[tuple[datetime, str]]] = {r.name: set() for r in rules}
    notes: list[str] = []
    for cut in _cuts(as_of):
        scores, model_note = None, None
        if fit_model:
            try:
                scores = point_in_time_scores(ws, cut, horizon_days)
            except ChurnguardError as exc:
                model_note = f"no point-in-time model as of {cut.date()}: {exc}"
        inputs = rule_inputs(ws, cut, scores=scores)
        if model_note:
            inputs.missing["model"] = model_note
        hits, day_notes = evaluate_rules(rules, inputs.frame, missing=inputs.missing)
        notes.extend(n for n in day_notes if n not in notes)
        pop = set(inputs.frame["customer_id"].astype(str)) - truly_gone(ws, cut)
        population |= {(cut, c) for c in pop}
        positives |= {(cut, c) for c in true_churners(ws, cut, horizon_days) & pop}
        for r in rules:
            fired_by[r.name] |= {(cut, c) for c in hits.loc[hits["rule"] == r.name,
                                                             "customer_id"] if c in pop}
    base = len(positives) / len(population) if population else float("nan")
    rows = []
    groups = [*fired_by.items(), ("any rule", set().union(*fired_by.values()))]
    for name, fired in groups:
        tp = len(fired & positives)
        precision = tp / len(fired) if fired else float("nan")
        rows.append({"rule": name, "fired": len(fired), "true_positives": tp,
                     "precision": precision,
                     "recall": tp / len(positives) if positives else float("nan"),
                     "lift": precision / base if base else float("nan")})
    out = pd.DataFrame(rows)
    out.attrs.update(base_rate=base, customers=len(population), churners=len(positives),
                     notes=notes, as_of=_cuts(as_of), horizon_days=horizon_days)
    return out


__all__ = ["point_in_time_scores", "rule_precision_recall", "true_churners", "truly_gone"]
