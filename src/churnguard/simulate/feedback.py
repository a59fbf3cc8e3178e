"""The feedback table (cancellation prompts, exit surveys, interviews, NPS, CSAT) and the
structured cancellation reason and text of each lost subscription.

A churner's words mostly say their true reason (78 %); some are ambiguous ("not for us",
10 %) and some name another reason (12 %, noise); a sixth of the texts add a detail from a
second reason. About a third of the reason-bearing texts carry the label a reader would
give them (``reason`` / ``sub_reason``): the training data of the reason classifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from churnguard.simulate import params as P
from churnguard.simulate.arrowutil import coded, floats, seq_ids, timestamps
from churnguard.simulate.customers import Population
from churnguard.simulate.texts import GENERIC, POOLS, compose
from churnguard.simulate.timegrid import DAY_US

SOURCES = ("cancel_prompt", "exit_survey", "interview", "nps", "csat")
LABEL_SHARE = 0.35


@dataclass
class FeedbackResult:
    """The feedback table, its truth, and per churn event the cancellation reason/text."""

    table: pa.Table
    truth: pa.Table
    cancel_reason: np.ndarray  # sub-reason code per churn event, -1 = not given
    cancel_text: pa.Array  # text per churn event (null when none was written)


def _expressed(rng: np.random.Generator, true_reason: np.ndarray) -> np.ndarray:
    """The pool a churner's text is drawn from: mostly the true reason."""
    u = rng.random(true_reason.shape[0])
    other = rng.integers(0, P.N_REASONS, true_reason.shape[0])
    return np.where(u < 0.78, true_reason, np.where(u < 0.88, GENERIC, other))


def build(rng: np.random.Generator, pop: Population, end_us: int, churns: dict[str, np.ndarray],
          nps: dict[str, np.ndarray], csat: dict[str, np.ndarray],
          customer_ids: pa.Array) -> FeedbackResult:
    """Assemble feedback rows for churn events, NPS waves and ticket CSAT answers."""
    n_ch = churns["cust"].shape[0]
    cust, reason, at = churns["cust"], churns["reason"].astype(np.int64), churns["at"]
    sub = pop.is_sub[cust]
    ev_idx = np.arange(n_ch)
    rows: list[dict[str, np.ndarray]] = []

    def add(source: int, sel: np.ndarray, when: np.ndarray, score: np.ndarray,
            pool: np.ndarray, true_r: np.ndarray, ref: np.ndarray) -> None:
        ok = when < end_us
        rows.append({"cust": cust_of[sel][ok], "at": when[ok], "score": score[ok],
                     "pool": pool[ok], "true": true_r[ok], "source": np.full(ok.sum(), source),
                     "ref": ref[ok]})

    cust_of = cust
    u = rng.random(n_ch)
    prompt = sub & (u < 0.55)
    add(0, prompt, at[prompt], np.full(prompt.sum(), np.nan), _expressed(rng, reason[prompt]),
        reason[prompt], ev_idx[prompt])
    survey = rng.random(n_ch) < np.where(sub, 0.3, 0.15)
    delay = np.where(sub, rng.uniform(2, 20, n_ch), rng.uniform(90, 150, n_ch))
    s_score = np.clip(np.round(rng.normal(3.5, 2.0, n_ch)), 0, 10)
    add(1, survey, at[survey] + (delay[survey] * DAY_US).astype(np.int64), s_score[survey],
        _expressed(rng, reason[survey]), reason[survey], ev_idx[survey])
    interview = sub & (pop.plan[cust] >= 2) & (rng.random(n_ch) < 0.2)
    i_at = at[interview] + (rng.uniform(5, 30, interview.sum()) * DAY_US).astype(np.int64)
    add(2, interview, i_at, np.full(interview.sum(), np.nan), _expressed(rng, reason[interview]),
        reason[interview], ev_idx[interview])
    cust_of = nps["cust"]
    everyone = np.ones(cust_of.shape[0], bool)
    add(3, everyone, nps["at"], nps["score"], nps["pool"].astype(np.int64),
        np.where(nps["pool"] < P.N_REASONS, nps["pool"], -1), np.full(cust_of.shape[0], -1))
    cust_of = csat["cust"]
    everyone = np.ones(cust_of.shape[0], bool)
    add(4, everyone, csat["at"], csat["score"], np.full(cust_of.shape[0], -1),
        np.full(cust_of.shape[0], -1), np.full(cust_of.shape[0], -1))

    f = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    order = np.lexsort((f["source"], f["at"]))
    f = {k: v[order] for k, v in f.items()}
    m = f["cust"].shape[0]
    lang = pop.language[f["cust"]].astype(np.int64)
    has_text = f["pool"] >= 0
    pool = np.where(has_text, f["pool"], GENERIC)
    mixed = rng.random(m) < 0.15
    detail = np.where(mixed & (pool < P.N_REASONS), rng.integers(0, P.N_REASONS, m), pool)
    long = f["source"] == 2
    text = compose(rng, pool, lang, detail_pool=detail, p_detail=0.6,
                   p_second_detail=0.0)
    text_long = compose(rng, pool, lang, detail_pool=detail, p_detail=0.95,
                        p_second_detail=0.8, p_open=0.6)
    text = pc.if_else(pa.array(long), text_long, text)
    text = pc.if_else(pa.array(has_text), text, pa.nulls(m, pa.string()))
    labelled = has_text & (pool < P.N_REASONS) & (rng.random(m) < LABEL_SHARE)
    lab = np.where(labelled, pool, -1)
    main_index = {name: i for i, name in enumerate(dict.fromkeys(P.MAIN_OF_SUB))}
    main_of = np.array([main_index[x] for x in P.MAIN_OF_SUB])
    fid = seq_ids(m, "F", 8)
    table = pa.table({
        "feedback_id": fid,
        "customer_id": customer_ids.take(pa.array(f["cust"])),
        "at": timestamps(f["at"]),
        "source": coded(f["source"], SOURCES),
        "score": floats(f["score"], ~np.isnan(f["score"])),
        "text": text,
        "language": coded(lang, P.LANGUAGES),
        "reason": coded(np.where(lab >= 0, main_of[np.maximum(lab, 0)], -1),
                        list(main_index)),
        "sub_reason": coded(lab, P.SUB_REASON_CODES),
    })
    truth = pa.table({
        "feedback_id": fid,
        "customer_id": table["customer_id"],
        "true_sub_reason": coded(f["true"], P.SUB_REASON_CODES),
        "true_reason": coded(np.where(f["true"] >= 0, main_of[np.maximum(f["true"], 0)], -1),
                             list(main_index)),
        "text_pool": coded(np.where(has_text, pool, -1), POOLS),
        "churn_event": pa.array(f["ref"], pa.int64()),
    })
    # the cancellation prompt doubles as the subscription's cancel_text / cancel_reason
    cancel_text_idx = np.full(n_ch, -1)
    is_prompt = f["source"] == 0
    cancel_text_idx[f["ref"][is_prompt]] = np.flatnonzero(is_prompt)
    cancel_text = text.take(pa.array(cancel_text_idx, mask=cancel_text_idx < 0))
    u = rng.random(n_ch)
    cancel_reason = np.where(u < 0.7, reason, np.where(
        u < 0.8, rng.integers(0, P.N_REASONS, n_ch), -1))
    # a customer who wrote a reason mostly ticks the same one
    said = np.full(n_ch, -1)
    said[f["ref"][is_prompt]] = np.where(pool[is_prompt] < P.N_REASONS, pool[is_prompt], -1)
    cancel_reason = np.where((said >= 0) & (rng.random(n_ch) < 0.85), said, cancel_reason)
    return FeedbackResult(table, truth, cancel_reason, cancel_text)
