"""Secrets at rest (platform tokens): encrypted with a key from LOOPLINK_SECRET_KEY.

Fernet (from the `cryptography` package): AES-128-CBC with an HMAC-SHA256 over the whole
token, a random IV and a timestamp, so a stored value can be neither read nor altered without
the key. `LOOPLINK_SECRET_KEY` holds one key, or several separated by commas: the first
encrypts, every one decrypts (MultiFernet). To rotate: put a new key first, keep the old one
after it, restart, run `looplink secrets rotate` (every stored secret is re-encrypted with
the new key), then remove the old key. docs/slack.md, "Keys and rotation".

A key is 32 random bytes, URL-safe base64 (44 characters), made with
`python3 -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

MAKE_A_KEY = (
    'python3 -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
)


class SecretKeyError(ValueError):
    """LOOPLINK_SECRET_KEY is not a usable key; the text says why and how to make one."""


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any of the keys (a key was removed too soon,
    or the value was altered)."""


def check_key(key: str) -> None:
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as e:
        raise SecretKeyError(
            f"LOOPLINK_SECRET_KEY holds a key that is not URL-safe base64; make one with {MAKE_A_KEY}"
        ) from e
    if len(raw) != 32:
        raise SecretKeyError(
            f"LOOPLINK_SECRET_KEY holds a key of {len(raw)} bytes, not 32; make one with "
            f"{MAKE_A_KEY}"
        )


class SecretBox:
    """Encrypts and decrypts small JSON values with the configured keys (first one encrypts)."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise SecretKeyError(f"no LOOPLINK_SECRET_KEY; make one with {MAKE_A_KEY}")
        for key in keys:
            check_key(key)
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])

    def seal(self, value: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(value, sort_keys=True).encode()).decode("ascii")

    def open(self, sealed: str) -> dict[str, Any]:
        try:
            data = json.loads(self._fernet.decrypt(sealed.encode("ascii")))
        except (InvalidToken, ValueError) as e:
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with LOOPLINK_SECRET_KEY (was the key "
                "that encrypted it removed before `looplink secrets rotate`?)"
            ) from e
        return data if isinstance(data, dict) else {}

    def rotate(self, sealed: str) -> str:
        """The same secret, encrypted with the first key."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except InvalidToken as e:
            raise SecretUnreadable("a stored secret cannot be decrypted with any key") from e
