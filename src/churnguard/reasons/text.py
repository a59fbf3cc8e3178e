"""Text normalisation and character n-grams for the reason classifier (no word segmenter).

Chinese has no spaces between words and Persian writers join or split words with a
zero-width non-joiner, so the classifier reads *character* n-grams inside
whitespace-delimited chunks (scikit-learn's ``char_wb`` scheme). Normalisation first folds
the spellings that mean the same thing:

- Unicode NFKC (full-width Latin and digits become ASCII), lower case;
- Arabic letter variants to their Persian forms (ي ى → ی, ك → ک, ة → ه, أ إ آ ٱ → ا, ؤ → و),
  Arabic diacritics and the tatweel (ـ) removed, the zero-width non-joiner to a space;
- Persian (۰-۹) and Arabic-Indic (٠-٩) digits to ASCII;
- punctuation of every script (，。！、؟ ...) to a space, so clauses become chunks.

>>> normalise("ARZAN نيست، كيفيت ۱۲٪")
'arzan نیست کیفیت 12'
>>> normalise("价格太贵了，再见。")
'价格太贵了 再见'
>>> char_ngrams("ab", ngram_min=1, ngram_max=3)
[' ', 'a', 'b', ' ', ' a', 'ab', 'b ', ' ab', 'ab ']
"""

from __future__ import annotations

import re
import unicodedata

#: one character in, one character out (applied after NFKC)
_FOLD = str.maketrans({
    "ي": "ی", "ى": "ی", "ئ": "ی", "ك": "ک", "ة": "ه", "ۀ": "ه",
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ؤ": "و",
    **{chr(0x06F0 + d): str(d) for d in range(10)},  # Persian digits
    **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
    "\u200c": " ", "\u200d": "", "\u200f": "", "\u200e": "", "ـ": "",
})
_DIACRITICS = re.compile("[\u064b-\u065f\u0670]")
_PUNCT_OR_SPACE = re.compile(r"[\W_]+", re.UNICODE)

#: bump when normalisation changes: saved models record it and refuse a mismatch
NORMALISATION_VERSION = 1


def normalise(text: str) -> str:
    """Fold case, Unicode forms, Persian/Arabic letter variants, digits and punctuation.

    >>> normalise("  Too   EXPENSIVE!! ")
    'too expensive'
    """
    text = unicodedata.normalize("NFKC", text).lower().translate(_FOLD)
    text = _DIACRITICS.sub("", text)
    return _PUNCT_OR_SPACE.sub(" ", text).strip()


def char_ngrams(text: str, *, ngram_min: int = 1, ngram_max: int = 4) -> list[str]:
    """Character n-grams of the normalised text, padded per chunk (``char_wb``).

    Each whitespace-separated chunk is padded with one space on each side; a chunk
    shorter than ``n`` yields itself once (as scikit-learn does).

    >>> char_ngrams("價格 貴", ngram_min=2, ngram_max=2)
    [' 價', '價格', '格 ', ' 貴', '貴 ']
    """
    grams: list[str] = []
    for chunk in normalise(text).split():
        w = f" {chunk} "
        size = len(w)
        for n in range(ngram_min, ngram_max + 1):
            if n >= size:
                grams.append(w)
                break
            grams.extend(w[i:i + n] for i in range(size - n + 1))
    return grams
