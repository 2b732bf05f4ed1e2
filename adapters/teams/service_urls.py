"""Which Bot Connector addresses (`serviceUrl`) Looplink accepts and calls.

A `serviceUrl` arrives in every activity and is where Looplink later posts to that person or
channel, with the bot's own token. So it is accepted only from an authenticated activity (see
`platform.py`), only when it matches one of these patterns, and the connector refuses to call
any other address, whatever is stored.

A pattern is `scheme://host[:port]`: `*.` at the start of the host stands for any subdomain,
port `*` for any port, no port for the scheme's default. Paths are not compared (Teams uses
`https://smba.trafficmanager.net/amer/`, `/emea/`, ...). Set LOOPLINK_TEAMS_SERVICE_URLS
(comma-separated) to replace the defaults, e.g. for a sovereign cloud, the Bot Framework
Emulator (`http://localhost:*`) or the tests' fake connector.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

# Microsoft Teams' Bot Connector endpoints: the public cloud, GCC, GCC High and DoD.
DEFAULT_SERVICE_URLS = (
    "https://smba.trafficmanager.net",
    "https://smba.infra.gcc.teams.microsoft.com",
    "https://smba.infra.gov.teams.microsoft.us",
    "https://smba.infra.dod.teams.microsoft.us",
)
_DEFAULT_PORTS = {"https": 443, "http": 80}


class BadPattern(ValueError):
    pass


@dataclass(frozen=True)
class _Pattern:
    scheme: str
    host: str  # lower case; "*.example.com" for any subdomain
    port: int | None  # None: any port

    def matches(self, scheme: str, host: str, port: int) -> bool:
        if scheme != self.scheme or (self.port is not None and port != self.port):
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
        return host == self.host


def _pattern(text: str) -> _Pattern:
    raw = text.strip()
    scheme, sep, rest = raw.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _DEFAULT_PORTS:
        raise BadPattern(f"'{raw}' must start with https:// (or http:// for local testing)")
    hostport = rest.split("/", 1)[0]
    any_port = hostport.endswith(":*")
    if any_port:
        hostport = hostport[:-2]
    wildcard = hostport.startswith("*.")
    try:
        parts = urlsplit(f"{scheme}://{hostport[2:] if wildcard else hostport}")
        port = parts.port
    except ValueError as e:
        raise BadPattern(f"'{raw}' must be scheme://host[:port] ({e})") from e
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password or "*" in host:
        raise BadPattern(
            f"'{raw}' must be scheme://host[:port]; '*' may only start the host, as in "
            "https://*.example.com, or be the port"
        )
    return _Pattern(
        scheme,
        ("*." + host) if wildcard else host,
        None if any_port else (port if port is not None else _DEFAULT_PORTS[scheme]),
    )


class ServiceUrls:
    """The allowed Bot Connector addresses."""

    def __init__(self, patterns: Iterable[str] = DEFAULT_SERVICE_URLS) -> None:
        self.patterns = tuple(_pattern(p) for p in patterns if p.strip())
        self.text = ", ".join(p.strip() for p in patterns if p.strip())

    def allows(self, url: object) -> bool:
        if not isinstance(url, str) or not url or len(url) > 2048:
            return False
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            return False
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
            return False
        if parts.query or parts.fragment:
            return False
        effective = port if port is not None else _DEFAULT_PORTS[scheme]
        return any(p.matches(scheme, host, effective) for p in self.patterns)
