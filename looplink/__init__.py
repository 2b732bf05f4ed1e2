"""The composition root: assembles the running program from the core, the flows, the adapters
and the scheduler. It imports them all; nothing imports it (tests/test_architecture.py).

    platforms.py  the registered platforms (one line each)
    server.py     the aiohttp server: /healthz, each enabled platform, the dashboard, the
                  outbox dispatcher and the scheduler service
    cli.py        the `looplink` command and its subcommands
"""
