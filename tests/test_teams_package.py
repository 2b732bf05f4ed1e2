"""`looplink teams package`: a zip Teams accepts (manifest.json + two valid PNG icons)."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from looplink.cli import main

APP_ID = "0f4d1c1e-5b1c-4e8e-9a55-1b2c3d4e5f60"


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Check signature and every chunk's CRC; return width, height and the pixel rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF, tag
        if tag == b"IHDR":
            header = body
        elif tag == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color_type = struct.unpack(">IIBB", header[:10])
    assert (depth, color_type) == (8, 6)  # 8-bit RGBA
    raw = zlib.decompress(idat)
    stride = 1 + 4 * width
    assert len(raw) == stride * height
    rows = [raw[y * stride : (y + 1) * stride] for y in range(height)]
    assert all(r[0] == 0 for r in rows)
    return width, height, [r[1:] for r in rows]


def test_package_builds_a_teams_app_zip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "looplink-teams.zip"
    assert main(["teams", "package", "--app-id", APP_ID, "--out", str(out)]) == 0
    assert "Wrote" in capsys.readouterr().out
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(z.read("manifest.json"))
        color = read_png(z.read("color.png"))
        outline = read_png(z.read("outline.png"))

    assert manifest["id"] == APP_ID and manifest["manifestVersion"] == "1.16"
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80
    (bot,) = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert bot["scopes"] == ["personal", "team", "groupChat"]
    personal = next(c for c in bot["commandLists"] if c["scopes"] == ["personal"])
    assert [c["title"] for c in personal["commands"]] == [
        "barrier",
        "success",
        "kudos",
        "mine",
        "help",
    ]
    team = next(c for c in bot["commandLists"] if c["scopes"] == ["team", "groupChat"])
    assert [c["title"] for c in team["commands"]][-2:] == ["status", "link"]
    # the roster (members and their emails) may be read: people are linked by email
    assert manifest["webApplicationInfo"]["id"] == APP_ID
    rsc = manifest["authorization"]["permissions"]["resourceSpecific"]
    assert {"name": "TeamMember.Read.Group", "type": "Application"} in rsc
    for commands in bot["commandLists"]:
        assert len(commands["commands"]) <= 10
        for c in commands["commands"]:
            assert len(c["title"]) <= 32 and len(c["description"]) <= 128

    width, height, rows = color
    assert (width, height) == (192, 192)
    assert all(row[i + 3] == 255 for row in rows for i in range(0, len(row), 4))  # opaque
    assert any(row[i : i + 3] == b"\xff\xff\xff" for row in rows for i in range(0, len(row), 4))
    width, height, rows = outline
    assert (width, height) == (32, 32)
    pixels = [row[i : i + 4] for row in rows for i in range(0, len(row), 4)]
    assert all(p[:3] == b"\xff\xff\xff" for p in pixels)  # white only
    assert any(p[3] == 0 for p in pixels) and any(p[3] == 255 for p in pixels)  # transparent


def test_package_explains_a_wrong_app_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.zip"
    assert main(["teams", "package", "--app-id", "my-bot", "--out", str(out)]) == 2
    assert "Microsoft App ID (a GUID" in capsys.readouterr().err
    assert not out.exists()
