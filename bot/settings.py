"""Typed settings from the environment, validated at start-up with a clear message."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

from bot.db.session import DEFAULT_URL


class SettingsError(Exception):
    """A setting is missing or wrong; the text says which and how to fix it."""


MIN_ADMIN_TOKEN = 32
MAKE_A_TOKEN = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'


def _networks(values: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    out = []
    for v in values:
        try:
            out.append(ip_network(v, strict=False))
        except ValueError as e:
            raise SettingsError(
                f"LOOPLINK_TRUSTED_PROXIES: '{v}' is not an IP address or network "
                "(write e.g. 127.0.0.1, 10.0.0.0/8 or ::1, separated by commas)."
            ) from e
    return tuple(out)


def _list(value: str | None) -> tuple[str, ...] | None:
    """A comma-separated setting as a tuple, or None when it is not set."""
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_URL
    org_file: Path | None = None
    templates_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 3978
    admin_token: str | None = None
    # proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (IPs or networks)
    trusted_proxies: tuple[str, ...] = ()
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str | None = None
    teams_app_id: str | None = None
    teams_app_password: str | None = None
    teams_tenant_id: str | None = None
    teams_app_type: str = "MultiTenant"
    teams_enabled: bool = False
    # allowed Bot Connector addresses (adapters/teams/service_urls.py); None: Microsoft's own
    teams_service_urls: tuple[str, ...] | None = None
    local_enabled: bool = False
    run_scheduler: bool = True
    demo: bool = False  # `looplink demo`: demo data, no sign-in for the dashboard or playground
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.admin_token is not None and len(self.admin_token) < MIN_ADMIN_TOKEN:
            raise SettingsError(
                f"LOOPLINK_ADMIN_TOKEN is too short ({len(self.admin_token)} of at least "
                f"{MIN_ADMIN_TOKEN} characters); it must be long, random, and used for nothing "
                f"else. Make one with: "
                f"{MAKE_A_TOKEN}"
            )
        _networks(self.trusted_proxies)

    @property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return _networks(self.trusted_proxies)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        e = dict(os.environ if env is None else env)

        def opt(name: str) -> str | None:
            value = e.get(name, "").strip()
            return value or None

        port_raw = opt("LOOPLINK_PORT") or "3978"
        if not port_raw.isdigit() or not 0 < int(port_raw) < 65536:
            raise SettingsError(f"LOOPLINK_PORT must be a port number, not '{port_raw}'.")
        org = opt("LOOPLINK_ORG_FILE")
        templates = opt("LOOPLINK_TEMPLATES_DIR")
        if org and not Path(org).is_file():
            raise SettingsError(f"LOOPLINK_ORG_FILE points at '{org}', which is not a file.")
        if templates and not Path(templates).is_dir():
            raise SettingsError(
                f"LOOPLINK_TEMPLATES_DIR points at '{templates}', which is not a folder."
            )
        token, secret = opt("SLACK_BOT_TOKEN"), opt("SLACK_SIGNING_SECRET")
        if bool(token) != bool(secret):
            missing = "SLACK_SIGNING_SECRET" if token else "SLACK_BOT_TOKEN"
            raise SettingsError(
                f"Slack needs both SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET; {missing} is not set."
            )
        teams_flag = (opt("LOOPLINK_TEAMS") or "").lower() in ("1", "true", "yes", "on")
        settings = cls(
            database_url=opt("LOOPLINK_DATABASE_URL") or DEFAULT_URL,
            org_file=Path(org) if org else None,
            templates_dir=Path(templates) if templates else None,
            host=opt("LOOPLINK_HOST") or "127.0.0.1",
            port=int(port_raw),
            admin_token=opt("LOOPLINK_ADMIN_TOKEN"),
            trusted_proxies=_list(opt("LOOPLINK_TRUSTED_PROXIES")) or (),
            slack_bot_token=token,
            slack_signing_secret=secret,
            slack_app_token=opt("SLACK_APP_TOKEN"),
            slack_api_url=opt("SLACK_API_URL"),
            teams_app_id=opt("MICROSOFT_APP_ID"),
            teams_app_password=opt("MICROSOFT_APP_PASSWORD"),
            teams_tenant_id=opt("MICROSOFT_APP_TENANT_ID"),
            teams_app_type=opt("MICROSOFT_APP_TYPE") or "MultiTenant",
            teams_enabled=teams_flag or bool(opt("MICROSOFT_APP_ID")),
            teams_service_urls=_list(opt("LOOPLINK_TEAMS_SERVICE_URLS")),
            local_enabled=(opt("LOOPLINK_LOCAL") or "").lower() in ("1", "true", "yes", "on"),
            run_scheduler=(opt("LOOPLINK_SCHEDULER") or "on").lower()
            not in ("0", "false", "no", "off"),
        )
        if overrides:
            from dataclasses import replace

            settings = replace(settings, **overrides)  # type: ignore[arg-type]
        return settings
