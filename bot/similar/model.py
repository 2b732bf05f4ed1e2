"""How alike two reports are, and how reports group into clusters (pure Python, no database).

A report is a sparse vector: each feature of `bot.similar.text.features` weighted by
`(1 + ln tf) * idf`, concepts boosted, the summary counting more than the details, scaled to
length 1. Two reports' similarity is the dot product of their vectors (cosine, 0..1).

Clusters are group-average clusters: a report belongs with a group when its mean similarity
to the group's members reaches `threshold`. With unit vectors that mean is `x . sum / size`,
so a cluster is kept as the sum of its members' vectors and joining is O(features).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from bot.similar.text import features

Vector = dict[str, float]

CONCEPT_BOOST = 1.6  # a shared concept counts this much more than a shared word
DETAILS_WEIGHT = 0.5  # the details' words count half as much as the summary's
THRESHOLD = 0.24  # mean similarity to a cluster's members needed to join it
TOP_FEATURES = 8  # a cluster is found through its heaviest features
PROBE = 4  # ... by a report through its own heaviest ones
REFINE_PASSES = 2
SHORTLIST = 6  # groups scored in full for one report
SAMPLE = 20_000  # beyond this many reports, cluster a sample and assign the rest


def counts(summary: str, details: str = "") -> dict[str, float]:
    """Raw feature counts of one report (what is stored with the item)."""
    c: dict[str, float] = {}
    for f in features(summary):
        c[f] = c.get(f, 0.0) + 1.0
    if details:
        for f in features(details):
            c[f] = c.get(f, 0.0) + DETAILS_WEIGHT
    return c


def encode(c: Mapping[str, float]) -> str:
    """Counts as stored text: 'feature:count feature:count' (counts in halves)."""
    return " ".join(f"{f}:{v:g}" for f, v in sorted(c.items()))


def decode(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in text.split():
        f, _, v = part.rpartition(":")
        if f:
            out[f] = float(v)
    return out


def idf(df: int, n: int) -> float:
    return math.log((n + 1) / (df + 1)) + 1.0


def weight(f: str, tf: float, df: int, n: int) -> float:
    """One feature's weight before scaling: (1 + ln tf) * idf, concepts boosted."""
    w = (1.0 + math.log(tf)) if tf >= 1 else tf
    w *= idf(df, n)
    return w * CONCEPT_BOOST if f.startswith("~") else w


def weights(c: Mapping[str, float], df: Callable[[str], int], n: int) -> Vector:
    return {f: weight(f, tf, df(f), n) for f, tf in c.items() if tf > 0}


def length(v: Mapping[str, float]) -> float:
    return math.sqrt(sum(w * w for w in v.values()))


def vector(c: Mapping[str, float], df: Callable[[str], int], n: int) -> Vector:
    """The unit vector of feature counts `c`, given document frequencies over `n` reports."""
    v = weights(c, df, n)
    norm = length(v)
    if norm == 0:
        return {}
    return {f: w / norm for f, w in v.items()}


def dot(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(f, 0.0) for f, w in a.items())


def top(v: Mapping[str, float], k: int = TOP_FEATURES) -> list[str]:
    return [f for f, _ in heapq.nlargest(k, v.items(), key=lambda fw: fw[1])]


@dataclass
class Group:
    id: int
    sum: Vector = field(default_factory=dict)
    members: list[int] = field(default_factory=list)
    keys: tuple[str, ...] = ()  # the features it is indexed under

    def add(self, key: int, v: Mapping[str, float]) -> None:
        self.members.append(key)
        for f, w in v.items():
            self.sum[f] = self.sum.get(f, 0.0) + w

    def mean_similarity(self, v: Mapping[str, float]) -> float:
        return dot(v, self.sum) / len(self.members) if self.members else 0.0


class Clusters:
    """Group-average clustering, one report at a time, with an index over the groups.

    `add` puts a report in the group it is most like (mean similarity >= threshold) or in a new
    group of its own; `merge` then joins groups whose mean pairwise similarity reaches the
    threshold (best pair first). Deterministic for a given order of `add`.
    """

    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self.groups: dict[int, Group] = {}
        self.of: dict[int, int] = {}  # report key -> group id
        self._index: dict[str, set[int]] = {}
        self._next = 0

    def candidates(self, v: Mapping[str, float], limit: int = PROBE) -> set[int]:
        """Groups indexed under one of the heaviest features of `v`."""
        found: set[int] = set()
        for f in top(v, limit):
            found |= self._index.get(f, set())
        return found

    def best(self, v: Mapping[str, float], exclude: int | None = None) -> tuple[int | None, float]:
        """The group `v` is most like, and its mean similarity (ties: the older group)."""
        found = self.candidates(v)
        found.discard(exclude)
        if not found:
            return None, 0.0
        groups = self.groups
        items = list(v.items())
        if len(found) > SHORTLIST:  # rank by the heaviest features first, score the best few
            heads = heapq.nlargest(3, items, key=lambda fw: fw[1])
            rough = []
            for gid in found:
                g = groups[gid]
                get = g.sum.get
                t = 0.0
                for f, w in heads:
                    t += w * get(f, 0.0)
                rough.append((t / len(g.members), gid))
            found = {gid for _, gid in heapq.nlargest(SHORTLIST, rough)}
        best_id, best_score = None, 0.0
        for gid in sorted(found):
            g = groups[gid]
            get = g.sum.get
            t = 0.0
            for f, w in items:
                t += w * get(f, 0.0)
            score = t / len(g.members)
            if score > best_score:
                best_id, best_score = gid, score
        return best_id, best_score

    def add(self, key: int, v: Mapping[str, float]) -> int:
        gid, score = self.best(v)
        if gid is None or score < self.threshold:
            gid = self._new()
        group = self.groups[gid]
        group.add(key, v)
        self.of[key] = gid
        self._reindex(group)
        return gid

    def _new(self) -> int:
        gid = self._next
        self._next += 1
        self.groups[gid] = Group(gid)
        return gid

    def _reindex(self, g: Group) -> None:
        size = len(g.members)
        if size > 2 and size & (size - 1):  # re-rank its features at sizes 1, 2, 4, 8, ...
            return
        keys = tuple(top(g.sum))
        for f in g.keys:
            if f not in keys:
                self._index.get(f, set()).discard(g.id)
        for f in keys:
            self._index.setdefault(f, set()).add(g.id)
        g.keys = keys

    def _drop(self, g: Group) -> None:
        for f in g.keys:
            self._index.get(f, set()).discard(g.id)
        del self.groups[g.id]

    def merge(self) -> int:
        """Join groups whose mean pairwise similarity reaches the threshold, best pair first;
        returns how many merges were made."""
        heap: list[tuple[float, int, int]] = []
        for g in list(self.groups.values()):
            self._push_pairs(g, heap)
        merged = 0
        while heap:
            _, a_id, b_id = heapq.heappop(heap)
            a, b = self.groups.get(a_id), self.groups.get(b_id)
            if a is None or b is None or self._pair_score(a, b) < self.threshold:
                continue
            self._absorb(a, b)
            merged += 1
            self._push_pairs(a, heap)
        return merged

    @staticmethod
    def _pair_score(a: Group, b: Group) -> float:
        """The mean similarity over every pair of members, one from each group."""
        return dot(a.sum, b.sum) / (len(a.members) * len(b.members))

    def _push_pairs(self, a: Group, heap: list[tuple[float, int, int]]) -> None:
        for gid in self.candidates(a.sum, TOP_FEATURES):
            if gid == a.id:
                continue
            score = self._pair_score(a, self.groups[gid])
            if score >= self.threshold:
                heapq.heappush(heap, (-score, min(a.id, gid), max(a.id, gid)))

    def _absorb(self, a: Group, b: Group) -> None:
        """Group `a` takes `b`'s members; `b` is gone."""
        for key in b.members:
            self.of[key] = a.id
        a.members.extend(b.members)
        for f, w in b.sum.items():
            a.sum[f] = a.sum.get(f, 0.0) + w
        self._drop(b)
        keys = tuple(top(a.sum))
        for f in a.keys:
            if f not in keys:
                self._index.get(f, set()).discard(a.id)
        for f in keys:
            self._index.setdefault(f, set()).add(a.id)
        a.keys = keys

    def refine(self, vectors: Mapping[int, Mapping[str, float]]) -> int:
        """Move each report to the group it is now most like (groups grew after it joined);
        a report no group is close enough to stands alone. Returns how many moved."""
        moved = 0
        for key in list(self.of):
            v = vectors[key]
            here = self.groups[self.of[key]]
            n = len(here.members)
            own = (dot(v, here.sum) - dot(v, v)) / (n - 1) if n > 1 else 0.0
            gid, score = self.best(v, exclude=here.id)
            if gid is not None and score > own and score >= self.threshold:
                target = self.groups[gid]
            elif n > 1 and own < self.threshold:
                target = self.groups[self._new()]
            else:
                continue
            self.move(key, v, here, target)
            moved += 1
        return moved

    def move(self, key: int, v: Mapping[str, float], src: Group, dst: Group) -> None:
        src.members.remove(key)
        for f, w in v.items():
            left = src.sum.get(f, 0.0) - w
            if left > 1e-9:
                src.sum[f] = left
            else:
                src.sum.pop(f, None)
        dst.add(key, v)
        self.of[key] = dst.id
        if not src.members:
            self._drop(src)
        else:
            self._reindex(src)
        self._reindex(dst)

    def partition(self) -> list[list[int]]:
        return [list(g.members) for g in self.groups.values()]


def cluster(
    vectors: Iterable[tuple[int, Mapping[str, float]]],
    threshold: float = THRESHOLD,
    sample: int = SAMPLE,
) -> Clusters:
    """Cluster (key, vector) pairs given in order (oldest first).

    Up to `sample` reports: add all, merge, refine. Beyond it, that is done for an evenly
    spread sample, and every other report then joins the group it is most like (or stands
    alone), so the cost grows linearly with the number of reports.
    """
    given = list(vectors)
    step = max(1, -(-len(given) // sample))
    first = given[::step]
    c = Clusters(threshold)
    kept: dict[int, Mapping[str, float]] = {}
    for key, v in first:
        kept[key] = v
        c.add(key, v)
    c.merge()
    for _ in range(REFINE_PASSES):
        if not c.refine(kept):
            break
        c.merge()
    if step > 1:
        for i, (key, v) in enumerate(given):
            if i % step:
                c.add(key, v)
    return c
