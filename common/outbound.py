"""Every outbound HTTP request (webhooks, destinations): the address is resolved once and checked, then used.

A host resolving to a private, loopback, link-local, multicast or reserved address is refused unless an
admin allowed that host (the OUTBOUND_ALLOWED_HOSTS setting or an allow-list registered by a higher app).
The connection goes to the checked address itself (the Host header and TLS name stay the host's), so a
DNS answer that changes between the check and the connect cannot redirect it; redirects are not followed.
Response bodies are read (bounded) for the caller but only a status line is ever meant to be stored.
"""

import ipaddress
import json
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "cdpcrm-outbound/1"

# Functions returning extra allowed host names (lower-case), e.g. the admin-edited allow-list.
_ALLOW_PROVIDERS: list[Callable[[], Iterable[str]]] = []


class OutboundRefused(Exception):
    """The URL is not one cdpcrm may call: the message is safe to show and to store."""


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    reason: str
    body: bytes  # at most MAX_RESPONSE_BYTES; never stored

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def status_line(self) -> str:
        return f"HTTP {self.status} {self.reason}".strip()

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


def allowed_hosts_provider_register(provider: Callable[[], Iterable[str]]) -> None:
    if provider not in _ALLOW_PROVIDERS:
        _ALLOW_PROVIDERS.append(provider)


def allowed_hosts() -> set[str]:
    hosts = {h.strip().lower() for h in getattr(settings, "OUTBOUND_ALLOWED_HOSTS", []) if h.strip()}
    for provider in _ALLOW_PROVIDERS:
        hosts.update(h.strip().lower() for h in provider())
    return hosts


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"))
    )


def url_check(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, address to connect to), or OutboundRefused with a plain reason."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused("The URL is not valid.") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        raise OutboundRefused("Only http:// and https:// URLs with a host name can be called.")
    if parts.username or parts.password:
        raise OutboundRefused("The URL must not contain a user name or password.")
    port = port or (443 if scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise OutboundRefused(f"The host {host} could not be resolved.") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise OutboundRefused(f"The host {host} could not be resolved.")
    if host in allowed_hosts():
        return scheme, host, port, addresses[0]
    public = [a for a in addresses if _public(a)]
    if len(public) != len(addresses):
        raise OutboundRefused(
            f"The host {host} resolves to a private, loopback or link-local address; an admin must allow "
            "the host before cdpcrm calls it."
        )
    return scheme, host, port, public[0]


def url_refusal(url: str) -> str | None:
    """Why cdpcrm would refuse to call `url` (for form and API validation), or None. A host that does not
    resolve right now is not refused here: it may resolve later, and the send will say so then."""
    try:
        url_check(url)
    except OutboundRefused as refused:
        return None if "could not be resolved" in str(refused) else str(refused)
    return None


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> OutboundResponse:
    """Send one request to the checked address. Raises OutboundRefused, or OSError/urllib3 errors."""
    scheme, host, port, address = url_check(url)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if scheme == "https" else 80
    host_header = host if port == default_port else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
    all_headers = {"User-Agent": USER_AGENT, **(headers or {}), "Host": host_header}
    kwargs: dict = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            **kwargs,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, **kwargs)
    try:
        response = pool.urlopen(
            method, target, body=body, headers=all_headers, redirect=False, preload_content=False
        )
        try:
            data = response.read(MAX_RESPONSE_BYTES, decode_content=True) or b""
        finally:
            response.release_conn()
        return OutboundResponse(status=response.status, reason=response.reason or "", body=data)
    finally:
        pool.close()


def error_line(exc: BaseException) -> str:
    """A short, safe description of a failed request (no response body, no internal detail)."""
    if isinstance(exc, OutboundRefused):
        return str(exc)[:300]
    if isinstance(exc, urllib3.exceptions.NewConnectionError | ConnectionError):
        return "The connection failed (refused or unreachable)."
    if isinstance(exc, urllib3.exceptions.TimeoutError | socket.timeout | TimeoutError):
        return "The request timed out."
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "The TLS handshake failed."
    return f"The connection failed ({type(exc).__name__})."
