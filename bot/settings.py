"""Typed settings from the environment, validated at start-up with a clear message."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import TypeVar

from bot.db.problems import DatabaseProblem, backend
from bot.db.session import DEFAULT_URL
from bot.secrets import SecretKeyError, check_key


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


def env_list(value: str | None) -> tuple[str, ...] | None:
    """A comma-separated setting as a tuple, or None when it is not set."""
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """A yes/no environment variable: 1, true, yes or on (any case) mean yes."""
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def env_text(env: Mapping[str, str], name: str) -> str | None:
    """An environment variable's value without surrounding blanks; None when empty or unset."""
    return env.get(name, "").strip() or None


P = TypeVar("P")

# A platform's reader of its own settings: None when the environment does not enable it.
EnvReader = Callable[[Mapping[str, str]], object | None]


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
    run_scheduler: bool = True
    flood_limits: bool = True  # per-person limits and burst notices (bot/limits.py, bot/burst.py)
    demo: bool = False  # `looplink demo`: demo data, no sign-in for the dashboard or playground
    platforms: Mapping[str, object] = field(default_factory=dict)
    # LOOPLINK_SECRET_KEY: keys for secrets at rest (platform tokens); the first encrypts
    secret_keys: tuple[str, ...] = ()
    # the web pages' sign-in providers (OpenID Connect), opaque here: the root reads them
    sign_in: tuple[object, ...] = ()

    def __post_init__(self) -> None:
        if self.admin_token is not None and len(self.admin_token) < MIN_ADMIN_TOKEN:
            raise SettingsError(
                f"LOOPLINK_ADMIN_TOKEN is too short ({len(self.admin_token)} of at least "
                f"{MIN_ADMIN_TOKEN} characters); it must be long, random, and used for nothing "
                f"else. Make one with: "
                f"{MAKE_A_TOKEN}"
            )
        _networks(self.trusted_proxies)
        for key in self.secret_keys:
            try:
                check_key(key)
            except SecretKeyError as e:
                raise SettingsError(f"{e}.") from e

    @property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return _networks(self.trusted_proxies)

    def platform(self, name: str, kind: type[P]) -> P:
        """The settings of platform `name`, which must be of type `kind` (its adapter's)."""
        value = self.platforms.get(name)
        if not isinstance(value, kind):
            raise SettingsError(f"{name} is not configured.")
        return value

    def with_platform(self, name: str, value: object) -> Settings:
        return replace(self, platforms={**self.platforms, name: value})

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, readers: Mapping[str, EnvReader] | None = None
    ) -> Settings:
        """The core settings from `env` (default: the process environment), and each
        platform's from its reader in `readers` (the composition root passes them)."""
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
        database_url = opt("LOOPLINK_DATABASE_URL") or DEFAULT_URL
        try:
            backend(database_url)
        except DatabaseProblem as problem:
            raise SettingsError(f"LOOPLINK_DATABASE_URL: {problem}") from None
        platforms: dict[str, object] = {}
        for name, read in (readers or {}).items():
            value = read(e)
            if value is not None:
                platforms[name] = value
        settings = cls(
            database_url=database_url,
            org_file=Path(org) if org else None,
            templates_dir=Path(templates) if templates else None,
            host=opt("LOOPLINK_HOST") or "127.0.0.1",
            port=int(port_raw),
            admin_token=opt("LOOPLINK_ADMIN_TOKEN"),
            trusted_proxies=env_list(opt("LOOPLINK_TRUSTED_PROXIES")) or (),
            run_scheduler=(opt("LOOPLINK_SCHEDULER") or "on").lower()
            not in ("0", "false", "no", "off"),
            platforms=platforms,
            flood_limits=(opt("LOOPLINK_FLOOD_LIMITS") or "on").lower()
            not in ("0", "false", "no", "off"),
            secret_keys=env_list(opt("LOOPLINK_SECRET_KEY")) or (),
        )
        return settings
