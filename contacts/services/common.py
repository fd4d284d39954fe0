"""Helpers of the contacts services: field assignment with a whitelist, trimming, tag resolution."""

from collections.abc import Iterable

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
