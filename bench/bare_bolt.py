"""The framework floor: a Bolt app whose handlers only acknowledge, served like Looplink.

    SLACK_BOT_TOKEN=... SLACK_SIGNING_SECRET=... [SLACK_API_URL=...] \\
        python -m bench.bare_bolt --port 3979

Same stack as `looplink serve`: one process, aiohttp with a 1 MiB body limit, Bolt's
`AsyncApp` (signature check, single-team authorisation via auth.test, listener matching) with
`process_before_response=True`, and the same aiohttp <-> Bolt request translation. It does no
database work and calls no Slack API after the ack. `GET /healthz` answers 200.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp

MAX_BODY = 1024 * 1024


def build(token: str, secret: str, api_url: str | None) -> web.Application:
    bolt = AsyncApp(name="bare", token=token, signing_secret=secret, process_before_response=True)
    if api_url:
        bolt.client.base_url = api_url if api_url.endswith("/") else api_url + "/"
    anything = re.compile(r".*")

    async def just_ack(ack: AsyncAck) -> None:
        await ack()

    bolt.command(anything)(just_ack)
    bolt.view_submission(anything)(just_ack)
    bolt.block_action({"action_id": anything})(just_ack)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    return app


async def main(host: str, port: int) -> None:
    app = build(
        os.environ["SLACK_BOT_TOKEN"],
        os.environ["SLACK_SIGNING_SECRET"],
        os.environ.get("SLACK_API_URL"),
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"bare Bolt app on http://{host}:{port}/", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--host", default=os.environ.get("LOOPLINK_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("LOOPLINK_PORT", "3979")))
    a = p.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(a.host, a.port))
