"""IMAP client (imaplib) for the sync: connect, list folders, select with UIDVALIDITY, fetch by UID.

Every failure becomes a `MailServerError` whose message is the server's own words (or the network's),
so the mailbox page can show it as it is.
"""

import imaplib
import re
import socket
import ssl
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from .crypto import SecretUnreadable, secret_decrypt

FETCH_META_RE = re.compile(rb"UID (\d+)|RFC822\.SIZE (\d+)|INTERNALDATE \"([^\"]+)\"")
LIST_RE = re.compile(rb'\((?P<flags>[^)]*)\) (?:"(?P<delim>[^"]*)"|NIL) (?P<name>.+)$')


class MailServerError(Exception):
    """A mail server could not be reached or refused what was asked; the message says why, in words.

    `permanent`: trying again will not help (a refused login, a 5xx answer), as opposed to a network error.
    """

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.MAIL_TLS_CA_FILE:
        context.load_verify_locations(cafile=settings.MAIL_TLS_CA_FILE)
    return context


def _words(value) -> str:
    if isinstance(value, (list, tuple)):
        value = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())[:400]


def network_error(exc: BaseException, *, host: str, port: int, what: str) -> MailServerError:
    """Plain words for what went wrong on the way to a server."""
    if isinstance(exc, socket.gaierror):
        return MailServerError(f"The {what} server name {host!r} cannot be found ({exc.strerror}).")
    if isinstance(exc, ConnectionRefusedError):
        return MailServerError(
            f"The {what} server {host}:{port} refused the connection (is the port right?)."
        )
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return MailServerError(f"The {what} server {host}:{port} did not answer in time.")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailServerError(f"The {what} server's certificate is not trusted: {exc.verify_message}.")
    if isinstance(exc, ssl.SSLError):
        return MailServerError(
            f"TLS with the {what} server failed: {exc.reason or exc}. Check the security setting."
        )
    if isinstance(exc, SecretUnreadable):
        return MailServerError(str(exc))
    return MailServerError(f"The {what} server {host}:{port} could not be reached: {exc}.")


@dataclass(frozen=True)
class FolderInfo:
    name: str
    flags: frozenset[str]


@dataclass(frozen=True)
class FolderStatus:
    uidvalidity: int
    exists: int


@dataclass(frozen=True)
class HeaderItem:
    uid: int
    size: int
    header: bytes
    internal_date: datetime | None


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uid_set(uids: list[int]) -> str:
    """ "1:3,7,9:10" for [1, 2, 3, 7, 9, 10]: short commands whatever the batch."""
    ranges: list[str] = []
    ordered = sorted(set(uids))
    start = prev = None
    for uid in ordered:
        if start is None:
            start = prev = uid
        elif uid == prev + 1:
            prev = uid
        else:
            ranges.append(f"{start}:{prev}" if start != prev else str(start))
            start = prev = uid
    if start is not None:
        ranges.append(f"{start}:{prev}" if start != prev else str(start))
    return ",".join(ranges)


class ImapSession:
    def __init__(self, conn: imaplib.IMAP4):
        self.conn = conn

    def _check(self, typ, data, doing: str):
        if typ != "OK":
            raise MailServerError(f"The IMAP server refused to {doing}: {_words(data)}")
        return data

    def folders(self) -> list[FolderInfo]:
        data = self._check(*self.conn.list(), "list the folders")
        found = []
        for line in data:
            if not isinstance(line, bytes):
                continue
            match = LIST_RE.match(line)
            if match is None:
                continue
            name = match.group("name").strip()
            if name.startswith(b'"') and name.endswith(b'"'):
                name = name[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
            flags = frozenset(f.lower() for f in match.group("flags").decode("ascii", "replace").split())
            found.append(FolderInfo(name=name.decode("utf-8", "replace"), flags=flags))
        return found

    def select(self, name: str) -> FolderStatus:
        typ, data = self.conn.select(_quote(name), readonly=True)
        self._check(typ, data, f"open the folder {name!r}")
        _, validity = self.conn.response("UIDVALIDITY")
        try:
            uidvalidity = int(validity[0])
            exists = int(data[0])
        except (TypeError, ValueError, IndexError):
            raise MailServerError(f"The IMAP server gave no UIDVALIDITY for {name!r}.") from None
        return FolderStatus(uidvalidity=uidvalidity, exists=exists)

    def uids_after(self, last_uid: int) -> list[int]:
        data = self._check(*self.conn.uid("SEARCH", None, f"UID {last_uid + 1}:*"), "search the folder")
        uids = [int(u) for u in b" ".join(d for d in data if d).split() if u.isdigit()]
        # "N:*" always matches the highest UID, even when it is below N.
        return sorted(u for u in set(uids) if u > last_uid)

    def fetch_headers(self, uids: list[int]) -> list[HeaderItem]:
        if not uids:
            return []
        data = self._check(
            *self.conn.uid("FETCH", uid_set(uids), "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER])"),
            "fetch headers",
        )
        items = []
        for entry in data:
            if not isinstance(entry, tuple) or len(entry) < 2:
                continue
            meta = dict(uid=None, size=0, date=None)
            for uid, size, date in FETCH_META_RE.findall(entry[0]):
                if uid:
                    meta["uid"] = int(uid)
                if size:
                    meta["size"] = int(size)
                if date:
                    meta["date"] = date
            if meta["uid"] is None:
                continue
            internal = None
            if meta["date"]:
                try:
                    internal = datetime.strptime(meta["date"].decode(), "%d-%b-%Y %H:%M:%S %z")
                except ValueError:
                    internal = None
            items.append(
                HeaderItem(uid=meta["uid"], size=meta["size"], header=entry[1], internal_date=internal)
            )
        return items

    def fetch_bodies(self, uids: list[int]) -> dict[int, bytes]:
        if not uids:
            return {}
        data = self._check(*self.conn.uid("FETCH", uid_set(uids), "(UID BODY.PEEK[])"), "fetch messages")
        bodies = {}
        for entry in data:
            if isinstance(entry, tuple) and len(entry) >= 2:
                match = re.search(rb"UID (\d+)", entry[0])
                if match:
                    bodies[int(match.group(1))] = entry[1]
        return bodies


def _connect(*, host: str, port: int, security: str, timeout: int) -> imaplib.IMAP4:
    if security == "ssl":
        return imaplib.IMAP4_SSL(host, port, ssl_context=tls_context(), timeout=timeout)
    conn = imaplib.IMAP4(host, port, timeout=timeout)
    if security == "starttls":
        conn.starttls(ssl_context=tls_context())
    return conn


@contextmanager
def imap_open(mailbox):
    """A logged-in session on the mailbox's IMAP server; logs out on the way out."""
    host, port = mailbox.imap_host, mailbox.imap_port
    try:
        conn = _connect(
            host=host, port=port, security=mailbox.imap_security, timeout=settings.MAIL_TIMEOUT_SECONDS
        )
    except (OSError, imaplib.IMAP4.error) as exc:
        if isinstance(exc, imaplib.IMAP4.error):
            raise MailServerError(
                f"The IMAP server {host}:{port} refused to start: {_words(exc.args)}"
            ) from None
        raise network_error(exc, host=host, port=port, what="IMAP") from None
    try:
        try:
            conn.login(mailbox.imap_username or mailbox.email_address, secret_decrypt(mailbox.imap_password))
        except imaplib.IMAP4.error as exc:
            raise MailServerError(f"The IMAP server refused the login: {_words(exc.args)}") from None
        except SecretUnreadable as exc:
            raise MailServerError(str(exc)) from None
        yield ImapSession(conn)
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise network_error(exc, host=host, port=port, what="IMAP") from None
    except imaplib.IMAP4.error as exc:
        raise MailServerError(f"The IMAP server answered with an error: {_words(exc.args)}") from None
    finally:
        try:
            conn.logout()
        except Exception:  # noqa: S110 - the connection may already be gone; nothing left to tell
            pass


def imap_check(mailbox) -> str:
    """Log in and open the inbox: a sentence for the "Check connection" button, or MailServerError."""
    with imap_open(mailbox) as session:
        status = session.select("INBOX")
    return f"IMAP works: logged in, the inbox holds {status.exists:,} messages."
