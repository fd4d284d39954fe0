"""In a real Chromium: connect a mailbox, check it, watch the sync log mail on a contact, send from a template."""

import pytest
from playwright.sync_api import expect

from contacts.mail import sync
from contacts.mail.models import EmailTemplate, Mailbox, MailMessage
from tests.contacts.factories import ContactFactory
from tests.mail.conftest import PASSWORD, dovecot, mail, smtp_server  # noqa: F401 - the fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_check_sync_and_send_from_the_contact_page(browser_login, sales_user, dovecot, smtp_server):  # noqa: F811
    ann = ContactFactory(first_name="Ann", last_name="Lee", email="ann@customer.com", owner=sales_user)
    EmailTemplate.objects.create(
        name="Thanks",
        subject="Thanks {{ contact.first_name }}",
        body="Dear {{ contact.first_name }}, thanks!",
    )
    user = dovecot.user()
    dovecot.append(
        user, [mail(sender="Ann Lee <ann@customer.com>", to=user, subject="Sizes for the spring order")]
    )
    page = browser_login(sales_user)

    page.click("#user-menu")
    page.click("#menu-mailboxes")
    page.click("#mailbox-connect")
    page.fill("#id_name", "My mailbox")
    page.fill("#id_email_address", user)
    page.fill("#id_imap_host", "127.0.0.1")
    page.fill("#id_imap_port", str(dovecot.port))
    page.select_option("#id_imap_security", "none")
    page.fill("#id_imap_password", "not the password")
    page.fill("#id_smtp_host", "127.0.0.1")
    page.fill("#id_smtp_port", str(smtp_server.port))
    page.select_option("#id_smtp_security", "none")
    page.click("#mailbox-form button[type=submit]")
    mailbox = Mailbox.objects.get()
    page.wait_for_url(f"**/mail/mailboxes/{mailbox.pk}/")

    page.click("#mailbox-check")
    expect(page.locator("#check-lines")).to_contain_text("Authentication failed")  # the server's own words
    page.goto(f"/mail/mailboxes/{mailbox.pk}/edit/")
    page.fill("#id_imap_password", PASSWORD)
    page.fill("#id_smtp_password", PASSWORD)
    page.click("#mailbox-form button[type=submit]")
    page.click("#mailbox-check")
    expect(page.locator("#check-lines")).to_contain_text("IMAP works")
    expect(page.locator("#check-lines")).to_contain_text("SMTP works")

    sync.mailbox_poll(mailbox_id=mailbox.pk)  # what the beat-driven task does
    page.goto(ann.get_absolute_url())
    page.click("#panel-email-btn")
    expect(page.locator("#mail-list")).to_contain_text("Sizes for the spring order")

    page.click("#send-email")
    page.select_option("#id_template", label="Thanks")
    expect(page.locator("#id_subject")).to_have_value("Thanks Ann")
    page.click("#compose-form button[type=submit]")
    page.wait_for_url(f"**/contacts/{ann.pk}/")
    expect(page.locator("#messages")).to_contain_text("is on its way")
    page.set_viewport_size({"width": 390, "height": 800})  # a phone: nothing wider than the screen
    page.goto(f"/mail/mailboxes/{mailbox.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert MailMessage.objects.filter(direction="out", subject="Thanks Ann").exists()
