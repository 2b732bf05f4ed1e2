"""The similarity index in the database, kept up to date as items arrive.

    found = await index_item(s, item, now)   # in the report's transaction: store + place + match
    report = await rebuild(db, now)          # regroup everything with fresh weights (batch)

Each item has a `SimilarDoc` (its feature counts and its group) and one `SimilarPosting` per
feature (the inverted index). Finding the items like a new one reads only the postings of its
rarest features, up to a fixed budget, so the cost does not grow with the number of items:
candidates are ranked by the weight they share, the best `CANDIDATES` are scored exactly, and
the new item joins the group it is most like (`bot.similar.model`), or starts its own.

Document frequencies come from the postings; large ones are cached per database for a few
minutes (a frequency of 50,000 is as good as one of 50,100 for weighting).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Item, ItemLink, SimilarDoc, SimilarGroup, SimilarPosting
from bot.db.session import Database
from bot.domain import OPEN_STATES, State
from bot.similar import model
from bot.similar.model import Vector

RECENT = timedelta(days=90)  # closed items stay findable (and grouped) this long
CANDIDATES = 200  # items scored exactly for one new item
PROBE_BUDGET = 30_000  # postings read at most to find candidates
MAX_FEATURE = 80
SUGGEST = 3  # similar items offered on a card or to a reporter
MIN_PAIR = model.THRESHOLD / 2  # a suggested item must itself be at least this close
CACHE_MIN_DF = 1000
CACHE_SECONDS = 600.0
OPEN = [s.value for s in OPEN_STATES]


@dataclass
class Match:
    item: Item
    score: float


@dataclass
class Found:
    """Where a new item landed and which live items are most like it (best first)."""

    group_id: int | None  # None: like nothing live closely enough to be grouped
    matches: list[Match] = field(default_factory=list)


# ---- document frequencies ----------------------------------------------------------------


@dataclass
class _Cache:
    n: int = 0
    n_at: float = 0.0
    df: dict[str, tuple[int, float]] = field(default_factory=dict)


_caches: dict[str, _Cache] = {}


def _cache(s: AsyncSession) -> _Cache:
    bind = s.get_bind()
    key = str(getattr(bind, "url", "")) or str(id(bind))
    return _caches.setdefault(key, _Cache())


def forget_cache() -> None:
    """Drop cached frequencies (tests, after a rebuild)."""
    _caches.clear()


async def doc_count(s: AsyncSession) -> int:
    c = _cache(s)
    now = time.monotonic()
    if c.n >= 10_000 and now - c.n_at < CACHE_SECONDS:
        return c.n
    n = int(await s.scalar(select(func.count()).select_from(SimilarDoc)) or 0)
    c.n, c.n_at = n, now
    return n


async def frequencies(s: AsyncSession, feats: Iterable[str]) -> dict[str, int]:
    c = _cache(s)
    now = time.monotonic()
    out: dict[str, int] = {}
    missing = []
    for f in feats:
        hit = c.df.get(f)
        if hit is not None and now - hit[1] < CACHE_SECONDS:
            out[f] = hit[0]
        else:
            missing.append(f)
    if missing:
        q = (
            select(SimilarPosting.feature, func.count())
            .where(SimilarPosting.feature.in_(missing))
            .group_by(SimilarPosting.feature)
        )
        for f, n in (await s.execute(q)).all():
            out[f] = int(n)
            if n >= CACHE_MIN_DF:
                c.df[f] = (int(n), now)
    return out


# ---- one item ----------------------------------------------------------------------------


def item_counts(item: Item) -> dict[str, float]:
    counts = model.counts(item.summary or "", item.details or "")
    return {f[:MAX_FEATURE]: v for f, v in counts.items()}


async def _store(s: AsyncSession, item: Item, counts: dict[str, float], now: datetime) -> None:
    s.add(SimilarDoc(item_id=item.id, counts=model.encode(counts), group_id=None, indexed_at=now))
    if counts:
        await s.execute(
            insert(SimilarPosting), [{"feature": f, "item_id": item.id} for f in counts]
        )
    c = _cache(s)
    if c.n:
        c.n += 1


def _probe(x: Vector, df: dict[str, int]) -> dict[str, float]:
    """The features to read postings for (rarest first, within the budget) and their weights."""
    order = sorted(x, key=lambda f: (df.get(f, 0), f))
    chosen: dict[str, float] = {}
    read = 0
    for f in order:
        n = df.get(f, 0)
        if n == 0:
            continue
        if chosen and read + n > PROBE_BUDGET:
            break
        chosen[f] = x[f]
        read += n
    return chosen


async def candidates(
    s: AsyncSession, x: Vector, df: dict[str, int], n: int, exclude: int | None = None
) -> list[int]:
    """Items sharing the most weight with `x` through its rarest features (best first)."""
    probe = _probe(x, df)
    if not probe:
        return []
    weights = {f: w * model.idf(df[f], n) for f, w in probe.items()}
    score = func.sum(case(weights, value=SimilarPosting.feature, else_=0.0))
    q = (
        select(SimilarPosting.item_id, score)
        .where(SimilarPosting.feature.in_(list(probe)))
        .group_by(SimilarPosting.item_id)
        .order_by(score.desc(), SimilarPosting.item_id)
        .limit(CANDIDATES + 1)
    )
    return [iid for iid, _ in (await s.execute(q)).all() if iid != exclude][:CANDIDATES]


def live(item: Item, now: datetime) -> bool:
    """Open, or closed recently enough to still be worth pointing at."""
    if item.state in OPEN_STATES:
        return True
    return item.closed_at is not None and item.closed_at >= now - RECENT


async def index_item(s: AsyncSession, item: Item, now: datetime) -> Found:
    """Store `item` in the index, put it in its group and return the live items most like it."""
    counts = item_counts(item)
    n = await doc_count(s) + 1
    df = await frequencies(s, counts)
    df = {f: df.get(f, 0) for f in counts}
    x = model.vector(counts, lambda f: df[f] + 1, n)
    ids = await candidates(s, x, df, n, exclude=item.id)
    await _store(s, item, counts, now)
    scored = await _score(s, x, ids, n)
    group_id = await _place(s, item, x, scored, now)
    return Found(group_id, _suggestions(item, scored, group_id, now))


@dataclass
class _Scored:
    item: Item
    group_id: int | None
    vector: Vector
    score: float


async def _score(s: AsyncSession, x: Vector, ids: Sequence[int], n: int) -> list[_Scored]:
    if not ids:
        return []
    rows = (
        await s.execute(
            select(Item, SimilarDoc.counts, SimilarDoc.group_id)
            .join(SimilarDoc, SimilarDoc.item_id == Item.id)
            .where(Item.id.in_(list(ids)))
        )
    ).all()
    docs = [(item, model.decode(counts), gid) for item, counts, gid in rows]
    df = await frequencies(s, {f for _, c, _ in docs for f in c})
    out = []
    for item, c, gid in docs:
        v = model.vector(c, lambda f: df.get(f, 1), n)
        out.append(_Scored(item, gid, v, model.dot(x, v)))
    out.sort(key=lambda d: (-d.score, d.item.id))
    return out


async def _place(
    s: AsyncSession, item: Item, x: Vector, scored: list[_Scored], now: datetime
) -> int | None:
    """Join the group `item` is most like (mean similarity >= threshold), or pair it with the
    live item it is most like when that one stands alone; else it stands alone (None)."""
    by_group: dict[int, list[_Scored]] = {}
    alone: _Scored | None = None
    for d in scored:
        if d.item.kind != item.kind or d.score <= 0:
            continue
        if d.group_id is not None:
            by_group.setdefault(d.group_id, []).append(d)
        elif alone is None and live(d.item, now) and d.item.state != State.MERGED:
            alone = d
    groups: dict[int, SimilarGroup] = {}
    if by_group:
        q = select(SimilarGroup).where(SimilarGroup.id.in_(list(by_group))).with_for_update()
        groups = {g.id: g for g in (await s.scalars(q)).all()}
    best: tuple[float, int] | None = None
    for gid, g in groups.items():
        mean = model.dot(x, model.decode(g.sum)) / max(g.size, 1)
        if best is None or (mean, -gid) > (best[0], -best[1]):
            best = (mean, gid)
    pair = alone.score if alone is not None else 0.0
    if best is not None and best[0] >= model.THRESHOLD and best[0] >= pair:
        g = groups[best[1]]
        g.sum = encode_sum(_plus(model.decode(g.sum), x))
        g.size += 1
        g.updated_at = now
        members = [item.id]
    elif alone is not None and pair >= model.THRESHOLD:
        g = SimilarGroup(
            kind=item.kind, size=2, sum=encode_sum(_plus(alone.vector, x)), updated_at=now
        )
        s.add(g)
        await s.flush()
        members = [item.id, alone.item.id]
        alone.group_id = g.id
    else:
        return None
    await s.execute(update(SimilarDoc).where(SimilarDoc.item_id.in_(members)).values(group_id=g.id))
    return g.id


def _plus(total: Vector, v: Vector) -> Vector:
    out = dict(total)
    for f, w in v.items():
        out[f] = out.get(f, 0.0) + w
    return out


def encode_sum(v: Vector) -> str:
    return " ".join(f"{f}:{w:.4g}" for f, w in sorted(v.items()) if w > 1e-6)


def _suggestions(
    item: Item, scored: list[_Scored], group_id: int | None, now: datetime
) -> list[Match]:
    out: list[Match] = []
    seen: set[int] = {item.id}
    for d in scored:
        if group_id is None or d.group_id != group_id or d.item.kind != item.kind:
            continue
        if d.score < MIN_PAIR:
            continue
        if d.item.id in seen or d.item.state == State.MERGED or not live(d.item, now):
            continue
        seen.add(d.item.id)
        out.append(Match(d.item, d.score))
        if len(out) >= SUGGEST:
            break
    return out


async def similar_to(s: AsyncSession, item: Item, now: datetime, limit: int = 10) -> list[Match]:
    """The indexed items most like `item` (any state), best first, with their scores."""
    doc = await s.get(SimilarDoc, item.id)
    counts = model.decode(doc.counts) if doc is not None else item_counts(item)
    n = max(await doc_count(s), 1)
    df = await frequencies(s, counts)
    df = {f: df.get(f, 0) for f in counts}
    x = model.vector(counts, lambda f: max(df[f], 1), n)
    ids = await candidates(s, x, df, n, exclude=item.id)
    scored = await _score(s, x, ids, n)
    return [Match(d.item, d.score) for d in scored if d.score > 0 and d.item.id != item.id][:limit]


async def join_group(s: AsyncSession, item_id: int, other_id: int, now: datetime) -> None:
    """Put `item_id` in the group of `other_id` (a lead linked or merged them, or a reporter
    added their voice). The group's sum is left as it was until the next rebuild."""
    target = await s.get(SimilarDoc, other_id)
    doc = await s.get(SimilarDoc, item_id)
    if target is None or doc is None:
        return
    if target.group_id is None:
        g = SimilarGroup(kind=(await s.get(Item, other_id)).kind, size=1, sum="", updated_at=now)  # type: ignore[union-attr]
        s.add(g)
        await s.flush()
        counts = model.decode(target.counts)
        g.sum = encode_sum({f: 1.0 for f in counts} if counts else {})
        target.group_id = g.id
    doc.group_id = target.group_id


# ---- everything at once ------------------------------------------------------------------


@dataclass
class RebuildReport:
    indexed: int  # items that had no index entry yet
    grouped: int  # items placed in groups
    groups: int  # groups with two or more items
    seconds_index: float
    seconds_cluster: float
    seconds_write: float


async def index_missing(db: Database, now: datetime, chunk: int = 2000) -> int:
    """Index every item that has no SimilarDoc yet (imported in bulk, or older than the index)."""
    done = 0
    while True:
        async with db.transaction() as s:
            items = (
                await s.scalars(
                    select(Item)
                    .outerjoin(SimilarDoc, SimilarDoc.item_id == Item.id)
                    .where(SimilarDoc.item_id.is_(None))
                    .order_by(Item.id)
                    .limit(chunk)
                )
            ).all()
            if not items:
                return done
            docs, posts = [], []
            for item in items:
                counts = item_counts(item)
                docs.append(
                    {
                        "item_id": item.id,
                        "counts": model.encode(counts),
                        "group_id": None,
                        "indexed_at": now,
                    }
                )
                posts += [{"feature": f, "item_id": item.id} for f in counts]
            await s.execute(insert(SimilarDoc), docs)
            if posts:
                await s.execute(insert(SimilarPosting), posts)
            done += len(items)


async def all_frequencies(s: AsyncSession) -> tuple[dict[str, int], int]:
    rows = await s.execute(
        select(SimilarPosting.feature, func.count()).group_by(SimilarPosting.feature)
    )
    df = {f: int(n) for f, n in rows.all()}
    n = int(await s.scalar(select(func.count()).select_from(SimilarDoc)) or 0)
    return df, n


async def rebuild(db: Database, now: datetime, open_only: bool = False) -> RebuildReport:
    """Regroup every live item (open, or closed in the last 90 days) with fresh weights."""
    t0 = time.perf_counter()
    indexed = await index_missing(db, now)
    t1 = time.perf_counter()
    async with db.transaction() as s:
        df, n = await all_frequencies(s)
        alive = (
            Item.state.in_(OPEN)
            if open_only
            else or_(Item.state.in_(OPEN), Item.closed_at >= now - RECENT)
        )
        rows = (
            await s.execute(
                select(SimilarDoc.item_id, SimilarDoc.counts, Item.kind)
                .join(Item, Item.id == SimilarDoc.item_id)
                .where(alive)
                .order_by(Item.created_at, Item.id)
            )
        ).all()
        links = (await s.execute(select(ItemLink.item_id, ItemLink.other_id))).all()
        merges = (
            await s.execute(
                select(Item.id, Item.merged_into_id).where(Item.merged_into_id.is_not(None))
            )
        ).all()
    groups = cluster_rows(rows, df, n, [*links, *merges])
    t2 = time.perf_counter()
    async with db.transaction() as s:
        await s.execute(update(SimilarDoc).values(group_id=None))
        await s.execute(delete(SimilarGroup))
        multi = [(kind, members, total) for kind, members, total in groups if len(members) > 1]
        written = 0
        for i in range(0, len(multi), 1000):
            chunk = multi[i : i + 1000]
            ids = (
                await s.scalars(
                    insert(SimilarGroup).returning(SimilarGroup.id, sort_by_parameter_order=True),
                    [
                        {"kind": k, "size": len(m), "sum": encode_sum(t), "updated_at": now}
                        for k, m, t in chunk
                    ],
                )
            ).all()
            rows_ = [
                {"item_id": iid, "group_id": gid}
                for gid, (_, members, _) in zip(ids, chunk, strict=True)
                for iid in members
            ]
            await s.execute(update(SimilarDoc), rows_)
            written += len(rows_)
    forget_cache()
    t3 = time.perf_counter()
    return RebuildReport(
        indexed=indexed,
        grouped=written,
        groups=len(multi),
        seconds_index=t1 - t0,
        seconds_cluster=t2 - t1,
        seconds_write=t3 - t2,
    )


def cluster_rows(
    rows: Sequence[tuple[int, str, str]],
    df: dict[str, int],
    n: int,
    links: Sequence[tuple[int, int | None]] = (),
) -> list[tuple[str, list[int], Vector]]:
    """Group (item id, encoded counts, kind) rows given oldest first; linked items together.

    Returns (kind, member ids, sum of member vectors) per group, singletons included.
    """
    vectors: dict[int, Vector] = {}
    kinds: dict[int, str] = {}
    for iid, counts, kind in rows:
        vectors[iid] = model.vector(model.decode(counts), lambda f: df.get(f, 1), max(n, 1))
        kinds[iid] = kind
    out: list[tuple[str, list[int], Vector]] = []
    for kind in sorted(set(kinds.values())):
        c = model.cluster((i, vectors[i]) for i in vectors if kinds[i] == kind)
        for a, b in links:
            if b is None or a not in c.of or b not in c.of or c.of[a] == c.of[b]:
                continue
            src, dst = c.groups[c.of[a]], c.groups[c.of[b]]
            c._move(a, vectors[a], src, dst)
        for g in c.groups.values():
            out.append((kind, sorted(g.members), g.sum))
    return out
