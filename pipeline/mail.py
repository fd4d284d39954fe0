"""What pipeline registers into contacts.mail: open deals an e-mail is logged on, and e-mail from a deal."""

from django.db.models import Q

from contacts.mail.registry import RecordContext, RecordKind, deal_linker_register, record_kind_register

from .models import Deal, Stage


def open_deals_for_contacts(contact_ids: list[int]) -> dict[int, list[int]]:
    """{contact id: open deal ids}: the contact's own deals, and their company's deals without a contact."""
    from contacts.models import Contact

    companies = dict(
        Contact.objects.filter(pk__in=contact_ids, company__isnull=False).values_list("pk", "company_id")
    )
    deals = Deal.objects.filter(stage__kind=Stage.Kind.OPEN).filter(
        Q(contact_id__in=contact_ids) | Q(contact__isnull=True, company_id__in=set(companies.values()))
    )
    found: dict[int, list[int]] = {}
    by_company: dict[int, list[int]] = {}
    for deal_id, contact_id, company_id in deals.order_by("pk").values_list("pk", "contact_id", "company_id"):
        if contact_id is not None:
            found.setdefault(contact_id, []).append(deal_id)
        else:
            by_company.setdefault(company_id, []).append(deal_id)
    for contact_id, company_id in companies.items():
        for deal_id in by_company.get(company_id, []):
            found.setdefault(contact_id, []).append(deal_id)
    return found


def _deal_record(*, pk: int, user) -> RecordContext | None:
    if not user.has_perm("pipeline.view_deal"):
        return None
    deal = Deal.objects.select_related("contact", "contact__company", "stage").filter(pk=pk).first()
    if deal is None:
        return None
    return RecordContext(
        contact=deal.contact,
        label=deal.title,
        url=deal.get_absolute_url(),
        fields={
            "deal": {
                "title": deal.title,
                "amount": f"{deal.currency} {deal.amount:,.2f}",
                "stage": deal.stage.name,
            }
        },
        deal_id=deal.pk,
    )


def register() -> None:
    deal_linker_register(open_deals_for_contacts)
    record_kind_register(
        RecordKind(key="deal", load=_deal_record, merge_fields=("deal.title", "deal.amount", "deal.stage"))
    )
