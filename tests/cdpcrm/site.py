"""One record of every kind and the GET pages of the whole site (from the URL conf), for site-wide tests."""

import datetime
import re
from decimal import Decimal

from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from contacts.mail import services as mail_services
from contacts.models import Activity, Task
from pipeline.models import Stage
from profiles.models import Event, Group, Identity, Profile, ProfileMerge
from segments.journeys import services as journey_services
from segments.models import Segment, SegmentSize
from segments.services import segment_recompute
from tests.contacts.factories import CompanyFactory, ContactFactory
from tests.pipeline.factories import deal_make
from tests.profiles.factories import make_source
from tests.tickets.factories import ticket_make

JOURNEY = {
    "trigger": {"type": "event", "event": "Signed Up"},
    "steps": [{"id": "tag", "type": "tag", "tag": "welcomed", "next": None}],
}
# Paths that are not pages a person opens: machine APIs, downloads, sign-out, the tracking scripts.
NOT_PAGES = re.compile(
    r"^/(api/|v1/|beacon/|sourceConfig/|static/|healthz|accounts/logout/|cdp/analytics/|mail/o/|mail/c/)"
    r"|\.csv$|/attachments/"
)


def site_objects(*, user) -> dict:
    """One of each record a page shows, linked the way real data is; returns them by URL keyword."""
    company = CompanyFactory(name="Acme", domain="acme.example", owner=user)
    contact = ContactFactory(
        first_name="Ann", last_name="Lee", email="ann@acme.example", company=company, owner=user
    )
    Activity.objects.create(contact=contact, kind="note", subject="Called", occurred_at=timezone.now())
    task = Task.objects.create(contact=contact, title="Send the catalogue", assignee=user)
    deal = deal_make(
        user=user, title="Acme renewal", company=company, contact=contact, amount=Decimal("1200")
    )
    ticket = ticket_make(user=user, contact=contact, subject="Parcel missing")
    source, _ = make_source(name="Website", kind="website")
    profile = Profile.objects.create(
        contact=contact, company=company, traits={"email": contact.email, "tier": "gold", "plan": {"n": 1}}
    )
    other = Profile.objects.create(traits={"name": "Old"}, merged_into=profile, merged_at=timezone.now())
    merge = ProfileMerge.objects.create(
        survivor=profile, merged=other, rule="identify", created_at=timezone.now()
    )
    Identity.objects.create(kind="email", value=contact.email, profile=profile)
    now = timezone.now()
    Event.objects.create(
        source=source, profile=profile, message_id="m1", type="track", name="Order Completed",
        timestamp=now, received_at=now, properties={"revenue": 10, "currency": "USD"},
    )  # fmt: skip
    Group.objects.create(group_id="acme", traits={"name": "Acme"}, company=company)
    segment = Segment.objects.create(name="Gold", rule={"trait": "tier", "op": "eq", "value": "gold"})
    segment_recompute(segment_id=segment.pk)
    SegmentSize.objects.update_or_create(
        segment=segment, day=timezone.localdate() - datetime.timedelta(days=1), defaults={"size": 1}
    )
    journey = journey_services.journey_save(user=None, name="Welcome", definition=JOURNEY)
    journey_services.journey_publish(journey=journey, user=None)
    mailbox = mail_services.mailbox_save(
        user=user, name="Sales inbox", purpose="sales", email_address="me@acme.example",
        imap_host="127.0.0.1", imap_port=1, imap_security="none", imap_password="x",
        smtp_host="", smtp_port=587, smtp_security="none",
    )  # fmt: skip
    return {
        "contact": contact, "company": company, "deal": deal, "ticket": ticket, "task": task,
        "profile": profile, "merge": merge, "source": source, "segment": segment, "journey": journey,
        "mailbox": mailbox, "stage": Stage.objects.get(pk=deal.stage_id),
    }  # fmt: skip


# Which record a URL's `pk` is, by words in the URL name (first match wins).
_PK_BY_NAME = (
    ("mailbox", "mailbox"), ("message", None), ("journey", "journey"), ("segment", "segment"),
    ("delivery", None), ("source", "source"), ("profile", "profile"), ("ticket", "ticket"),
    ("deal", "deal"), ("task", "task"), ("company", "company"), ("contact", "contact"),
)  # fmt: skip
_NAMESPACE_DEFAULT = {"tickets": "ticket", "pipeline": "deal", "journeys": "journey", "segments": "segment"}


def _record_for(namespace: str, name: str, keyword: str, objects: dict):
    if keyword != "pk":
        key = {"stage_pk": "stage", "contact_pk": "contact", "company_pk": "company", "task_pk": "task",
               "merge_pk": "merge"}.get(keyword)  # fmt: skip
    else:
        key = next(
            (k for word, k in _PK_BY_NAME if word in name), _NAMESPACE_DEFAULT.get(namespace, "missing")
        )
    record = objects.get(key) if key else None
    return record.pk if record is not None else None


def _walk(patterns, namespace: str = "", prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, entry.namespace or namespace, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace, entry.name, prefix + str(entry.pattern)


def page_paths(objects: dict) -> list[str]:
    """Every named URL of the site with its arguments filled from `objects` (admin and machine APIs aside)."""
    paths = set()
    for namespace, name, route in _walk(get_resolver().url_patterns):
        if route.startswith(("admin/", "^", "api/")) or "<str:" in route or "<slug:" in route:
            continue
        kwargs = {}
        for keyword in re.findall(r"<int:(\w+)>", route):
            kwargs[keyword] = _record_for(namespace, name, keyword, objects)
        if None in kwargs.values():
            continue
        path = reverse(f"{namespace}:{name}" if namespace else name, kwargs=kwargs)
        if not NOT_PAGES.search(path):
            paths.add(path)
    return sorted(paths)


def admin_paths(objects: dict) -> list[str]:
    """The admin index, every model's list and add form, and the change form of each record made above."""
    paths = ["/admin/"]
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        paths.append(reverse("admin:{}_{}_changelist".format(*info)))
        if model_admin.has_add_permission(_SuperRequest()):
            paths.append(reverse("admin:{}_{}_add".format(*info)))
    for record in objects.values():
        if type(record) in admin.site._registry:
            info = (record._meta.app_label, record._meta.model_name)
            paths.append(reverse("admin:{}_{}_change".format(*info), args=[record.pk]))
    return sorted(set(paths))


class _SuperRequest:
    class user:  # noqa: N801  (an object the admin's permission checks accept)
        is_active = is_staff = is_superuser = True

        @staticmethod
        def has_perm(*args, **kwargs):
            return True


def html_pages(client: Client, paths: list[str]) -> list[str]:
    """The paths that answer a GET with an HTML page of their own (not a partial, a redirect or a 405)."""
    found = []
    for path in paths:
        response = client.get(path)
        if response.status_code == 200 and b"<html" in response.content[:500]:
            found.append(path)
    return found
