"""Mailbox passwords at rest: Fernet tokens, key rotation, and a clear error for a lost key."""

import pytest
from cryptography.fernet import Fernet

from contacts.mail import crypto
from contacts.mail.models import Mailbox
from contacts.mail.services import mailbox_save

pytestmark = pytest.mark.django_db


def test_passwords_are_stored_encrypted_and_readable_with_the_key(sales_user):
    mailbox = mailbox_save(
        user=sales_user,
        name="Box",
        purpose="sales",
        email_address="s@x.com",
        imap_host="imap.x.com",
        imap_password="hunter2-app",
    )
    stored = Mailbox.objects.values_list("imap_password", "smtp_password").get(pk=mailbox.pk)
    assert "hunter2" not in stored[0] and stored[0].startswith("gAAAA")  # a Fernet token
    assert crypto.secret_decrypt(stored[0]) == crypto.secret_decrypt(stored[1]) == "hunter2-app"


def test_a_rotated_key_still_reads_old_passwords_and_a_lost_key_says_so(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MAIL_ENCRYPTION_KEYS = [old]
    token = crypto.secret_encrypt("pw")
    settings.MAIL_ENCRYPTION_KEYS = [new, old]
    assert crypto.secret_decrypt(token) == "pw"
    settings.MAIL_ENCRYPTION_KEYS = [new]
    with pytest.raises(crypto.SecretUnreadable, match="enter it again"):
        crypto.secret_decrypt(token)
