"""Writes of companies: create, update, delete."""

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Company
from ..signals import crm_changed_on_commit
from .common import assign_fields, strip_strings

COMPANY_FIELDS = frozenset({"name", "domain", "industry", "size", "phone", "address", "owner", "owner_id"})


def _company_save(company: Company) -> None:
    company.domain = (company.domain or "").strip().lower()
    for prefix in ("https://", "http://"):
        company.domain = company.domain.removeprefix(prefix)
    company.domain = company.domain.rstrip("/")
    if company.domain:
        clash = Company.objects.filter(domain__iexact=company.domain)
        if company.pk:
            clash = clash.exclude(pk=company.pk)
        if clash.exists():
            raise ValidationError({"domain": "Another company already uses this domain."})
    company.full_clean(validate_constraints=False)
    company.save()


@transaction.atomic
def company_create(*, user, **fields) -> Company:
    company = Company()
    fields = strip_strings(fields)
    if "owner" not in fields and "owner_id" not in fields and user is not None and user.is_authenticated:
        fields["owner"] = user
    assign_fields(company, fields, COMPANY_FIELDS)
    _company_save(company)
    return company


@transaction.atomic
def company_update(*, company: Company, user, **fields) -> Company:
    assign_fields(company, strip_strings(fields), COMPANY_FIELDS)
    _company_save(company)
    contact_ids = list(company.contacts.values_list("pk", flat=True))
    crm_changed_on_commit(contact_ids=contact_ids, fact="contact")
    return company


@transaction.atomic
def company_delete(*, company: Company, user) -> None:
    contact_ids = list(company.contacts.values_list("pk", flat=True))
    company.delete()
    crm_changed_on_commit(contact_ids=contact_ids, fact="contact")
