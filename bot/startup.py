"""Getting a database ready to serve: migrate it, then apply the org file if one is set."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.db.migrate import upgrade
from bot.db.session import Database
from bot.org_changes import apply_file, describe, file_digest, keep_console_edits
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
        digest = file_digest(Path(settings.org_file).read_bytes())
        async with db.transaction() as s:
            kept = await keep_console_edits(s, digest)
            if kept:
                log.info(
                    "org file %s is unchanged since it was last applied: not applied again, "
                    "keeping %d edit(s) made in the admin console (see docs/org-file.md)",
                    settings.org_file,
                    kept,
                )
                return db
            done = await apply_file(s, spec, datetime.now(UTC), digest, "server start")
        for change in done.replaced:
            log.warning(
                "org file %s replaced a console edit: %s", settings.org_file, describe(change)
            )
        log.info("org file %s applied: %s", settings.org_file, done.report.counts())
    return db
