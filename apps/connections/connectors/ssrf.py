"""Server-side request forgery guard.

Every address a connector connects to is checked after DNS resolution, on every connection (so on every
redirect hop to a new host too), and the socket is then opened to the very address that was checked: a
second, different DNS answer (DNS rebinding) is never used. TLS still verifies the certificate against,
and sends SNI for, the host name in the URL.

Refused always: cloud metadata services (by address and by name), link-local, multicast, unspecified and
reserved addresses. Refused unless `allow_private` (development, tests and the local sandbox): loopback,
private (RFC 1918), unique-local IPv6, carrier-grade NAT and anything else that is not globally routable.
"""

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from apps.connections.connectors.errors import BlockedAddressError, ConfigError

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, Azure, GCP, OpenStack, DigitalOcean, Oracle
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.123",  # AWS time sync
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::123",
    )
)
METADATA_HOSTNAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
    }
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class SsrfPolicy:
    """What a deployment may reach. `allowed_networks` opens specific ranges (say, one on-premises Jira
    Data Center subnet) without opening every private address."""

    allow_private: bool = False
    allowed_networks: tuple = field(default_factory=tuple)
    # Sending credentials over plain HTTP to a public host is refused; local development may use it.
    require_https: bool = True

    @classmethod
    def permissive_local(cls) -> "SsrfPolicy":
        return cls(allow_private=True, require_https=False)


def parse_numeric_host(host: str):
    """The address a numeric host name means to the C resolver (inet_aton): 2130706433, 0x7f.1,
    0177.0.0.1 and 127.1 all mean 127.0.0.1. None if the host is not numeric."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    numbers = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                numbers.append(int(part[2:], 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = 0
    for n in head:
        value = value * 256 + n
    value = value * 256 ** (4 - len(head)) + last
    return ipaddress.IPv4Address(value)


def address_refusal(address, policy: SsrfPolicy) -> str | None:
    """Why `address` must not be reached, in plain words, or None if it may be."""
    ip = ipaddress.ip_address(address) if not isinstance(address, ipaddress._BaseAddress) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%")[0])
        embedded = ip.ipv4_mapped or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None)
        if embedded is not None:
            return address_refusal(embedded, policy)
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata service address"
    if any(ip in ipaddress.ip_network(net) for net in policy.allowed_networks):
        return None
    if ip.is_unspecified:
        return f"{ip} is an unspecified address"
    if ip.is_multicast:
        return f"{ip} is a multicast address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if policy.allow_private and (ip.is_loopback or ip.is_private):
        return None
    if ip.is_reserved:
        return f"{ip} is a reserved address"
    if policy.allow_private:
        return None
    if ip.is_loopback:
        return f"{ip} is a loopback address (this server itself)"
    if ip.is_private:
        return f"{ip} is a private network address"
    if not ip.is_global:
        return f"{ip} is not a public internet address"
    return None


def resolve(host: str, port: int) -> list:
    """Every address `host` resolves to. Raises ConfigError(unknown_host) if it resolves to nothing."""
    numeric = parse_numeric_host(host)
    if numeric is not None:
        return [numeric]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(
            f"The host name {host} could not be found. Check the spelling of the address.",
            code="unknown_host",
        ) from exc
    addresses = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise ConfigError(f"The host name {host} has no addresses.", code="unknown_host")
    return addresses


def resolve_checked(host: str, port: int, policy: SsrfPolicy) -> list:
    """Resolve `host` and refuse it if any of its addresses is refused (a name that answers with one
    public and one private address is refused: the attacker picks which one a connection gets)."""
    if host.lower().rstrip(".") in METADATA_HOSTNAMES:
        raise BlockedAddressError(f"{host} is a cloud metadata service; it cannot be used as a connection.")
    addresses = resolve(host, port)
    for ip in addresses:
        reason = address_refusal(ip, policy)
        if reason:
            raise BlockedAddressError(
                f"{host} cannot be used: {reason}. Only public addresses are allowed here.",
                details={"host": host, "address": str(ip)},
            )
    return addresses


def url_check(url: str, policy: SsrfPolicy, *, resolve_host: bool = True) -> str:
    """Validate a user-supplied base URL; return it normalised (no trailing slash, no query or fragment).
    Raises ConfigError(bad_url) or BlockedAddressError with a message a person can act on."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"That is not a valid web address: {exc}.", code="bad_url") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError("The address must start with https:// (for example https://dev.azure.com/your-org).",
                          code="bad_url")
    if not parts.hostname:
        raise ConfigError("The address has no host name.", code="bad_url")
    if parts.username or parts.password:
        raise ConfigError("Put credentials in their own fields, not in the address.", code="bad_url")
    if parts.scheme == "http" and policy.require_https:
        raise ConfigError("The address must use https://: credentials are never sent over plain HTTP.",
                          code="bad_url")
    if parts.query or parts.fragment:
        raise ConfigError("The address must not have a query (?…) or fragment (#…); give the site or "
                          "organisation address only.", code="bad_url")
    if resolve_host:
        resolve_checked(parts.hostname, port or (443 if parts.scheme == "https" else 80), policy)
    return url.split("?")[0].split("#")[0].rstrip("/")
