"""Every CSV the app writes defuses cells a spreadsheet would run as a formula (OWASP "CSV injection")."""

import csv
import datetime
import io
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from common.csv import FORMULA_PREFIXES, spreadsheet_cell
from profiles.models import Profile
from segments.models import Segment
from segments.services import segment_recompute
from tests.contacts.factories import CompanyFactory, ContactFactory
from tests.pipeline.factories import deal_make
from tests.profiles.factories import basic_auth, make_source
from tests.tickets.factories import ticket_make

pytestmark = pytest.mark.django_db

# One planted value per prefix, each a formula a spreadsheet would run; "=1+..." slipped past the old guard.
PLANTED = [f"{prefix}1+cmd|' /C calc'!A0" for prefix in FORMULA_PREFIXES] + [
    '=HYPERLINK("http://evil.example","x")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
]

UNSTRIPPED = [value for value in PLANTED if not value[0].isspace()]


def _cells(response) -> list[str]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return [cell for row in csv.reader(io.StringIO(body.decode(), newline="")) for cell in row]


def _assert_defused(cells: list[str], planted: list[str]) -> None:
    dangerous = [c for c in cells if c.startswith(FORMULA_PREFIXES) and spreadsheet_cell(c) != c]
    assert dangerous == []
    for value in planted:
        assert f"'{value}" in cells, value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("-1+cmd", "'-1+cmd"),
        ("+1 310 555", "'+1 310 555"),
        ("@x", "'@x"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-5", "-5"),
        ("+14155552671", "+14155552671"),
        ("-12.50", "-12.50"),
        ("plain", "plain"),
        (None, ""),
        (-3, -3),
        (Decimal("-1.50"), Decimal("-1.50")),
    ],
)
def test_spreadsheet_cell_quotes_formulas_and_keeps_numbers(value, expected):
    assert spreadsheet_cell(value) == expected


def test_contact_company_deal_and_ticket_exports_defuse_every_prefix(admin_client_role, admin_user):
    for value in PLANTED:
        company = CompanyFactory(name=value, industry=value)
        contact = ContactFactory(first_name=value, last_name=value, job_title=value, company=company)
        deal_make(user=admin_user, title=value, company=company, next_step=value)
        ticket_make(user=admin_user, contact=contact, subject=value)
    for url in (reverse("contacts:contact_export"), reverse("contacts:company_export")):
        _assert_defused(_cells(admin_client_role.get(url)), PLANTED)
    _assert_defused(_cells(admin_client_role.get(reverse("pipeline:deal_list"), {"format": "csv"})), PLANTED)
    from tickets.models import Ticket

    ids = [str(pk) for pk in Ticket.objects.values_list("pk", flat=True)]
    export = admin_client_role.post(reverse("tickets:queue_bulk"), {"action": "export", "ids": ids})
    _assert_defused(_cells(export), PLANTED)


def test_forecast_export_defuses_owner_names(admin_client_role, admin_user):
    from tests.factories import UserFactory

    for value in PLANTED:
        owner = UserFactory(first_name=value, last_name="")
        deal_make(
            user=admin_user,
            owner=owner,
            expected_close_date=timezone.localdate() + datetime.timedelta(days=3),
        )
    response = admin_client_role.get(reverse("pipeline:forecast"), {"format": "csv"})
    _assert_defused(_cells(response), UNSTRIPPED)  # a full name is trimmed, so a leading tab or CR is gone


def test_segment_export_defuses_what_anyone_can_send_through_the_tracking_api(
    marketing_client, client, django_capture_on_commit_callbacks
):
    _, key = make_source(name="Website", kind="website")
    for n, value in enumerate(PLANTED):
        traits = {"tier": "gold", "name": value, "email": f"{value}{n}@example.com"}
        with django_capture_on_commit_callbacks(execute=True):
            sent = client.post(
                "/v1/identify",
                data=json.dumps({"userId": f"{value}{n}", "traits": traits}),
                content_type="application/json",
                HTTP_AUTHORIZATION=basic_auth(key),
            )
        assert sent.status_code == 200
    assert Profile.objects.count() == len(PLANTED)
    segment = Segment.objects.create(name="Gold", rule={"trait": "tier", "op": "eq", "value": "gold"})
    segment_recompute(segment_id=segment.pk)
    response = marketing_client.get(reverse("segments:segment_export", args=[segment.pk]), {"traits": "name"})
    cells = _cells(response)
    assert len(cells) == 5 * (1 + len(PLANTED))
    _assert_defused(cells, PLANTED)
    # Identifiers are trimmed when an event is normalised: those planted behind a tab or CR lose it.
    assert sum(c.startswith("'") and c.endswith("@example.com") for c in cells) == len(UNSTRIPPED)
