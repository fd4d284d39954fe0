"""API JSON that always encodes: a lone surrogate goes out as its \\u escape, NaN and infinities as null."""

import math

from rest_framework.renderers import JSONRenderer


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


class SafeJSONRenderer(JSONRenderer):
    """DRF's JSON renderer writes non-ASCII text as is and refuses NaN, so one lone surrogate or NaN in a
    stored value (possible on SQLite, from before ingestion cleaned them) made the whole answer a 500.
    Such an answer is written with ASCII escapes and nulls instead, which every JSON parser reads."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except (UnicodeEncodeError, ValueError):
            self.ensure_ascii = True
            return super().render(_finite(data), accepted_media_type, renderer_context)
