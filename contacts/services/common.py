"""Helpers of the contacts services: field assignment with a whitelist, trimming, tag resolution."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError

from ..models import Tag


def assign_fields(instance, fields: dict, allowed: frozenset[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unknown fields for {type(instance).__name__}: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(instance, name, value)


def strip_strings(fields: dict) -> dict:
    return {k: v.strip() if isinstance(v, str) else v for k, v in fields.items()}


def tag_list_resolve(*, tags: Iterable[Tag | str]) -> list[Tag]:
    """Tag objects for a mix of Tag objects and names; unknown names are created."""
    resolved: list[Tag] = []
    names: list[str] = []
    for tag in tags:
        if isinstance(tag, Tag):
            resolved.append(tag)
        elif str(tag).strip():
            names.append(str(tag).strip())
    if names:
        existing = {t.name.lower(): t for t in Tag.objects.filter(name__in=names)}
        for name in dict.fromkeys(names):
            tag = existing.get(name.lower())
            if tag is None:
                tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name[:60])
                existing[name.lower()] = tag
            resolved.append(tag)
    return list({t.pk: t for t in resolved}.values())


def errors_collect(instance, *, extra: dict[str, str] | None = None, exclude=None) -> None:
    """full_clean() plus the service's own checks, raised together: every invalid field at once."""
    errors: dict[str, list[str]] = {}
    try:
        instance.full_clean(validate_constraints=False, exclude=exclude)
    except ValidationError as error:
        errors = {field: list(messages) for field, messages in error.message_dict.items()}
    for field, message in (extra or {}).items():
        errors.setdefault(field, []).append(message)
    if errors:
        raise ValidationError(errors)
