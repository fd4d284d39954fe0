"""The demo shows e-mail: demo mailboxes marked as such, templates, and mailbox-like threads on contacts."""

import io

import pytest

from cdpcrm.demo import demo_users_ensure
from contacts.demo import demo_load as contacts_demo
from contacts.mail.demo import demo_load
from contacts.mail.models import EmailTemplate, Mailbox, MailMessage, MessageLink
from contacts.models import Activity
from profiles.models import Event

pytestmark = pytest.mark.django_db


def test_demo_mail_history_is_logged_like_a_sync_and_a_second_run_adds_nothing(
    django_capture_on_commit_callbacks, sales_client
):
    users = demo_users_ensure()
    contacts_demo(users=users, stdout=io.StringIO(), contacts=120, companies=20)
    with django_capture_on_commit_callbacks(execute=True):
        demo_load(users=users, stdout=io.StringIO())

    mailbox = Mailbox.objects.get(owner=users["sales"])
    assert mailbox.is_demo and not mailbox.can_read and not mailbox.can_send
    assert EmailTemplate.objects.count() == 3
    threads = MailMessage.objects.values("thread_key").distinct().count()
    assert MailMessage.objects.count() >= 10 and threads == 5
    assert (
        Activity.objects.filter(kind="email", mail_link__isnull=False).count() == MailMessage.objects.count()
    )
    assert MessageLink.objects.filter(activity__isnull=False).count() == MailMessage.objects.count()
    assert MailMessage.objects.filter(attachments__isnull=False).exists()
    opened = MailMessage.objects.filter(open_count__gt=0).first()
    assert opened is not None and Event.objects.filter(name="Email Opened").exists()

    sales_client.force_login(users["sales"])
    contact = MessageLink.objects.first().contact
    panel = sales_client.get(f"/mail/contacts/{contact.pk}/").content.decode()
    assert (
        "mailbox (demo)" in panel
        and "opened "
        in sales_client.get(f"/mail/contacts/{opened.links.first().contact_id}/").content.decode()
    )
    assert "Demo · no server" in sales_client.get("/mail/mailboxes/").content.decode()

    before = MailMessage.objects.count()
    out = io.StringIO()
    demo_load(users=users, stdout=out)
    assert MailMessage.objects.count() == before and "already present" in out.getvalue()
