"""Getting a database ready to serve: migrate it, then apply the org file if one is set."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.db.migrate import upgrade
from bot.db.session import Database
from bot.org_apply import apply_org
from bot.orgfile import load_org
from bot.platform_info import PlatformInfo
from bot.settings import Settings

log = logging.getLogger("looplink.server")


async def prepare_database(settings: Settings, platforms: Sequence[PlatformInfo]) -> Database:
    """Migrate the database and apply `settings.org_file` (its ids by `platforms`' keys)."""
    await asyncio.to_thread(upgrade, settings.database_url)
    db = Database(settings.database_url)
    if settings.org_file is not None:
        spec = load_org(settings.org_file, platforms)
        async with db.transaction() as s:
            report = await apply_org(s, spec)
        log.info("org file %s applied: %s", settings.org_file, report.counts())
    return db
