"""Writes of companies: create, update, delete."""

from collections.abc import Iterable

from django.db import transaction

from ..models import Company, Tag
from ..signals import crm_change_record, crm_changed_on_commit
from .common import assign_fields, errors_collect, strip_strings, tag_list_resolve

COMPANY_FIELDS = frozenset({"name", "domain", "industry", "size", "phone", "address", "owner", "owner_id"})


DOMAIN_MESSAGE = "Enter a web domain such as atelier-nord.com (no spaces or symbols)."


def domain_normalise(value: str) -> str:
    """ "https://Acme.com/about" -> "acme.com": lower case, no scheme, path, port or trailing dot."""
    domain = (value or "").strip().lower()
    for prefix in ("https://", "http://"):
        domain = domain.removeprefix(prefix)
    domain = domain.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if domain.count(":") == 1:
        domain = domain.split(":", 1)[0]
    return domain.rstrip(".")


def _company_save(company: Company) -> None:
    """Validate every field at once (domain format and uniqueness, phone, ...), then save."""
    company.domain = domain_normalise(company.domain)
    extra = {}
    if company.domain:
        clash = Company.objects.filter(domain__iexact=company.domain)
        if company.pk:
            clash = clash.exclude(pk=company.pk)
        if clash.exists():
            extra["domain"] = "Another company already uses this domain."
    errors_collect(company, extra=extra)
    company.save()


@transaction.atomic
def company_create(*, user, tags: Iterable[Tag | str] | None = None, **fields) -> Company:
    company = Company()
    fields = strip_strings(fields)
    if "owner" not in fields and "owner_id" not in fields and user is not None and user.is_authenticated:
        fields["owner"] = user
    assign_fields(company, fields, COMPANY_FIELDS)
    _company_save(company)
    if tags is not None:
        company.tags.set(tag_list_resolve(tags=tags))
    crm_change_record(topic="company.created", instance=company)
    return company


@transaction.atomic
def company_update(*, company: Company, user, tags: Iterable[Tag | str] | None = None, **fields) -> Company:
    assign_fields(company, strip_strings(fields), COMPANY_FIELDS)
    _company_save(company)
    if tags is not None:
        company.tags.set(tag_list_resolve(tags=tags))
    contact_ids = list(company.contacts.values_list("pk", flat=True))
    crm_changed_on_commit(contact_ids=contact_ids, fact="contact")
    crm_change_record(topic="company.updated", instance=company)
    return company


@transaction.atomic
def company_delete(*, company: Company, user) -> None:
    contact_ids = list(company.contacts.values_list("pk", flat=True))
    crm_change_record(topic="company.deleted", instance=company)
    company.delete()
    crm_changed_on_commit(contact_ids=contact_ids, fact="contact")
