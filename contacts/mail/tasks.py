"""Celery tasks of mailboxes (queue "email"): thin, idempotent, ids in."""

from celery import shared_task

from . import sending, sync


@shared_task(name="mail.tasks.mailboxes_poll_due_task", ignore_result=True)
def mailboxes_poll_due_task() -> None:
    """Periodic (beat): one poll task per mailbox that is due, so a slow or broken one holds up nobody."""
    for mailbox_id in sync.mailboxes_due():
        mailbox_poll_task.delay(mailbox_id)


@shared_task(name="mail.tasks.mailbox_poll_task", ignore_result=True, acks_late=True)
def mailbox_poll_task(mailbox_id: int) -> None:
    """Poll one mailbox; a backlog left over (first sync) goes on in a fresh task at once."""
    result = sync.mailbox_poll(mailbox_id=mailbox_id)
    if result.more:
        mailbox_poll_task.delay(mailbox_id)


@shared_task(
    name="mail.tasks.mail_message_send_task",
    ignore_result=True,
    autoretry_for=(sending.SendRetry,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=6,
)
def mail_message_send_task(message_id: int) -> None:
    """Deliver a queued message once; a message already sent is not sent again."""
    sending.message_deliver(message_id=message_id, last_try=mail_message_send_task.request.retries >= 6)


@shared_task(name="mail.tasks.mail_sends_sweep_task", ignore_result=True)
def mail_sends_sweep_task() -> None:
    """Periodic (beat): re-queue messages whose send task was lost (broker down at commit)."""
    for message_id in sending.messages_stuck(older_than_seconds=300):
        mail_message_send_task.delay(message_id)
