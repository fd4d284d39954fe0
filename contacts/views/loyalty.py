"""The loyalty card of the contact page: enrol, points, tier changes and notes."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from common.htmx import toast

from .. import selectors, services
from ..forms import LoyaltyEnrollForm, LoyaltyNoteForm, LoyaltyPointsForm, LoyaltyTierForm
from ..models import Contact, LoyaltyAccount
from .helpers import changed


def loyalty_context(contact: Contact, account: LoyaltyAccount | None, **forms) -> dict:
    return {
        "contact": contact,
        "account": account,
        "ledger": selectors.loyalty_ledger(account_id=account.pk) if account else [],
        "loyalty_totals": selectors.loyalty_totals(account_id=account.pk) if account else None,
        "enroll_form": forms.get("enroll_form") or LoyaltyEnrollForm(auto_id="enroll_%s"),
        "points_form": forms.get("points_form") or LoyaltyPointsForm(auto_id="points_%s"),
        "tier_form": forms.get("tier_form")
        or LoyaltyTierForm(auto_id="tier_%s", initial={"tier": account.tier if account else "bronze"}),
        "note_form": forms.get("note_form") or LoyaltyNoteForm(auto_id="lnote_%s"),
        "loyalty_open": forms.get("open", ""),
    }


LOYALTY_ACTIONS = {
    "enroll": ("contacts.add_loyaltyaccount", LoyaltyEnrollForm, "enroll_form", "enroll_%s"),
    "points": ("contacts.add_loyaltynote", LoyaltyPointsForm, "points_form", "points_%s"),
    "tier": ("contacts.add_loyaltynote", LoyaltyTierForm, "tier_form", "tier_%s"),
    "note": ("contacts.add_loyaltynote", LoyaltyNoteForm, "note_form", "lnote_%s"),
}


@require_POST
@permission_required("contacts.view_contact", raise_exception=True)
def contact_loyalty(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in LOYALTY_ACTIONS:
        return HttpResponse(status=404)
    perm, form_class, form_key, auto_id = LOYALTY_ACTIONS[action]
    if not request.user.has_perm(perm):
        raise PermissionDenied
    contact = get_object_or_404(Contact, pk=pk)
    account = LoyaltyAccount.objects.filter(contact=contact).first()
    form = form_class(request.POST, auto_id=auto_id)
    done = ""
    if account is None and action != "enroll":
        form.add_error(None, "Enroll the contact in the loyalty program first.")
    elif form.is_valid():
        data = form.cleaned_data
        try:
            if action == "enroll":
                account = services.loyalty_enroll(contact=contact, user=request.user, tier=data["tier"])
                done = "Enrolled in the loyalty program."
            elif action == "points":
                services.loyalty_points_add(
                    account=account,
                    user=request.user,
                    delta=form.delta(),
                    kind=data["kind"],
                    text=data["text"],
                )
                done = "Points recorded."
            elif action == "tier":
                services.loyalty_tier_change(
                    account=account, user=request.user, tier=data["tier"], text=data["text"]
                )
                done = "Tier changed."
            else:
                services.loyalty_note_add(account=account, user=request.user, text=data["text"])
                done = "Note added."
        except ValidationError as error:
            form.add_service_error(error)
    if not request.htmx:
        if done:
            messages.success(request, done)
        else:
            messages.error(request, "; ".join(str(m) for errors in form.errors.values() for m in errors))
        return redirect(contact)
    if account is not None:
        account.refresh_from_db()
    extra = {} if done else {form_key: form, "open": action}
    response = render(request, "contacts/partials/_loyalty.html", loyalty_context(contact, account, **extra))
    return changed(toast(response, done)) if done else response
