"""Similar barriers: quality on the labelled sets, and speed at 500,000 items.

    .venv/bin/python -m bench.similar                 # quality, then speed at 500,000 items
    .venv/bin/python -m bench.similar --quality-only  # just the evaluation tables (seconds)
    .venv/bin/python -m bench.similar --items 50000   # a smaller speed run

Quality. `bench/data/similar_dev.csv` (156 reports, used to choose the settings) and
`bench/data/similar_heldout.csv` (68 reports, written before any code): barriers and successes
from schools and human services, in English and Spanish, each labelled with the cluster it
belongs to (blank: it belongs with nothing), with near-misses that share words but not meaning.
Printed per set:
- clusters: pairwise precision and recall of "these two ended up in the same group" against
  the labels, for the batch clustering (`rebuild`), as the mean (and worst) over 12 orders of
  arrival, since group-average clustering one report at a time depends a little on order;
- arrivals: the same for what a reporter and a lead are shown: the first 60% of the reports
  are grouped in a batch, then each remaining report arrives alone (`index_item`, no
  re-clustering) and every (new report, earlier report) pair in its group counts as found;
- by cluster: each labelled cluster's size, how many groups it was split into, its recall,
  and the reports of other clusters that were grouped with it;
- Spanish: recall among pairs of Spanish reports, and between Spanish and English ones.

Speed. An organisation of 2,000 teams and 500,000 items whose texts are the labelled reports
varied at the feature level (words dropped, synonyms swapped, local names added from a long
tail of 40,000 made-up words), 40% of them open, indexed in bulk; then:
- clustering all open items: `rebuild(open_only=True)`, split into reading, clustering and
  writing (this also makes the groups the next step joins);
- ms per new report: `index_item` for 300 new reports, each in its own transaction (store the
  features and postings, find candidates, score them, join a group), p50/p95/max.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from bench.common import database, machine
from bot.db.migrate import upgrade
from bot.db.models import Item, Person, SimilarDoc, SimilarPosting, Team
from bot.db.session import Database, sync_url
from bot.similar import model, store
from bot.similar.lexicon import CONCEPTS

DATA = Path(__file__).resolve().parent / "data"
SETS = {"dev": DATA / "similar_dev.csv", "held-out": DATA / "similar_heldout.csv"}
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
ORDERS = 12


@dataclass
class Row:
    id: str
    cluster: str
    lang: str
    kind: str
    setting: str
    summary: str
    details: str


def load(path: Path) -> list[Row]:
    with path.open(newline="", encoding="utf-8") as f:
        return [Row(**r) for r in csv.DictReader(f)]


def gold_pairs(rows: list[Row]) -> set[tuple[int, int]]:
    return {
        (i, j)
        for i, j in itertools.combinations(range(len(rows)), 2)
        if rows[i].cluster and rows[i].cluster == rows[j].cluster
    }


def pr(gold: set[tuple[int, int]], found: set[tuple[int, int]]) -> tuple[float, float]:
    hit = len(gold & found)
    return (hit / len(found) if found else 1.0), (hit / len(gold) if gold else 1.0)


def _vectors(rows: list[Row]) -> list[model.Vector]:
    counts = [model.counts(r.summary, r.details) for r in rows]
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
    return [model.vector(c, lambda f: df[f], len(rows)) for c in counts]


def batch_groups(rows: list[Row], vecs: list[model.Vector], order: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for kind in ("barrier", "success"):
        c = model.cluster((i, vecs[i]) for i in order if rows[i].kind == kind)
        out += c.partition()
    return out


def pairs_in(groups: list[list[int]]) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for g in groups for a, b in itertools.combinations(g, 2)}


def arrivals(rows: list[Row], vecs: list[model.Vector], order: list[int]) -> set[tuple[int, int]]:
    """Pairs found when the last 40% arrive one by one into the groups of the first 60%, as
    `store.index_item` places them: join the group it is most like, or pair with the item it
    is most like when that one stands alone (no merging or refining between arrivals)."""
    cut = int(len(order) * 0.6)
    found: set[tuple[int, int]] = set()
    for kind in ("barrier", "success"):
        first = [i for i in order[:cut] if rows[i].kind == kind]
        c = model.cluster((i, vecs[i]) for i in first)
        members = {gid: list(g.members) for gid, g in c.groups.items()}
        for i in order[cut:]:
            if rows[i].kind != kind:
                continue
            gid, score = c.best(vecs[i])
            if gid is None or score < model.THRESHOLD:
                gid = c.add(i, vecs[i])  # stands alone (a group of one, as in the database)
                members[gid] = [i]
                continue
            c.add(i, vecs[i])  # joins `gid`, whose sum now counts it
            for j in members[gid]:
                found.add((min(i, j), max(i, j)))
            members[gid].append(i)
    return found


def quality(name: str, rows: list[Row]) -> None:
    vecs = _vectors(rows)
    gold = gold_pairs(rows)
    batch, online = [], []
    last_groups: list[list[int]] = []
    for seed in range(ORDERS):
        order = list(range(len(rows)))
        random.Random(seed).shuffle(order)
        last_groups = batch_groups(rows, vecs, order)
        batch.append(pr(gold, pairs_in(last_groups)))
        found = arrivals(rows, vecs, order)
        online_gold = {p for p in gold if _late(p, order)}
        online.append(pr(online_gold, found))
    es = sum(1 for r in rows if r.lang == "es")
    print(
        f"\n{name}: {len(rows)} reports ({es} in Spanish), "
        f"{len({r.cluster for r in rows if r.cluster})} labelled clusters, "
        f"{sum(1 for r in rows if not r.cluster)} that belong with nothing, {len(gold)} similar pairs"
    )
    print("| what | precision | recall | worst precision | worst recall |")
    print("|---|---|---|---|---|")
    for label, res in (("clusters (batch)", batch), ("arrivals (as reported)", online)):
        ps, rs = [p for p, _ in res], [r for _, r in res]
        print(
            f"| {label} | {statistics.mean(ps):.3f} | {statistics.mean(rs):.3f} "
            f"| {min(ps):.3f} | {min(rs):.3f} |"
        )
    groups_in_order0 = batch_groups(rows, vecs, list(range(len(rows))))
    found = pairs_in(groups_in_order0)
    by_lang = {"es-es": (0, 0), "es-en": (0, 0)}
    for i, j in gold:
        langs = {rows[i].lang, rows[j].lang}
        key = "es-es" if langs == {"es"} else "es-en" if "es" in langs else ""
        if key:
            hit, tot = by_lang[key]
            by_lang[key] = (hit + ((i, j) in found), tot + 1)
    print(
        "Spanish, recall in file order: "
        + ", ".join(
            f"{k} pairs {h}/{t} ({h / t:.2f})" if t else f"{k} pairs none"
            for k, (h, t) in by_lang.items()
        )
    )
    per_cluster(rows, groups_in_order0)


def _late(pair: tuple[int, int], order: list[int]) -> bool:
    cut = int(len(order) * 0.6)
    late = set(order[cut:])
    return pair[0] in late or pair[1] in late


def per_cluster(rows: list[Row], groups: list[list[int]]) -> None:
    group_of = {i: g for g, members in enumerate(groups) for i in members}
    print("| cluster | reports | groups | recall | grouped with it from elsewhere |")
    print("|---|---|---|---|---|")
    names = sorted({r.cluster for r in rows if r.cluster})
    for name in names:
        members = [i for i, r in enumerate(rows) if r.cluster == name]
        spread = Counter(group_of[i] for i in members)
        pairs = len(members) * (len(members) - 1) // 2
        hit = sum(n * (n - 1) // 2 for n in spread.values())
        intruders = sorted(
            {
                rows[j].cluster or rows[j].id
                for g in spread
                for j in groups[g]
                if rows[j].cluster != name
            }
        )
        print(
            f"| {name} | {len(members)} | {len(spread)} | {hit / pairs if pairs else 1:.2f} "
            f"| {', '.join(intruders) or '-'} |"
        )


# ---- speed ---------------------------------------------------------------------------------


def _synonyms() -> dict[str, list[str]]:
    """concept -> its single-word stems, to swap one for another."""
    from bot.similar.text import stem, words

    out: dict[str, list[str]] = {}
    for concept, (en, es) in CONCEPTS.items():
        stems = {stem(w[0]) for p in en if len(w := words(p)) == 1}
        stems |= {stem(w[0], "es") for p in es if len(w := words(p)) == 1}
        out[concept] = sorted(stems)
    return out


def _long_tail(n: int, rnd: random.Random) -> list[str]:
    syll = ["ba", "ke", "lo", "mi", "nu", "ra", "so", "ti", "ve", "zo", "dan", "mor", "lin", "per"]
    return ["".join(rnd.choice(syll) for _ in range(rnd.randint(2, 4))) for _ in range(n)]


def synthetic_counts(
    templates: list[dict[str, float]], n: int, seed: int = 11
) -> list[tuple[int, dict[str, float]]]:
    """n (template index, varied counts) pairs: words dropped, synonyms swapped, local names."""
    rnd = random.Random(seed)
    syn = _synonyms()
    tail = _long_tail(40_000, rnd)
    cum = list(itertools.accumulate(1 / (k + 1) for k in range(len(tail))))  # Zipf-like
    out = []
    for _ in range(n):
        t = rnd.randrange(len(templates))
        c: dict[str, float] = {}
        words_ = [f for f in templates[t] if not f.startswith("~")]
        for f, v in templates[t].items():
            if f.startswith("~"):
                continue
            if rnd.random() < 0.2:
                continue
            c[f] = v
        for f, v in templates[t].items():
            if f.startswith("~") and (any(f2 in c for f2 in words_) or rnd.random() < 0.5):
                c[f] = v
                if syn.get(f) and rnd.random() < 0.3:
                    c[rnd.choice(syn[f])] = v
        for w in rnd.choices(tail, cum_weights=cum, k=rnd.randint(0, 3)):
            c[w] = c.get(w, 0) + 1
        out.append((t, c))
    return out


def seed_index(url: str, n_items: int, rows: list[Row]) -> tuple[int, int]:
    """Teams, one reporter per team, n items with texts and index rows; returns (open, postings)."""
    upgrade(url)
    engine = create_engine(sync_url(url), hide_parameters=True)
    rnd = random.Random(5)
    teams: list[dict[str, Any]] = [
        {"id": "state", "name": "State", "level": "state", "parent_id": None}
    ]
    teams += [
        {"id": f"d{i}", "name": f"District {i}", "level": "district", "parent_id": "state"}
        for i in range(49)
    ]
    teams += [
        {"id": f"b{i}", "name": f"Building {i}", "level": "building", "parent_id": f"d{i % 49}"}
        for i in range(1950)
    ]
    for team_row in teams:
        team_row.update(response_days=5, timezone="America/Chicago", digest_schedule="0 8 * * mon")
        team_row.update(agenda_before_minutes=120, extra={}, active=True)
    people = [{"id": f"p{i}", "name": f"Person {i}", "language": "en", "active": True}
              for i in range(2000)]  # fmt: skip
    templates = [model.counts(r.summary, r.details) for r in rows]
    opened = postings = 0
    with engine.begin() as conn:
        conn.execute(insert(Team), teams)
        conn.execute(insert(Person), people)
    chunk = 20_000
    made = synthetic_counts(templates, n_items)
    df: Counter[str] = Counter()
    for _, counts in made:
        df.update(counts.keys())
    for start in range(0, n_items, chunk):
        items, docs, posts = [], [], []
        for k in range(start, min(n_items, start + chunk)):
            t, counts = made[k]
            row = rows[t]
            team = rnd.randrange(1950)
            created = NOW - timedelta(minutes=rnd.randrange(60 * 24 * 365))
            is_open = rnd.random() < 0.4
            opened += is_open
            items.append({
                "id": k + 1, "kind": row.kind, "summary": row.summary, "details": row.details,
                "affected": [], "subgroup": "", "driver": "other", "stage": "", "tried": "",
                "suggestion": "", "urgency": "normal", "anonymous": False,
                "reporter_id": f"p{team % 2000}", "origin_team_id": f"b{team}",
                "holding_team_id": f"b{team}", "state": "new" if is_open else "resolved",
                "created_at": created, "updated_at": created,
                "closed_at": None if is_open else created + timedelta(days=3),
                "response": "", "source": "bench",
            })  # fmt: skip
            norm = model.length(model.weights(counts, df.__getitem__, n_items))
            docs.append(
                {"item_id": k + 1, "counts": model.encode(counts), "norm": norm,
                 "group_id": None, "indexed_at": NOW}
            )  # fmt: skip
            posts += [{"feature": f, "item_id": k + 1} for f in counts]
        postings += len(posts)
        with engine.begin() as conn:
            conn.execute(insert(Item), items)
            conn.execute(insert(SimilarDoc), docs)
            conn.execute(insert(SimilarPosting), posts)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('items', 'id'), :n)"),
                         {"n": n_items})  # fmt: skip
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return opened, postings


async def time_new_reports(url: str, rows: list[Row], n: int) -> tuple[list[float], list[float]]:
    db = Database(url)
    rnd = random.Random(3)
    times = []
    cpu = []
    try:
        for k in range(n):
            r = rows[rnd.randrange(len(rows))]
            async with db.transaction() as s:
                item = Item(
                    kind=r.kind, summary=r.summary, details=r.details, reporter_id="p1",
                    origin_team_id="b1", holding_team_id="b1", state="new", created_at=NOW,
                    updated_at=NOW, response="", affected=[],
                )  # fmt: skip
                s.add(item)
                await s.flush()
                t0, c0 = time.perf_counter(), time.process_time()
                await store.index_item(s, item, NOW)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            if k == 9:
                times.clear()  # the first few warm the caches and the page cache
                cpu.clear()
    finally:
        await db.close()
    return times, cpu


async def time_clustering(url: str) -> store.RebuildReport:
    db = Database(url)
    try:
        return await store.rebuild(db, NOW, open_only=True)
    finally:
        await db.close()


def speed(args: argparse.Namespace, rows: list[Row]) -> None:
    with tempfile.TemporaryDirectory() as tmp, database(args.database, Path(tmp)) as url:
        t0 = time.perf_counter()
        opened, postings = seed_index(url, args.items, rows)
        print(
            f"\nSpeed: {args.items:,} items ({opened:,} open, {postings:,} postings) in 2,000 "
            f"teams on {url.split(':')[0]}; seeded in {time.perf_counter() - t0:.0f} s"
        )
        rep = asyncio.run(time_clustering(url))
        times, cpu = asyncio.run(time_new_reports(url, rows, args.reports + 10))
        q = statistics.quantiles(times, n=20)
        print(f"Load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print("| what | figure | CPU time | target |")
        print("|---|---|---|---|")
        print(
            f"| similar items for one new report (index, find, group), {len(times)} reports "
            f"| p50 {statistics.median(times):.1f} ms, p95 {q[18]:.1f} ms, max {max(times):.1f} ms "
            f"| p50 {statistics.median(cpu):.1f} ms | < 50 ms |"
        )
        print(
            f"| clustering all {rep.loaded:,} open items ({rep.grouped:,} in {rep.groups:,} "
            f"groups of two or more) | {rep.seconds_cluster:.1f} s (+ {rep.seconds_read:.1f} s "
            f"reading, {rep.seconds_write:.1f} s writing the groups) | {rep.cpu_cluster:.1f} s "
            f"| < 30 s |"
        )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--database", help="postgresql://... (default: a temporary SQLite file)")
    p.add_argument("--items", type=int, default=500_000)
    p.add_argument("--reports", type=int, default=300, help="new reports to time")
    p.add_argument("--quality-only", action="store_true")
    args = p.parse_args(argv)
    print(f"Machine: {machine()}")
    sets = {name: load(path) for name, path in SETS.items()}
    for name, rows in sets.items():
        quality(name, rows)
    if not args.quality_only:
        speed(args, sets["dev"] + sets["held-out"])


if __name__ == "__main__":
    main()
