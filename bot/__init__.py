"""Looplink core: domain, storage, loop engine, org config, neutral messages, templates, CLI."""
