"""Celery tasks of tickets (queue "email"): thin wrappers over services, safe to run twice."""

import smtplib

from celery import shared_task

from . import services


@shared_task(
    name="tickets.tasks.ticket_message_email_send",
    ignore_result=True,
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=True,
    max_retries=6,
)
def ticket_message_email_send(message_id: int) -> None:
    """Email a public reply to its customer; a reply already sent is not sent again."""
    services.message_email_send(message_id=message_id)


@shared_task(name="tickets.tasks.ticket_emails_sweep", ignore_result=True)
def ticket_emails_sweep() -> None:
    """Periodic (beat): re-send public replies whose email task was lost."""
    services.message_emails_sweep(older_than_seconds=300)
