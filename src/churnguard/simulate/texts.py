"""Multilingual feedback and cancellation texts built from template fragments.

Fragments live in ``texts.json``: per language an opener, a closer, and per *pool* (one of
the nine sub-reasons, ``generic`` for ambiguous texts, ``positive`` and ``neutral`` for
satisfied customers) a list of core sentences and a list of details. Core sentences with
``{c}`` are expanded with the competitor names of that language. Traditional Chinese
(``zh-Hant``) is derived from the simplified fragments with a character table.

A text is ``opener? + core + detail? + detail? + closer?``, assembled for all rows at once
with Arrow string kernels (no Python loop over rows).

>>> import numpy as np
>>> rng = np.random.Generator(np.random.PCG64(0))
>>> out = compose(rng, np.array([POOLS.index("price")]), np.array([0]), p_open=0, p_detail=0,
...               p_close=0)
>>> out[0].as_py() in FRAGMENTS
True
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from churnguard.simulate.params import LANGUAGES, SUB_REASON_CODES

#: text pools: the nine sub-reasons, then generic (ambiguous), positive, neutral
POOLS: tuple[str, ...] = (*SUB_REASON_CODES, "generic", "positive", "neutral")
GENERIC, POSITIVE, NEUTRAL = len(SUB_REASON_CODES), len(SUB_REASON_CODES) + 1, \
    len(SUB_REASON_CODES) + 2

_SIMPLIFIED = (
    "业两个临为么产们价优会体侧关决减几删别办务动区单却员响团围国块坚处备复难头实宝审对导"
    "广应态惠愿扰择损换据挤样检权极标样欢歉气满烦热爱现电盖种稳竞笔签简箱糕糟系紧级终经结给"
    "统继续编缺联荐营虑见规视觉订让训讯讲访评诉话询误说请谢账质贵费资赚赶转较边达迁过还这远"
    "适选递邮针钱销错门闪闭问队际预领频题飞餐验骚鸽时从发间来后里条长无机计划记认识设读"
)
_TRADITIONAL = (
    "業兩個臨為麼產們價優會體側關決減幾刪別辦務動區單卻員響團圍國塊堅處備復難頭實寶審對導"
    "廣應態惠願擾擇損換據擠樣檢權極標樣歡歉氣滿煩熱愛現電蓋種穩競筆簽簡箱糕糟系緊級終經結給"
    "統繼續編缺聯薦營慮見規視覺訂讓訓訊講訪評訴話詢誤說請謝賬質貴費資賺趕轉較邊達遷過還這遠"
    "適選遞郵針錢銷錯門閃閉問隊際預領頻題飛餐驗騷鴿時從發間來後裏條長無機計劃記認識設讀"
)
_TO_TRADITIONAL = str.maketrans(_SIMPLIFIED, _TRADITIONAL)


def to_traditional(text: str) -> str:
    """Simplified to traditional Chinese, character by character (enough for our fragments).

    >>> to_traditional("价格太贵了")
    '價格太貴了'
    """
    return text.translate(_TO_TRADITIONAL)


def _load() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                     np.ndarray]:
    raw = json.loads(Path(__file__).with_name("texts.json").read_text(encoding="utf-8"))
    frags: list[str] = [""]
    n_lang, n_pool = len(LANGUAGES), len(POOLS)
    core_off = np.zeros((n_lang, n_pool), np.int64)
    core_cnt = np.zeros((n_lang, n_pool), np.int64)
    det_off = np.zeros((n_lang, n_pool), np.int64)
    det_cnt = np.zeros((n_lang, n_pool), np.int64)
    open_off = np.zeros((n_lang, 2), np.int64)  # opener offset/count
    close_off = np.zeros((n_lang, 2), np.int64)

    def add(items: list[str]) -> tuple[int, int]:
        start = len(frags)
        frags.extend(items)
        return start, len(items)

    for li, lang in enumerate(LANGUAGES):
        base = "zh" if lang == "zh-Hant" else lang
        conv = to_traditional if lang == "zh-Hant" else (lambda s: s)
        sep = "" if base == "zh" else " "
        block = raw[base]
        names = raw["competitors"][base]
        open_off[li] = add([conv(s) + sep for s in block["open"]])
        close_off[li] = add([sep + conv(s) for s in block["close"]])
        for pi, pool in enumerate(POOLS):
            cores: list[str] = []
            for s in block[pool]["core"]:
                cores.extend([s.replace("{c}", n) for n in names] if "{c}" in s else [s])
            core_off[li, pi], core_cnt[li, pi] = add([conv(s) for s in cores])
            details = [sep + conv(s) if s else "" for s in block[pool]["detail"]]
            det_off[li, pi], det_cnt[li, pi] = add(details)
    return frags, core_off, core_cnt, det_off, det_cnt, open_off, close_off


FRAGMENTS, _CORE_OFF, _CORE_CNT, _DET_OFF, _DET_CNT, _OPEN, _CLOSE = _load()
_FRAG_ARRAY = pa.array(FRAGMENTS, pa.string())
#: competitor names mentioned in the texts (for the ground truth)
COMPETITOR_NAMES: tuple[str, ...] = tuple(
    sorted({n for names in json.loads(
        Path(__file__).with_name("texts.json").read_text(encoding="utf-8"))["competitors"].values()
        for n in names})
)


def _pick(rng: np.random.Generator, off: np.ndarray, cnt: np.ndarray, p: float) -> np.ndarray:
    """Index of a random fragment in [off, off + cnt), or 0 (empty) with probability 1 - p."""
    u = rng.random(off.shape[0])
    idx = off + np.minimum((rng.random(off.shape[0]) * cnt).astype(np.int64), cnt - 1)
    return np.where((u < p) & (cnt > 0), idx, 0)


def compose(
    rng: np.random.Generator,
    pool: np.ndarray,
    lang: np.ndarray,
    *,
    detail_pool: np.ndarray | None = None,
    p_open: float = 0.35,
    p_detail: float = 0.6,
    p_close: float = 0.25,
    p_second_detail: float = 0.0,
    p_lower: float = 0.12,
) -> pa.Array:
    """Texts for rows of (pool index, language index), one per row.

    Parameters
    ----------
    pool, lang : array-like of int of shape (n,)
        Index into :data:`POOLS` and :data:`~churnguard.simulate.params.LANGUAGES`.
    detail_pool : array-like of int of shape (n,), optional
        Pool of the detail sentence (defaults to ``pool``); a different pool mixes causes.
    p_open, p_detail, p_close, p_second_detail : float
        Probabilities of the optional parts.
    p_lower : float
        Share of English texts written all in lower case (noise).
    """
    pool = np.asarray(pool, np.int64)
    lang = np.asarray(lang, np.int64)
    dpool = pool if detail_pool is None else np.asarray(detail_pool, np.int64)
    n = pool.shape[0]
    ones = np.ones(n, np.int64)
    parts = [
        _pick(rng, _OPEN[lang, 0], _OPEN[lang, 1], p_open),
        _pick(rng, _CORE_OFF[lang, pool], _CORE_CNT[lang, pool], 1.0),
        _pick(rng, _DET_OFF[lang, dpool], _DET_CNT[lang, dpool], p_detail),
        _pick(rng, _DET_OFF[lang, pool], _DET_CNT[lang, pool], p_second_detail),
        _pick(rng, _CLOSE[lang, 0], _CLOSE[lang, 1] * ones, p_close),
    ]
    arrays = [_FRAG_ARRAY.take(pa.array(p)) for p in parts]
    text = pc.binary_join_element_wise(*arrays, "")
    lower = (lang == LANGUAGES.index("en")) & (rng.random(n) < p_lower)
    if lower.any():
        text = pc.if_else(pa.array(lower), pc.utf8_lower(text), text)
    return text
