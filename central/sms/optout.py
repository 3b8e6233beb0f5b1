"""Whether a reply asks us to stop: 退订 or TD, as people actually type them."""

from __future__ import annotations

import re
import unicodedata

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
OPT_OUT_WORDS = frozenset({"TD", "退订", "退订短信", "取消订阅", "退"})


def is_opt_out(text: str) -> bool:
    """True for 退订, TD, td, Ｔ Ｄ, "退订。" and the like; a sentence merely containing TD is not."""
    normal = _NOISE.sub("", unicodedata.normalize("NFKC", text)).upper()
    return normal in OPT_OUT_WORDS
