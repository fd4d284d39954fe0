"""Filters that show traits of any JSON type: clients send numbers, lists and objects where strings are usual."""

import json

from django import template

register = template.Library()


@register.filter
def trait_pairs(traits) -> list[tuple[str, object]]:
    """(key, value) pairs sorted by key; `traits.items` in a template would read a trait named "items"."""
    return sorted(traits.items()) if isinstance(traits, dict) else []


@register.filter
def trait_text(value) -> str:
    """A trait as text: strings as they are, everything else as the JSON the client sent."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
