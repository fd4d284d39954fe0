"""Mailbox and e-mail pages: forms that report every field, secrets never shown, server errors in words."""

import pytest
from django.utils import timezone

from contacts.mail.models import EmailTemplate, MailAttachment, Mailbox, MailMessage, MessageLink
from contacts.mail.services import mailbox_save
from contacts.mail.tracking import open_record
from tests.contacts.factories import ContactFactory
from tests.factories import UserFactory

from .conftest import PASSWORD, mailbox_for

pytestmark = pytest.mark.django_db


def _box(owner, **fields) -> Mailbox:
    return mailbox_save(
        user=owner,
        name=fields.pop("name", "Sam's mail"),
        purpose="sales",
        email_address=owner.email or "sam@ourco.com",
        imap_host="imap.example.com",
        imap_password="secret-app-password",
        **fields,
    )


def test_connect_form_reports_every_invalid_field_at_once(sales_client):
    response = sales_client.post(
        "/mail/mailboxes/new/",
        {
            "name": "",
            "purpose": "sales",
            "email_address": "nope",
            "imap_host": "https://imap",
            "imap_port": "99999",
            "imap_security": "ssl",
            "smtp_port": "587",
            "smtp_security": "starttls",
            "privacy": "body",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    for words in (
        "This field is required",
        "Enter a valid email address",
        "Ensure this value is less than or equal to 65535",
    ):
        assert words in html
    assert not Mailbox.objects.exists()


def test_connect_with_service_errors_names_each_field(sales_client):
    response = sales_client.post(
        "/mail/mailboxes/new/",
        {
            "name": "Box",
            "purpose": "sales",
            "email_address": "sam@ourco.com",
            "imap_host": "imap.example.com/x",
            "imap_port": "993",
            "imap_security": "ssl",
            "smtp_port": "587",
            "smtp_security": "starttls",
            "privacy": "body",
            "internal_domains": "ourco.com\nnot a domain",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "is not a server name" in html and "Give the password" in html and "is not a domain" in html


def test_passwords_are_never_shown_again(sales_client, sales_user):
    response = sales_client.post(
        "/mail/mailboxes/new/",
        {
            "name": "Box",
            "purpose": "sales",
            "email_address": "sam@ourco.com",
            "imap_host": "imap.example.com",
            "imap_port": "993",
            "imap_security": "ssl",
            "imap_password": "hunter2-secret",
            "smtp_host": "smtp.example.com",
            "smtp_port": "587",
            "smtp_security": "starttls",
            "privacy": "body",
        },
    )
    mailbox = Mailbox.objects.get()
    assert response.status_code == 302 and response["Location"] == mailbox.get_absolute_url()
    for url in (
        mailbox.get_absolute_url(),
        f"/mail/mailboxes/{mailbox.pk}/edit/",
        "/mail/mailboxes/",
        "/admin/mail/mailbox/",
    ):
        html = sales_client.get(url).content.decode()
        assert "hunter2" not in html and mailbox.imap_password not in html
    edit = sales_client.get(f"/mail/mailboxes/{mailbox.pk}/edit/").content.decode()
    assert "Leave blank to keep it" in edit
    # Saving without a password keeps the stored one.
    token = mailbox.imap_password
    sales_client.post(
        f"/mail/mailboxes/{mailbox.pk}/edit/",
        {
            "name": "Renamed",
            "purpose": "sales",
            "email_address": "sam@ourco.com",
            "imap_host": "imap.example.com",
            "imap_port": "993",
            "imap_security": "ssl",
            "smtp_port": "587",
            "smtp_security": "starttls",
            "privacy": "body",
        },
    )
    mailbox.refresh_from_db()
    assert mailbox.name == "Renamed" and mailbox.imap_password == token


def test_check_connection_reports_the_servers_own_words(sales_client, sales_user, dovecot, smtp_server):
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=sales_user, smtp=smtp_server)
    html = sales_client.post(f"/mail/mailboxes/{mailbox.pk}/check/", HTTP_HX_REQUEST="true").content.decode()
    assert "IMAP works" in html and "SMTP works" in html

    mailbox_save(user=sales_user, mailbox=mailbox, imap_password="wrong-one", smtp_password="wrong-too")
    html = sales_client.post(f"/mail/mailboxes/{mailbox.pk}/check/").content.decode()
    assert "The IMAP server refused the login: [AUTHENTICATIONFAILED] Authentication failed." in html
    assert "The SMTP server refused the login: 535" in html
    assert PASSWORD not in html


def test_someone_elses_personal_mailbox_is_not_found(client, sales_user):
    other = UserFactory(username="olga")
    other.groups.add(*sales_user.groups.all())
    mailbox = _box(other)
    client.force_login(sales_user)
    for url in (mailbox.get_absolute_url(), f"/mail/mailboxes/{mailbox.pk}/edit/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/mail/mailboxes/{mailbox.pk}/delete/").status_code == 404
    assert Mailbox.objects.filter(pk=mailbox.pk).exists()
    assert "Sam's mail" not in client.get("/mail/mailboxes/").content.decode()


def test_demo_mailbox_is_clearly_shown_as_one(sales_client, sales_user):
    mailbox = _box(sales_user, name="Demo inbox")
    Mailbox.objects.filter(pk=mailbox.pk).update(is_demo=True)
    page = sales_client.get(mailbox.get_absolute_url()).content.decode()
    assert "Demo · no server" in page and "points at no real server" in page
    check = sales_client.post(f"/mail/mailboxes/{mailbox.pk}/check/").content.decode()
    assert "demo mailbox" in check


def _logged(mailbox, contact, n: int):
    for i in range(n):
        message = MailMessage.objects.create(
            mailbox=mailbox,
            message_id=f"m{i}-{contact.pk}@x",
            thread_key=f"m{i}@x",
            direction="in",
            subject=f"Mail {i}",
            from_email=contact.email,
            sent_at=timezone.now(),
            body_text="hello",
        )
        MessageLink.objects.create(message=message, contact=contact)
        MailAttachment.objects.create(
            message=message, filename="a.pdf", content_type="application/pdf", size=10
        )


def test_contact_email_panel_runs_a_fixed_number_of_queries(
    sales_client, sales_user, django_assert_num_queries
):
    mailbox = _box(sales_user)
    small, big = ContactFactory(email="a@x.com"), ContactFactory(email="b@x.com")
    _logged(mailbox, small, 1)
    _logged(mailbox, big, 30)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        sales_client.get(f"/mail/contacts/{small.pk}/", HTTP_HX_REQUEST="true")
    with django_assert_num_queries(len(one.captured_queries)):
        response = sales_client.get(f"/mail/contacts/{big.pk}/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.count('class="border-bottom py-2 mail-item"') == 20 and "Show older" in html
    older = sales_client.get(
        f"/mail/contacts/{big.pk}/?before={response.context['next_before']}"
    ).content.decode()
    assert older.count("mail-item") == 10


def test_compose_with_a_template_fills_the_fields_and_sends(
    sales_client, sales_user, smtp_server, dovecot, django_capture_on_commit_callbacks
):
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=sales_user, smtp=smtp_server)
    ann = ContactFactory(email="ann@customer.com", first_name="Ann")
    template = EmailTemplate.objects.create(
        name="Hello", subject="Hello {{ contact.first_name }}", body="Dear {{ contact.first_name }},"
    )
    page = sales_client.get(f"/mail/compose/?contact={ann.pk}").content.decode()
    assert "Hello" in page and 'hx-get="/mail/compose/template/' in page
    filled = sales_client.get(
        f"/mail/compose/template/?record=contact&id={ann.pk}&template={template.pk}"
    ).content.decode()
    assert "Hello Ann" in filled and "Dear Ann," in filled

    empty = sales_client.post(
        "/mail/compose/",
        {"record": "contact", "id": ann.pk, "mailbox": mailbox.pk, "subject": "", "body": ""},
    )
    assert empty.status_code == 400 and empty.content.decode().count("This field is required") >= 2

    with django_capture_on_commit_callbacks(execute=True):
        response = sales_client.post(
            "/mail/compose/",
            {
                "record": "contact",
                "id": ann.pk,
                "mailbox": mailbox.pk,
                "subject": "Hello Ann",
                "body": "Dear Ann,",
                "track": "on",
            },
        )
    assert response.status_code == 302 and response["Location"] == ann.get_absolute_url()
    message = MailMessage.objects.get()
    assert message.status == "sent" and message.tracked and len(smtp_server.received) == 1


def test_sent_message_shows_how_often_it_was_opened(sales_client, sales_user):
    mailbox = _box(sales_user)
    ann = ContactFactory(email="ann@customer.com")
    message = MailMessage.objects.create(
        mailbox=mailbox,
        message_id="t@x",
        thread_key="t@x",
        direction="out",
        status="sent",
        subject="Tracked",
        from_email="sam@ourco.com",
        to=[ann.email],
        sent_at=timezone.now(),
        tracked=True,
    )
    MessageLink.objects.create(message=message, contact=ann)
    for _ in range(3):
        open_record(message_pk=message.pk)
    message.refresh_from_db()
    last = timezone.localtime(message.last_opened_at).strftime("%H:%M")
    panel = sales_client.get(f"/mail/contacts/{ann.pk}/").content.decode()
    assert f"opened 3 times, last {last}" in panel
    assert f"Opened 3 times, last {last}" in sales_client.get(message.get_absolute_url()).content.decode()


def test_attachments_download_and_never_render_inline(support_client, support_user, client, sales_user):
    from django.core.files.base import ContentFile

    mailbox = mailbox_save(
        user=support_user,
        name="Support",
        purpose="support",
        email_address="help@ourco.com",
        imap_host="imap.example.com",
        imap_password="pw",
    )
    message = MailMessage.objects.create(
        mailbox=mailbox,
        message_id="s@x",
        thread_key="s@x",
        direction="in",
        subject="Help",
        sent_at=timezone.now(),
    )
    attachment = MailAttachment(message=message, filename="evil.html", content_type="text/html", size=20)
    attachment.file.save("evil.html", ContentFile(b"<script>alert(1)</script>"), save=True)
    response = support_client.get(f"/mail/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert (
        response["Content-Disposition"].startswith("attachment;")
        and response["X-Content-Type-Options"] == "nosniff"
    )
    client.force_login(UserFactory(username="nobody"))
    assert client.get(f"/mail/attachments/{attachment.pk}/").status_code == 404


def test_deal_panel_lists_its_mail_and_composes_with_deal_merge_fields(sales_client, sales_user):
    from tests.pipeline.factories import deal_make

    ann = ContactFactory(email="ann@customer.com", first_name="Ann")
    deal = deal_make(user=sales_user, contact=ann, title="Spring order")
    mailbox = _box(sales_user)
    message = MailMessage.objects.create(
        mailbox=mailbox,
        message_id="d@x",
        thread_key="d@x",
        direction="in",
        subject="About the deal",
        from_email=ann.email,
        sent_at=timezone.now(),
    )
    MessageLink.objects.create(message=message, contact=ann, deal_id=deal.pk)
    panel = sales_client.get(f"/mail/deals/{deal.pk}/").content.decode()
    assert "About the deal" in panel and f"record=deal&amp;id={deal.pk}" in panel
    assert f'hx-get="/mail/deals/{deal.pk}/"' in sales_client.get(deal.get_absolute_url()).content.decode()
    template = EmailTemplate.objects.create(
        name="Quote", subject="Quote: {{ deal.title }}", body="Hi {{ contact.first_name }}"
    )
    filled = sales_client.get(
        f"/mail/compose/template/?record=deal&id={deal.pk}&template={template.pk}"
    ).content.decode()
    assert "Quote: Spring order" in filled


def test_ticket_reply_box_fills_from_a_template_with_ticket_fields(support_client, support_user):
    from tests.tickets.factories import ticket_make

    ticket = ticket_make(user=support_user, contact=ContactFactory(email="zoe@shopper.net", first_name="Zoe"))
    template = EmailTemplate.objects.create(
        name="On it", subject="x", body="Hi {{ contact.first_name }}, about {{ ticket.reference }}"
    )
    page = support_client.get(ticket.get_absolute_url()).content.decode()
    assert "On it" in page and 'id="reply-template"' in page
    body = support_client.get(f"/tickets/{ticket.pk}/reply/template/?template={template.pk}").content.decode()
    assert f"Hi Zoe, about #{ticket.pk}" in body
