"""SMTP client (smtplib) for a mailbox: check the connection, deliver one message."""

import smtplib
from contextlib import contextmanager

from django.conf import settings

from .crypto import SecretUnreadable, secret_decrypt
from .imap import MailServerError, network_error, tls_context


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = (
        exc.smtp_error.decode("utf-8", "replace")
        if isinstance(exc.smtp_error, bytes)
        else str(exc.smtp_error)
    )
    return f"{exc.smtp_code} {' '.join(text.split())}"[:400]


@contextmanager
def smtp_open(mailbox):
    host, port = mailbox.smtp_host, mailbox.smtp_port
    timeout = settings.MAIL_TIMEOUT_SECONDS
    try:
        if mailbox.smtp_security == "ssl":
            conn = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls_context())
        else:
            conn = smtplib.SMTP(host, port, timeout=timeout)
            if mailbox.smtp_security == "starttls":
                conn.starttls(context=tls_context())
    except smtplib.SMTPResponseException as exc:
        raise MailServerError(f"The SMTP server refused to start: {_reply(exc)}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise network_error(exc, host=host, port=port, what="SMTP") from None
    try:
        password = secret_decrypt(mailbox.smtp_password)
        if mailbox.smtp_username or password:
            try:
                conn.login(mailbox.smtp_username or mailbox.email_address, password)
            except smtplib.SMTPAuthenticationError as exc:
                raise MailServerError(
                    f"The SMTP server refused the login: {_reply(exc)}", permanent=True
                ) from None
            except smtplib.SMTPNotSupportedError:
                raise MailServerError(
                    "The SMTP server does not offer a login on this connection (try STARTTLS or TLS).",
                    permanent=True,
                ) from None
        yield conn
    except SecretUnreadable as exc:
        raise MailServerError(str(exc)) from None
    except smtplib.SMTPRecipientsRefused as exc:
        words = "; ".join(
            f"{rcpt}: {code} {msg.decode('utf-8', 'replace')}" for rcpt, (code, msg) in exc.recipients.items()
        )
        raise MailServerError(
            f"The SMTP server refused the recipient: {words[:400]}", permanent=True
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise MailServerError(
            f"The SMTP server refused the message: {_reply(exc)}", permanent=exc.smtp_code >= 500
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise network_error(exc, host=host, port=port, what="SMTP") from None
    finally:
        try:
            conn.quit()
        except Exception:  # noqa: S110 - already closed by the server; nothing left to tell
            pass


def smtp_check(mailbox) -> str:
    with smtp_open(mailbox) as conn:
        code, _ = conn.noop()
    return f"SMTP works: logged in, the server answered {code}."


def smtp_deliver(mailbox, *, message, recipients: list[str]) -> None:
    """Send one `email.message.Message` through the mailbox's server, or raise MailServerError."""
    with smtp_open(mailbox) as conn:
        conn.sendmail(mailbox.email_address, recipients, message.as_bytes(linesep="\r\n"))
