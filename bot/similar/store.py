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

import heapq
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Item, ItemLink, SimilarDoc, SimilarGroup, SimilarMatch, SimilarPosting
from bot.db.session import Database
from bot.domain import OPEN_STATES, State
from bot.similar import model
from bot.similar.model import Vector

RECENT = timedelta(days=90)  # closed items stay findable (and grouped) this long
CANDIDATES = 200  # items scored exactly for one new item
PROBE_BUDGET = 10_000  # postings read at most to find candidates
MAX_FEATURE = 80
SUM_FEATURES = 300
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
    """The database's cache. By its engine's URL: a session bound to a connection (SQLite's
    group commit) has a new connection object every group, and keying by it kept one cache
    per group for ever (found by bench/memory.py --tracemalloc)."""
    bind = s.get_bind()
    key = str(bind.engine.url)
    cache = _caches.get(key)
    if cache is None:
        cache = _caches[key] = _Cache()
    return cache


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


async def _store(
    s: AsyncSession,
    item: Item,
    counts: dict[str, float],
    norm: float,
    group_id: int | None,
    now: datetime,
) -> None:
    s.add(
        SimilarDoc(
            item_id=item.id,
            counts=model.encode(counts),
            norm=norm,
            group_id=group_id,
            indexed_at=now,
        )
    )
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


def live(state: str, closed_at: datetime | None, now: datetime) -> bool:
    """Open, or closed recently enough to still be worth pointing at."""
    if state in OPEN_STATES:
        return True
    return closed_at is not None and closed_at >= now - RECENT


async def index_item(s: AsyncSession, item: Item, now: datetime, remember: bool = True) -> Found:
    """Store `item` in the index, put it in its group and return the live items most like it
    (remembered as its matches, for its card and its reporter, unless `remember` is False)."""
    counts = item_counts(item)
    n = await doc_count(s) + 1
    known = await frequencies(s, counts)
    df = {f: known.get(f, 0) + 1 for f in counts}  # this item counts too
    raw = model.weights(counts, df.__getitem__, n)
    norm = model.length(raw) or 1.0
    x = {f: w / norm for f, w in raw.items()}
    ids = await candidates(s, x, known, n, exclude=item.id)
    scored = await _score(s, x, df, ids, n)
    group_id = await _place(s, item, x, scored, now)
    await _store(s, item, counts, norm, group_id, now)
    found = Found(group_id, await _suggestions(s, item, scored, group_id, now))
    if remember:
        for m in found.matches:
            s.add(SimilarMatch(item_id=item.id, other_id=m.item.id, score=m.score, created_at=now))
    return found


@dataclass
class _Scored:
    id: int
    kind: str
    state: str
    closed_at: datetime | None
    counts: dict[str, float]
    norm: float
    group_id: int | None
    score: float

    def is_live(self, now: datetime) -> bool:
        return self.state != State.MERGED and live(self.state, self.closed_at, now)


async def _score(
    s: AsyncSession, x: Vector, df: dict[str, int], ids: Sequence[int], n: int
) -> list[_Scored]:
    """Exact similarity of `x` to each candidate, from the shared features and the candidate's
    stored length (so only `x`'s own frequencies are needed)."""
    if not ids:
        return []
    rows = (
        await s.execute(
            select(
                Item.id,
                Item.kind,
                Item.state,
                Item.closed_at,
                SimilarDoc.counts,
                SimilarDoc.norm,
                SimilarDoc.group_id,
            )
            .join(SimilarDoc, SimilarDoc.item_id == Item.id)
            .where(Item.id.in_(list(ids)))
        )
    ).all()
    # model.weight's factors that do not depend on the candidate, once (same arithmetic)
    terms = [(f, xw, model.idf(df[f], n), f.startswith("~")) for f, xw in x.items()]
    out = []
    for iid, kind, state, closed_at, encoded, norm, gid in rows:
        c = model.decode(encoded)
        score = 0.0
        for f, xw, idf, concept in terms:
            tf = c.get(f)
            if tf:
                w = ((1.0 + math.log(tf)) if tf >= 1 else tf) * idf
                score += xw * (w * model.CONCEPT_BOOST if concept else w)
        out.append(_Scored(iid, kind, state, closed_at, c, norm or 1.0, gid, score / (norm or 1.0)))
    out.sort(key=lambda d: (-d.score, d.id))
    return out


async def _vector_of(s: AsyncSession, d: _Scored, n: int) -> Vector:
    df = await frequencies(s, d.counts)
    return model.vector(d.counts, lambda f: df.get(f, 1), n)


async def _place(
    s: AsyncSession, item: Item, x: Vector, scored: list[_Scored], now: datetime
) -> int | None:
    """The group `item` joins: the one it is most like (mean similarity >= threshold), or a new
    pair with the live item it is most like when that one stands alone; else None (alone).

    Concurrent reports never deadlock: a report that joins a group adds itself to the group's
    sum only if no other transaction holds that row (`FOR UPDATE SKIP LOCKED`; it never waits
    for it, and `rebuild` recomputes every sum anyway), and a report that forms a pair writes
    exactly one row another report may write (the doc of the item it pairs with).
    """
    by_group: dict[int, list[_Scored]] = {}
    alone: _Scored | None = None
    for d in scored:
        if d.kind != item.kind or d.score <= 0:
            continue
        if d.group_id is not None:
            by_group.setdefault(d.group_id, []).append(d)
        elif alone is None and d.is_live(now):
            alone = d
    best: tuple[float, int] | None = None
    if by_group:
        q = select(SimilarGroup.id, SimilarGroup.size, SimilarGroup.sum).where(
            SimilarGroup.id.in_(list(by_group))
        )
        for gid, size, total in (await s.execute(q)).all():
            mean = model.dot(x, model.decode(total)) / max(size, 1)
            if best is None or (mean, -gid) > (best[0], -best[1]):
                best = (mean, gid)
    pair = alone.score if alone is not None else 0.0
    if best is not None and best[0] >= model.THRESHOLD and best[0] >= pair:
        free = (
            await s.scalars(
                select(SimilarGroup)
                .where(SimilarGroup.id == best[1])
                .with_for_update(skip_locked=True)
            )
        ).first()
        if free is not None:
            free.sum = encode_sum(_plus(model.decode(free.sum), x))
            free.size += 1
            free.updated_at = now
        return best[1]
    if alone is None or pair < model.THRESHOLD:
        return None
    v = await _vector_of(s, alone, await doc_count(s))
    g = SimilarGroup(kind=item.kind, size=2, sum=encode_sum(_plus(v, x)), updated_at=now)
    s.add(g)
    await s.flush()
    await s.execute(update(SimilarDoc).where(SimilarDoc.item_id == alone.id).values(group_id=g.id))
    alone.group_id = g.id
    return g.id


def _plus(total: Vector, v: Vector) -> Vector:
    out = dict(total)
    for f, w in v.items():
        out[f] = out.get(f, 0.0) + w
    return out


def encode_sum(v: Vector) -> str:
    """A group's sum as stored: its SUM_FEATURES heaviest features (the long tail of words
    that one or two members use barely moves the mean similarity, and would make the sums of
    large groups slow to read)."""
    kept = heapq.nlargest(SUM_FEATURES, ((w, f) for f, w in v.items() if w > 1e-6))
    return " ".join(f"{f}:{w:.4g}" for w, f in sorted(kept, key=lambda wf: wf[1]))


async def _suggestions(
    s: AsyncSession, item: Item, scored: list[_Scored], group_id: int | None, now: datetime
) -> list[Match]:
    out: list[Match] = []
    if group_id is None:
        return out
    for d in scored:
        if d.group_id != group_id or d.kind != item.kind or d.id == item.id:
            continue
        if d.score < MIN_PAIR or not d.is_live(now):
            continue
        found = await s.get(Item, d.id)
        if found is not None:
            out.append(Match(found, d.score))
        if len(out) >= SUGGEST:
            break
    return out


async def similar_to(s: AsyncSession, item: Item, limit: int = 10) -> list[Match]:
    """The indexed items most like `item` (any state), best first, with their scores."""
    doc = await s.get(SimilarDoc, item.id)
    counts = model.decode(doc.counts) if doc is not None else item_counts(item)
    n = max(await doc_count(s), 1)
    known = await frequencies(s, counts)
    df = {f: max(known.get(f, 0), 1) for f in counts}
    x = model.vector(counts, df.__getitem__, n)
    ids = await candidates(s, x, known, n, exclude=item.id)
    scored = [d for d in await _score(s, x, df, ids, n) if d.score > 0][:limit]
    items = {
        i.id: i
        for i in (await s.scalars(select(Item).where(Item.id.in_([d.id for d in scored])))).all()
    }
    return [Match(items[d.id], d.score) for d in scored if d.id in items]


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


@dataclass
class Related:
    """What an item's card says about other items."""

    similar: list[Item]  # found alike when it arrived, still live, not linked to it
    linked_to: list[Item]  # items it was linked to (by a lead) or gave its voice to
    joined_by: list[ItemLink]  # links and voices other items gave it


async def related(s: AsyncSession, item: Item, now: datetime) -> Related:
    links = (
        await s.scalars(
            select(ItemLink)
            .where(or_(ItemLink.item_id == item.id, ItemLink.other_id == item.id))
            .order_by(ItemLink.id)
        )
    ).all()
    out_ids = [link.other_id for link in links if link.item_id == item.id]
    joined = [link for link in links if link.other_id == item.id]
    matched = (
        await s.scalars(
            select(SimilarMatch.other_id)
            .where(SimilarMatch.item_id == item.id)
            .order_by(SimilarMatch.score.desc(), SimilarMatch.other_id)
        )
    ).all()
    near = {link.item_id for link in joined} | set(out_ids) | {item.merged_into_id or 0}
    similar: list[Item] = []
    for oid in matched:
        other = await s.get(Item, oid)
        while other is not None and other.state == State.MERGED and other.merged_into_id:
            other = await s.get(Item, other.merged_into_id)  # point at what it became
        if other is None or other.id == item.id or other.id in near:
            continue
        if live(other.state, other.closed_at, now) and other not in similar:
            similar.append(other)
    linked = [i for i in [await s.get(Item, oid) for oid in out_ids] if i is not None]
    return Related(similar, linked, list(joined))


async def followers(s: AsyncSession, item: Item) -> list[Item]:
    """Items whose reporters also hear `item`'s response: merged into it, linked to it, or
    whose reporter added their voice to it."""
    linked = (await s.scalars(select(ItemLink.item_id).where(ItemLink.other_id == item.id))).all()
    merged = (await s.scalars(select(Item.id).where(Item.merged_into_id == item.id))).all()
    ids = sorted(set(linked) | set(merged))
    if not ids:
        return []
    return list((await s.scalars(select(Item).where(Item.id.in_(ids)).order_by(Item.id))).all())


# ---- everything at once ------------------------------------------------------------------


@dataclass
class RebuildReport:
    indexed: int  # items that had no index entry yet
    loaded: int  # live items considered
    grouped: int  # items placed in groups of two or more
    groups: int  # groups of two or more items
    seconds_index: float
    seconds_read: float
    seconds_cluster: float
    cpu_cluster: float  # CPU seconds of this process (the wall time grows on a busy machine)
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
                        "norm": 0.0,  # unknown until rebuild has the frequencies of all items
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
    """Regroup every live item (open, or closed in the last 90 days) with fresh weights.

    `open_only`: group open items only (what the leaders' views show).
    """
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
                select(SimilarDoc.item_id, SimilarDoc.counts, SimilarDoc.norm, Item.kind)
                .join(Item, Item.id == SimilarDoc.item_id)
                .where(alive)
                .order_by(Item.created_at, Item.id)
            )
        ).all()
        unweighed = (
            await s.execute(
                select(SimilarDoc.item_id, SimilarDoc.counts).where(SimilarDoc.norm == 0)
            )
        ).all()
        links = (await s.execute(select(ItemLink.item_id, ItemLink.other_id))).all()
        merges = (
            await s.execute(
                select(Item.id, Item.merged_into_id).where(Item.merged_into_id.is_not(None))
            )
        ).all()
    t2, cpu = time.perf_counter(), time.process_time()
    grouping = cluster_rows([(i, c, k) for i, c, _, k in rows], df, n, [*links, *merges])
    t3, cpu = time.perf_counter(), time.process_time() - cpu
    norms = {i: old for i, _, old, _ in rows}
    for iid, encoded in unweighed:
        norms.setdefault(iid, 0.0)
        grouping.norms.setdefault(iid, _length(encoded, df, n))
    async with db.transaction() as s:
        await s.execute(update(SimilarDoc).values(group_id=None))
        await s.execute(delete(SimilarGroup))
        multi = [g for g in grouping.groups if len(g[1]) > 1]
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
            member_rows = [
                {"item_id": iid, "group_id": gid, "norm": grouping.norms[iid]}
                for gid, (_, members, _) in zip(ids, chunk, strict=True)
                for iid in members
            ]
            await s.execute(update(SimilarDoc), member_rows)
            written += len(member_rows)
        grouped = {iid for _, members, _ in multi for iid in members}
        changed = [
            {"item_id": iid, "norm": new}
            for iid, new in grouping.norms.items()
            if iid not in grouped and abs(new - norms.get(iid, 0.0)) > 0.01 * max(new, 1e-9)
        ]
        for i in range(0, len(changed), 5000):
            await s.execute(update(SimilarDoc), changed[i : i + 5000])
    forget_cache()
    t4 = time.perf_counter()
    return RebuildReport(
        indexed=indexed,
        loaded=len(rows),
        grouped=written,
        groups=len(multi),
        seconds_index=t1 - t0,
        seconds_read=t2 - t1,
        seconds_cluster=t3 - t2,
        cpu_cluster=cpu,
        seconds_write=t4 - t3,
    )


def _length(encoded: str, df: dict[str, int], n: int) -> float:
    return model.length(model.weights(model.decode(encoded), lambda f: df.get(f, 1), max(n, 1)))


@dataclass
class Grouping:
    groups: list[tuple[str, list[int], Vector]]  # (kind, member ids, sum of their vectors)
    norms: dict[int, float]  # each item's length of weights, for later exact scoring


def cluster_rows(
    rows: Sequence[tuple[int, str, str]],
    df: dict[str, int],
    n: int,
    links: Sequence[tuple[int, int | None]] = (),
) -> Grouping:
    """Group (item id, encoded counts, kind) rows given oldest first; linked items together."""
    vectors: dict[int, Vector] = {}
    kinds: dict[int, str] = {}
    norms: dict[int, float] = {}
    for iid, counts, kind in rows:
        raw = model.weights(model.decode(counts), lambda f: df.get(f, 1), max(n, 1))
        norm = model.length(raw) or 1.0
        norms[iid] = norm
        vectors[iid] = {f: w / norm for f, w in raw.items()}
        kinds[iid] = kind
    out: list[tuple[str, list[int], Vector]] = []
    for kind in sorted(set(kinds.values())):
        c = model.cluster((i, vectors[i]) for i in vectors if kinds[i] == kind)
        for a, b in links:
            if b is None or a not in c.of or b not in c.of or c.of[a] == c.of[b]:
                continue
            c.move(a, vectors[a], c.groups[c.of[a]], c.groups[c.of[b]])
        for g in c.groups.values():
            out.append((kind, sorted(g.members), g.sum))
    return Grouping(out, norms)
