"""Make client JSON storable: strip NUL, replace lone surrogates, turn NaN and infinities into null.

PostgreSQL refuses NUL (`\\u0000`) in text and jsonb and lone UTF-16 surrogates (`\\ud800`) in jsonb, and a
response holding a lone surrogate cannot be encoded as UTF-8; `NaN`/`Infinity` are not JSON at all. A
website's write key is public, so anyone can send them: they are cleaned before anything is stored.
"""

import math
import re

# In the JSON text these can only arrive as escapes (or the NaN/Infinity words, or a float past 1e308):
# a body without any of them needs no walk at all. False positives only cost the walk.
_SUSPECT_TEXT = re.compile(r"\\u(?:0000|[dD][89a-fA-F])|NaN|Infinity|\d[eE][+]?\d{3}")
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def text_needs_cleaning(text: str) -> bool:
    """Whether a JSON document's text may hold a value `json_clean` would change."""
    return _SUSPECT_TEXT.search(text) is not None


def text_clean(value: str) -> str:
    """The string without NUL characters and with each lone surrogate replaced by U+FFFD."""
    if _BAD_CHARS.search(value) is None:
        return value
    return _BAD_CHARS.sub(lambda m: "" if m.group() == "\x00" else REPLACEMENT, value)


def json_clean(value):
    """A copy of parsed JSON that PostgreSQL and UTF-8 accept (keys too); depth is bounded at the edge."""
    if isinstance(value, str):
        return text_clean(value)
    if isinstance(value, dict):
        return {text_clean(str(key)): json_clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_clean(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
