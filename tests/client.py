"""The aiohttp test client type, with its parameters (mypy --strict wants them)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient

Client = TestClient[web.Request, web.Application]
