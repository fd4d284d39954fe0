"""Merge fields in e-mail templates: `{{ contact.first_name }}`, `{{ contact.first_name|default:"there" }}`.

Deliberately not a template language: only the listed fields of plain values can be read (no attribute
lookups on objects, no tags, no filters but a default), so a template written in the admin cannot reach
anything else. Unknown fields are refused with their names, when the template is saved and when it is sent.
"""

import re

from django.core.exceptions import ValidationError

from .registry import RECORD_KINDS

TOKEN_RE = re.compile(r"\{\{(.*?)\}\}|\{%.*?%\}", re.DOTALL)
FIELD_RE = re.compile(r'^\s*([a-z_]+)\.([a-z_]+)\s*(?:\|\s*default\s*:\s*"([^"{}]*)"\s*)?$')

BASE_FIELDS = (
    "contact.first_name",
    "contact.last_name",
    "contact.full_name",
    "contact.email",
    "contact.job_title",
    "company.name",
    "company.domain",
    "sender.first_name",
    "sender.last_name",
    "sender.full_name",
    "sender.email",
)


def merge_fields() -> list[str]:
    fields = list(BASE_FIELDS)
    for kind in RECORD_KINDS.values():
        fields.extend(f for f in kind.merge_fields if f not in fields)
    return fields


def _tokens(text: str):
    for match in TOKEN_RE.finditer(text):
        if match.group(1) is None:
            yield match, None
            continue
        yield match, FIELD_RE.match(match.group(1))


def template_check(text: str, *, field: str) -> None:
    """Every merge field known; raises ValidationError naming the ones that are not."""
    known = set(merge_fields())
    bad = []
    for match, parsed in _tokens(text):
        if parsed is None or f"{parsed.group(1)}.{parsed.group(2)}" not in known:
            bad.append(match.group(0)[:60])
    if bad:
        raise ValidationError(
            {
                field: f"Unknown merge field{'s' if len(bad) > 1 else ''}: {', '.join(dict.fromkeys(bad))}. "
                f"Available: {', '.join('{{ ' + f + ' }}' for f in sorted(known))}."
            }
        )


def _display(user) -> dict:
    if user is None:
        return {}
    return {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "full_name": user.get_full_name() or user.username,
        "email": user.email,
    }


def merge_context(*, contact, sender=None, extra: dict | None = None) -> dict[str, dict[str, str]]:
    """Plain strings only: the values a template may show."""
    company = contact.company if contact is not None and contact.company_id else None
    context = {
        "contact": {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "full_name": contact.full_name,
            "email": contact.email,
            "job_title": contact.job_title,
        }
        if contact is not None
        else {},
        "company": {"name": company.name, "domain": company.domain} if company else {},
        "sender": _display(sender),
    }
    for group, values in (extra or {}).items():
        context[group] = {k: "" if v is None else str(v) for k, v in values.items()}
    return context


def render(text: str, context: dict[str, dict[str, str]], *, field: str = "body") -> str:
    """The text with every merge field replaced by its value (or its default when empty)."""
    template_check(text, field=field)

    def replace(match):
        parsed = FIELD_RE.match(match.group(1))
        value = str(context.get(parsed.group(1), {}).get(parsed.group(2)) or "")
        return value or (parsed.group(3) or "")

    return TOKEN_RE.sub(replace, text)
