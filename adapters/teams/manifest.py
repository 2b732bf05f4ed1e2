"""The Teams app package: manifest.json and two icons, generated (no image files to ship).

Upload the zip in Teams (Apps -> Manage your apps -> Upload an app) or in the Teams admin
center. The icons are drawn here as PNGs with zlib and struct: a loop with an arrow, white on
Looplink's green (color, 192x192) and white on transparent (outline, 32x32), as Teams requires.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

MANIFEST_VERSION = "1.16"
SCHEMA = "https://developer.microsoft.com/en-us/json-schemas/teams/v1.16/MicrosoftTeams.schema.json"
ACCENT = (0x1F, 0x6F, 0x68)
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

COMMANDS = [
    ("barrier", "Report a barrier: what gets in the way of the practice"),
    ("success", "Share a success, so it can be celebrated and spread"),
    ("kudos", "Recognise someone for something specific: kudos @name for ..."),
    ("mine", "Your reports and where each one stands"),
    ("help", "What Looplink does and how to use it"),
]
TEAM_COMMANDS = [
    *COMMANDS,
    ("status", "Your team's queue (leads and liaisons)"),
    ("link", "Admins: make this channel a team's channel: link TEAM"),
]
# Resource-specific consent, granted by the team owner who adds the app: read the team's
# roster (members and their emails), which links people by email (`looplink org sync`, first
# contact), and the team's channels.
RSC = ("TeamMember.Read.Group", "ChannelSettings.Read.Group")

Pixel = tuple[int, int, int, int]


class PackageError(ValueError):
    """A package option is wrong; the text says which and how to fix it."""


# ---- icons -------------------------------------------------------------------------------


def png(width: int, height: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """An 8-bit RGBA PNG, one filter byte (0) per row."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows.extend(pixel(x, y))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def _in_loop(u: float, v: float) -> bool:
    """The mark in unit coordinates (centre 0.5, 0.5; v grows downwards)."""
    dx, dy = u - 0.5, 0.5 - v
    r = math.hypot(dx, dy)
    angle = math.degrees(math.atan2(dy, dx)) % 360
    inner, outer = 0.21, 0.33
    if inner <= r <= outer and not (angle >= 330 or angle <= 40):
        return True
    # the arrowhead at the end of the arc (angle 40), pointing clockwise along the loop
    phi = math.radians(40)
    mid = (inner + outer) / 2
    cx, cy = mid * math.cos(phi), mid * math.sin(phi)
    tx, ty = math.sin(phi), -math.cos(phi)  # clockwise tangent
    nx, ny = math.cos(phi), math.sin(phi)  # outwards
    half = (outer - inner) * 1.05
    a = (cx + nx * half, cy + ny * half)
    b = (cx - nx * half, cy - ny * half)
    c = (cx + tx * half * 1.25, cy + ty * half * 1.25)
    return _in_triangle((dx, dy), a, b, c)


def _in_triangle(
    p: tuple[float, float], a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]
) -> bool:
    def side(p1: tuple[float, float], p2: tuple[float, float], p3: tuple[float, float]) -> float:
        return (p1[0] - p3[0]) * (p2[1] - p3[1]) - (p2[0] - p3[0]) * (p1[1] - p3[1])

    d1, d2, d3 = side(p, a, b), side(p, b, c), side(p, c, a)
    negative = d1 < 0 or d2 < 0 or d3 < 0
    positive = d1 > 0 or d2 > 0 or d3 > 0
    return not (negative and positive)


def _coverage(size: int, x: int, y: int, samples: int = 3) -> float:
    hits = 0
    for i in range(samples):
        for j in range(samples):
            if _in_loop((x + (i + 0.5) / samples) / size, (y + (j + 0.5) / samples) / size):
                hits += 1
    return hits / (samples * samples)


def color_icon(size: int = 192) -> bytes:
    """White loop on the accent colour, full bleed (Teams rounds the corners itself)."""

    def pixel(x: int, y: int) -> Pixel:
        c = _coverage(size, x, y)
        r, g, b = (round(ch + (255 - ch) * c) for ch in ACCENT)
        return (r, g, b, 255)

    return png(size, size, pixel)


def outline_icon(size: int = 32) -> bytes:
    """White loop on a transparent background."""

    def pixel(x: int, y: int) -> Pixel:
        return (255, 255, 255, round(255 * _coverage(size, x, y, samples=4)))

    return png(size, size, pixel)


# ---- manifest ----------------------------------------------------------------------------


def _commands(items: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"title": title, "description": description} for title, description in items]


def manifest(
    app_id: str,
    *,
    name: str = "Looplink",
    version: str = "1.0.0",
    developer: str = "Looplink",
    website_url: str = "https://looplink.example.org/",
    privacy_url: str = "https://looplink.example.org/privacy",
    terms_url: str = "https://looplink.example.org/terms",
) -> dict[str, Any]:
    if not GUID.match(app_id):
        raise PackageError(
            f"--app-id must be the bot's Microsoft App ID (a GUID like "
            f"00000000-0000-0000-0000-000000000000), not '{app_id}'."
        )
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise PackageError(f"--version must look like 1.0.0, not '{version}'.")
    for label, url in (("--website-url", website_url), ("--privacy-url", privacy_url)):
        if not url.startswith("https://"):
            raise PackageError(f"{label} must be an https:// address, not '{url}'.")
    if not terms_url.startswith("https://"):
        raise PackageError(f"--terms-url must be an https:// address, not '{terms_url}'.")
    if not 0 < len(name) <= 30:
        raise PackageError("--name must be 1 to 30 characters.")
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": developer,
            "websiteUrl": website_url,
            "privacyUrl": privacy_url,
            "termsOfUseUrl": terms_url,
        },
        "name": {"short": name, "full": f"{name}: practice-to-policy feedback loops"},
        "description": {
            "short": "Carry barriers up to the teams who can remove them, and answers back.",
            "full": (
                "Looplink runs the practice-to-policy feedback loop between linked "
                "implementation teams (building, district, state). Report a barrier or a "
                "success in a chat with the bot; the team decides, escalates along the chain "
                "or asks for more; the answer comes back down to every team and to you, "
                "anonymously if you wish. Give kudos, and see where your reports stand."
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": app_id,
                "scopes": ["personal", "team", "groupChat"],
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {"scopes": ["personal"], "commands": _commands(COMMANDS)},
                    {"scopes": ["team", "groupChat"], "commands": _commands(TEAM_COMMANDS)},
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
        "webApplicationInfo": {"id": app_id, "resource": "https://RscBasedStoreApp"},
        "authorization": {
            "permissions": {
                "resourceSpecific": [{"name": n, "type": "Application"} for n in RSC],
            }
        },
    }


def package(app_id: str, **options: str) -> bytes:
    """The app package zip: manifest.json, color.png, outline.png at its root."""
    data = manifest(app_id, **options)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        z.writestr("color.png", color_icon())
        z.writestr("outline.png", outline_icon())
    return out.getvalue()
