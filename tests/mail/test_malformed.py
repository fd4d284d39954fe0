"""Hostile mail through a real IMAP server: stored as far as readable, never crashing the poll."""

import pytest
from django.test import override_settings

from contacts.mail import parse, sync
from contacts.mail.models import MailMessage, MailProblem
from tests.contacts.factories import ContactFactory

from .conftest import mail, mailbox_for

pytestmark = pytest.mark.django_db

ANN = "ann@customer.com"


def _nested(depth: int) -> bytes:
    head = f"From: {ANN}\r\nTo: me@x\r\nSubject: Deep\r\nMessage-ID: <deep@x>\r\n".encode()
    body = b"innermost text\r\n"
    for level in range(depth):
        boundary = f"b{level}".encode()
        body = (
            b"Content-Type: multipart/mixed; boundary="
            + boundary
            + b"\r\n\r\n--"
            + boundary
            + b"\r\n"
            + body
            + b"\r\n--"
            + boundary
            + b"--\r\n"
        )
        if level == depth - 1:
            break
    return head + b"MIME-Version: 1.0\r\n" + body


MALFORMED = {
    "bad charset": (
        f"From: {ANN}\r\nSubject: Charset\r\nMessage-ID: <cs@x>\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\nh\xe9llo\r\n".encode(
            "latin-1"
        ),
        "h",
    ),
    "undecodable bytes and NUL": (
        f"From: {ANN}\r\nSubject: Bytes \xff\xfe\r\nMessage-ID: <nul@x>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nA\x00B \xc3\x28 C\r\n".encode(
            "latin-1"
        ),
        "A",
    ),
    "no headers to speak of": (f"From: {ANN}\r\n\r\njust a body\r\n".encode(), "just a body"),
    "broken encoded words and date": (
        f"From: =?utf-8?B?QW5u?= <{ANN}>\r\nSubject: =?utf-8?Q?broken=ZZ?= =?bogus?X?x?=\r\nDate: yesterday-ish\r\nMessage-ID: <ew@x>\r\n\r\nok\r\n".encode(),
        "ok",
    ),
    "bad base64 part": (
        f"From: {ANN}\r\nSubject: B64\r\nMessage-ID: <b64@x>\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64***\r\n".encode(),
        "",
    ),
    "html only with script": (
        f"From: {ANN}\r\nSubject: Html\r\nMessage-ID: <html@x>\r\nContent-Type: text/html\r\n\r\n<p>Visible</p><script>alert(1)</script>\r\n".encode(),
        "Visible",
    ),
}


def test_malformed_messages_are_stored_as_far_as_they_can_be_read(dovecot, sales_user):
    ContactFactory(email=ANN)
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=sales_user)
    dovecot.append(user, [raw for raw, _ in MALFORMED.values()] + [_nested(60)])

    result = sync.mailbox_poll(mailbox_id=mailbox.pk)

    assert result.polled and result.error == ""
    stored = {m.subject: m for m in MailMessage.objects.all()}
    assert len(stored) == len(MALFORMED) + 1
    for raw, expected in MALFORMED.values():
        message = MailMessage.objects.get(message_id=parse.message_parse(raw, uid=0).headers.message_id)
        assert expected in message.body_text
        assert "\x00" not in message.body_text + message.subject
    assert "unknown charset" in MailMessage.objects.get(message_id="cs@x").note
    assert "script" not in stored["Html"].body_text and "alert" not in stored["Html"].body_text
    no_id = MailMessage.objects.get(body_text__contains="just a body")
    assert no_id.message_id.endswith("@no-message-id.invalid") and "no Message-ID" in no_id.note
    assert "unreadable date" in MailMessage.objects.get(message_id="ew@x").note
    assert "nested deeper" in MailMessage.objects.get(message_id="deep@x").note


@override_settings(MAIL_MAX_MESSAGE_BYTES=2000)
def test_a_huge_message_keeps_its_headers(dovecot, sales_user):
    ContactFactory(email=ANN)
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=sales_user)
    dovecot.append(user, [mail(sender=ANN, to=user, subject="Huge", body="x" * 10_000)])
    sync.mailbox_poll(mailbox_id=mailbox.pk)
    message = MailMessage.objects.get()
    assert message.subject == "Huge" and message.body_text == "" and "headers only" in message.note


def test_a_message_the_parser_chokes_on_is_listed_with_the_reason_and_the_rest_go_on(
    dovecot, sales_user, monkeypatch
):
    ContactFactory(email=ANN)
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=sales_user)
    dovecot.append(user, [mail(sender=ANN, to=user, subject=s) for s in ("First", "Poison", "Last")])
    real = sync.message_parse

    def choking(raw, **kwargs):  # stands in for a parser bug on some future hostile input
        if b"Poison" in raw:
            raise RecursionError("maximum recursion depth exceeded")
        return real(raw, **kwargs)

    monkeypatch.setattr(sync, "message_parse", choking)
    result = sync.mailbox_poll(mailbox_id=mailbox.pk)

    assert result.polled and sorted(MailMessage.objects.values_list("subject", flat=True)) == [
        "First",
        "Last",
    ]
    problem = MailProblem.objects.get()
    assert problem.uid == 2 and problem.subject == "Poison" and "RecursionError" in problem.reason
    assert mailbox.folders.get(role="inbox").last_uid == 3  # listed, not retried forever


def test_headers_parse_survives_garbage():
    for raw in (
        b"",
        b"\x00\x01\x02",
        b":::\r\n\r\n",
        b"From: <<<>>>\r\nTo: ,,,@\r\n",
        b"Subject: " + b"\xff" * 5000,
    ):
        headers = parse.headers_parse(raw, uid=1)
        assert headers.message_id and "\x00" not in headers.subject


def test_a_message_without_message_id_is_recognised_after_a_uidvalidity_change(dovecot, sales_user):
    ContactFactory(email=ANN)
    user = dovecot.user()
    mailbox = mailbox_for(dovecot, user, owner=sales_user)
    dovecot.append(user, [f"From: {ANN}\r\nSubject: No id\r\n\r\nbody\r\n".encode()])
    sync.mailbox_poll(mailbox_id=mailbox.pk)
    dovecot.set_uidvalidity(user, mailbox.folders.get(role="inbox").uidvalidity + 7)
    sync.mailbox_poll(mailbox_id=mailbox.pk)
    assert MailMessage.objects.count() == 1
