"""Rule trees of segments: validation, the readable sentence and the compiler to one queryset."""

from .compiler import leaves, rule_compile, uses_crm, window_delta
from .sentence import rule_sentence
from .validation import RuleError, rule_validate, segment_refs

__all__ = [
    "RuleError",
    "leaves",
    "rule_compile",
    "rule_sentence",
    "rule_validate",
    "segment_refs",
    "uses_crm",
    "window_delta",
]
