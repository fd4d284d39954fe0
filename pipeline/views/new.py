"""The new-deal page, prefilled from the contact, company or board column it was opened from."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from common.params import is_id
from contacts.models import Company, Contact

from .. import services
from ..forms import DealCreateForm
from ..models import Stage
from ..selectors import base_currency
from .permissions import ADD


@permission_required(ADD, raise_exception=True)
@require_http_methods(["GET", "POST"])
def deal_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = DealCreateForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                deal = services.deal_create(user=request.user, **data)
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, f"Deal “{deal.title}” created.")
                return redirect(deal)
    else:
        initial = {"owner": request.user.pk, "currency": base_currency()}
        stage_id = request.GET.get("stage")
        stage = Stage.objects.filter(pk=stage_id).first() if stage_id and is_id(stage_id) else None
        if stage is None:
            stage = services.pipeline_default().stages.order_by("position", "id").first()
        initial["stage"] = stage.pk if stage else None
        contact_id, company_id = request.GET.get("contact", ""), request.GET.get("company", "")
        if is_id(contact_id):
            contact = Contact.objects.filter(pk=contact_id).select_related("company").first()
            if contact:
                initial["contact"] = contact.pk
                initial["company"] = contact.company_id
                initial["title"] = (
                    f"{contact.company.name if contact.company else contact.full_name} – new deal"
                )
        if is_id(company_id):
            company = Company.objects.filter(pk=company_id).first()
            if company:
                initial["company"] = company.pk
                initial.setdefault("title", f"{company.name} – new deal")
        form = DealCreateForm(initial=initial)
    return render(request, "pipeline/deal_form.html", {"form": form})
