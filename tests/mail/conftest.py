"""Real mail servers for the mailbox tests: a private dovecot (IMAP) and aiosmtpd (SMTP), started here.

Dovecot is Debian's dovecot-imapd (`.ci/run` installs it); each test session starts its own instance with
its own configuration, passdb and mail directory on a free port, and each test gets its own user. Tests
that need it are skipped with the reason when dovecot is absent.
"""

import imaplib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from django.utils import timezone

from contacts.mail import services as mail_services

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
PASSWORD = "app-password-for-tests"
USERS = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dovecot_missing() -> str:
    if not Path(DOVECOT).exists():
        return "needs dovecot (apt-get install dovecot-imapd; .ci/run does it)"
    if os.geteuid() != 0:
        return "the private dovecot instance needs root to drop privileges"
    return ""


def self_signed_certificate(cert_path: Path, key_path: Path) -> None:
    """A certificate for 127.0.0.1 (and localhost), made here with the cryptography library."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)


CONFIG = """
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
# Throwaway test mail: no fsync (appends and the first indexing of a large folder are much faster).
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={root}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
default_internal_user = dovecot
default_login_user = dovenull
"""


class Dovecot:
    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.tls_port = free_port()
        self.ca_file = root / "cert.pem"
        self.config = root / "dovecot.conf"
        self_signed_certificate(root / "cert.pem", root / "key.pem")
        for name in ("mail", "home", "state", "run"):
            (root / name).mkdir(parents=True, exist_ok=True)
        shutil.chown(root / "mail", "mail", "mail")
        shutil.chown(root / "home", "mail", "mail")
        # Users are made up front: dovecot reads its passwd-file once a second at most.
        self._free_users = [f"u{i}-{uuid.uuid4().hex[:6]}@example.com" for i in range(USERS)]
        (root / "users").write_text(
            "".join(f"{name}:{{PLAIN}}{PASSWORD}::::::\n" for name in self._free_users)
        )
        self.config.write_text(CONFIG.format(root=root, port=self.port, tls_port=self.tls_port))
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [DOVECOT, "-F", "-c", str(self.config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
        self.stop()
        raise RuntimeError(f"dovecot did not start: {log[-2000:]}")

    def user(self) -> str:
        """A user (and an empty mailbox) nobody else used in this run."""
        return self._free_users.pop()

    def connect(self, user: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        conn.login(user, PASSWORD)
        return conn

    def append(self, user: str, messages: list[bytes], folder: str = "INBOX") -> None:
        conn = self.connect(user)
        try:
            for raw in messages:
                typ, data = conn.append(folder, None, None, raw)
                assert typ == "OK", data
        finally:
            conn.logout()

    def set_uidvalidity(self, user: str, value: int, folder: str = "INBOX") -> None:
        subprocess.run(  # noqa: S603 - fixed arguments
            [
                DOVEADM,
                "-c",
                str(self.config),
                "mailbox",
                "update",
                "-u",
                user,
                "--uid-validity",
                str(value),
                folder,
            ],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def dovecot():
    reason = dovecot_missing()
    if reason:
        pytest.skip(reason)
    # Not pytest's tmp_path: its parents are private to root, and dovecot's own users must traverse it.
    root = Path(tempfile.mkdtemp(prefix="cdpcrm-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(root)
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@dataclass
class SmtpServer:
    host: str
    port: int
    received: list = field(default_factory=list)


class _Collect:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.server.received.append(envelope)
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd, AUTH required) on a free port; `received` holds what it accepted."""
    from aiosmtpd.controller import Controller

    server = SmtpServer(host="127.0.0.1", port=free_port())
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS", category=UserWarning)
    controller = Controller(
        _Collect(server),
        hostname=server.host,
        port=server.port,
        authenticator=_authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    yield server
    controller.stop()


def mail(
    *,
    sender: str,
    to: str,
    subject: str = "Hello",
    body: str = "Hi there",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
    date=None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or timezone.now())
    msg["Message-ID"] = message_id or make_msgid(domain="test.invalid")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    for filename, content_type, content in attachments:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def mailbox_for(
    dovecot: Dovecot, user: str, *, owner, purpose: str = "sales", smtp: SmtpServer | None = None, **fields
):
    return mail_services.mailbox_save(
        user=owner,
        name=fields.pop("name", "Test mailbox"),
        purpose=purpose,
        email_address=user,
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security="none",
        imap_password=PASSWORD,
        smtp_host=smtp.host if smtp else "",
        smtp_port=smtp.port if smtp else 587,
        smtp_security="none",
        **fields,
    )
