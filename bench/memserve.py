"""`looplink serve` with memory instruments, for bench/memory.py (not used in production).

Environment, read here only:
- `BENCH_TRACEMALLOC=FILE`: trace Python allocations; on SIGUSR1 a snapshot is written to
  FILE.N (N = 1, 2, ...), so two snapshots can be compared (`tracemalloc.Snapshot.load`).
- `BENCH_SQLITE_CACHE_KIB=N`, `BENCH_SQLITE_MMAP=BYTES`: SQLite's page cache per connection
  and its memory map, instead of Looplink's (64 MiB, 1 GiB), to tell their growth from a leak.
"""

from __future__ import annotations

import os
import signal
import sys
import tracemalloc
from typing import Any

from bot.db import session


def _limited_pragmas(cache_kib: str, mmap: str) -> Any:
    original = session._sqlite_pragmas

    def pragmas(dbapi_conn: Any, record: Any) -> None:
        original(dbapi_conn, record)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        cur.execute(f"PRAGMA mmap_size={int(mmap)}")
        cur.close()

    return pragmas


def main() -> int:
    target = os.environ.get("BENCH_TRACEMALLOC")
    if target:
        tracemalloc.start(10)
        taken = [0]

        def dump(_sig: int, _frame: object) -> None:
            taken[0] += 1
            tracemalloc.take_snapshot().dump(f"{target}.{taken[0]}")

        signal.signal(signal.SIGUSR1, dump)
    cache, mmap = os.environ.get("BENCH_SQLITE_CACHE_KIB"), os.environ.get("BENCH_SQLITE_MMAP")
    if cache or mmap:
        session._sqlite_pragmas = _limited_pragmas(cache or "65536", mmap or str(1 << 30))
    from looplink import cli

    return cli.main(["serve"])


if __name__ == "__main__":
    sys.exit(main())
