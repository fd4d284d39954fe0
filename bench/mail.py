"""First sync of a 20,000-message mailbox from a real IMAP server (a private dovecot): messages/s, queries.

A sales rep's inbox: `--known` of the messages are with one of 200 known contacts (logged: full fetch,
message, activity, links), the rest with strangers (headers read, nothing stored). Then 50 new messages
arrive and one more poll picks them up (what a polling interval has to keep up with). Runs against the
configured database (DATABASE_URL, migrated) inside a transaction that is rolled back; needs root and
dovecot (apt-get install dovecot-imapd).

    DATABASE_URL=postgres://... .venv/bin/python bench/mail.py [--messages 20000] [--known 0.3]
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdpcrm.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from contacts.mail import sync  # noqa: E402
from contacts.mail.models import MailMessage  # noqa: E402
from contacts.models import Activity, Contact  # noqa: E402
from tests.mail.conftest import Dovecot, dovecot_missing, mailbox_for  # noqa: E402


class Rollback(Exception):
    pass


def message(n: int, *, known: bool, to: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = (
        f"Contact {n % 200} <contact{n % 200}@customer.example>" if known else f"someone{n}@elsewhere.example"
    )
    msg["To"] = to
    msg["Subject"] = f"Message {n}: about the order"
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = f"<bench-{n}@customer.example>"
    msg.set_content(f"Hello,\n\nthis is message {n}.\n" + "Some text of a realistic length. " * 30)
    return msg.as_bytes()


def fill_maildir(dovecot: Dovecot, user: str, count: int, known_share: float) -> None:
    """Write the messages straight into the user's Maildir (much faster than APPEND); dovecot indexes them."""
    dovecot.append(user, [])  # logs in once, so dovecot creates the Maildir
    conn = dovecot.connect(user)
    conn.select("INBOX")
    conn.logout()
    new = dovecot.root / "mail" / user / "new"
    new.mkdir(parents=True, exist_ok=True)
    every = round(1 / known_share) if known_share else 0
    for n in range(count):
        (new / f"{1700000000 + n}.M{n}P1.bench").write_bytes(
            message(n, known=bool(every) and n % every == 0, to=user)
        )
    for path in (dovecot.root / "mail" / user).rglob("*"):
        shutil.chown(path, "mail", "mail")
    shutil.chown(new, "mail", "mail")


def run(args) -> None:
    reason = dovecot_missing()
    if reason:
        sys.exit(f"bench/mail.py {reason}")
    root = Path(tempfile.mkdtemp(prefix="cdpcrm-bench-dovecot-"))
    root.chmod(0o755)
    dovecot = Dovecot(root)
    try:
        user = dovecot.user()
        print(
            f"writing {args.messages:,} messages ({args.known:.0%} with known contacts) into dovecot ...",
            flush=True,
        )
        fill_maildir(dovecot, user, args.messages, args.known)
        try:
            with transaction.atomic():
                measure(dovecot, user, args)
                raise Rollback
        except Rollback:
            pass
    finally:
        dovecot.stop()
        shutil.rmtree(root, ignore_errors=True)


def measure(dovecot: Dovecot, user: str, args) -> None:
    rep = get_user_model().objects.create_user(username="bench-mail-rep", email="rep@ourco.example")
    rep.groups.add(Group.objects.get(name="Sales"))
    Contact.objects.bulk_create(
        Contact(first_name="Contact", last_name=str(i), email=f"contact{i}@customer.example")
        for i in range(200)
    )
    mailbox = mailbox_for(dovecot, user, owner=rep, internal_domains="ourco.example")
    polls, started, runs, cpu = 0, time.perf_counter(), [], time.process_time()
    with CaptureQueriesContext(connection) as queries:
        while True:
            run_started = time.perf_counter()
            result = sync.mailbox_poll(mailbox_id=mailbox.pk)
            runs.append(time.perf_counter() - run_started)
            polls += 1
            if result.error:
                sys.exit(f"poll failed: {result.error}")
            if not result.more:
                break
            if polls % 2 == 0:
                inbox = mailbox.folders.get(role="inbox")
                print(
                    f"  progress {inbox.backlog_done:,}/{inbox.backlog_total:,} ({inbox.progress_percent}%)",
                    flush=True,
                )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    logged = MailMessage.objects.filter(mailbox=mailbox).count()
    print(
        f"first sync: {args.messages:,} messages in {elapsed:.1f} s = {args.messages / elapsed:,.0f} messages/s"
    )
    print(
        f"  this process's CPU: {cpu:.1f} s ({args.messages / cpu:,.0f} messages per CPU second); "
        "the rest is waiting for dovecot and PostgreSQL"
    )
    print(
        f"  {polls} task runs of at most {settings.MAIL_POLL_BUDGET:,} messages, batches of {settings.MAIL_SYNC_BATCH}; "
        f"{logged:,} logged ({Activity.objects.filter(kind='email').count():,} activities)"
    )
    print(f"  task runs (s): {', '.join(f'{r:.1f}' for r in runs)}")
    print(
        f"  SQL: {len(queries.captured_queries):,} queries = {len(queries.captured_queries) / args.messages:.3f} per message "
        f"({len(queries.captured_queries) / max(logged, 1):.3f} per logged message)"
    )
    dovecot.append(user, [message(args.messages + i, known=i % 2 == 0, to=user) for i in range(50)])
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        result = sync.mailbox_poll(mailbox_id=mailbox.pk)
    elapsed = time.perf_counter() - started
    print(
        f"incremental: {result.fetched} new messages in {elapsed * 1000:.0f} ms ({result.stored} logged), "
        f"{len(queries.captured_queries)} queries; polling interval {settings.MAIL_POLL_SECONDS} s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--known", type=float, default=0.3, help="share of messages with a known contact")
    run(parser.parse_args())
