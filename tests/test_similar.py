"""Similar barriers: features, the index kept up to date as reports arrive, groups, rebuild."""

from __future__ import annotations

from sqlalchemy import create_engine, delete, func, select

from adapters.local import LocalChat
from bot.clock import FixedClock
from bot.db.models import Base, Item, SimilarDoc, SimilarGroup, SimilarPosting
from bot.similar import model, store
from bot.similar.text import features, language, words

SUB_TRAINING = [
    "Substitutes are not trained in the new reading curriculum",
    "Subs don't know how to run the literacy lessons so kids lose the reading block",
    "Los suplentes no recibieron capacitación en el nuevo programa de lectura",
    "Substitute teachers were never shown the phonics program, so reading time is lost",
]
SUB_PAY = "Substitute pay is so low that nobody takes jobs in our district"


def test_words_fold_accents_and_keep_contractions_whole() -> None:
    assert words("Capacitación — don't STOP") == ["capacitacion", "dont", "stop"]
    assert language(words("Los suplentes no recibieron capacitación")) == "es"
    assert language(words("The subs were not trained")) == "en"


def test_synonyms_and_spanish_meet_in_concepts() -> None:
    en = set(features("Subs were never trained on the literacy block"))
    es = set(features("Los suplentes no recibieron capacitación en lectura"))
    assert {"~substitute", "~training", "~reading"} <= en & es
    assert "never" not in en and "los" not in es  # stop words


def test_near_miss_scores_below_the_real_match() -> None:
    texts = [*SUB_TRAINING, SUB_PAY, "The buses arrive late every morning"]
    counts = [model.counts(t) for t in texts]
    df: dict[str, int] = {}
    for c in counts:
        for f in c:
            df[f] = df.get(f, 0) + 1
    vecs = [model.vector(c, lambda f: df[f], len(texts)) for c in counts]
    same = model.dot(vecs[0], vecs[1])
    pay = model.dot(vecs[0], vecs[4])
    bus = model.dot(vecs[0], vecs[5])
    assert same > pay > bus
    assert same >= model.THRESHOLD > pay


def test_counts_round_trip_through_storage_text() -> None:
    c = model.counts("Subs don't know the routines", "every Monday, every week")
    assert model.decode(model.encode(c)) == c


def test_clusters_group_paraphrases_and_keep_near_misses_apart() -> None:
    texts = [*SUB_TRAINING, SUB_PAY, "Subs are paid late and many stopped taking our jobs"]
    counts = [model.counts(t) for t in texts]
    df: dict[str, int] = {}
    for c in counts:
        for f in c:
            df[f] = df.get(f, 0) + 1
    clusters = model.cluster(
        (i, model.vector(x, lambda f: df[f], len(texts))) for i, x in enumerate(counts)
    )
    groups = sorted(sorted(g) for g in clusters.partition())
    assert [0, 1, 2, 3] in groups
    assert [4, 5] in groups


async def _report(chat: LocalChat, who: str, summary: str) -> Item:
    res = await chat.submit(who, "barrier", {"summary": summary})
    assert "Thanks" in res.text(), res.text()
    async with chat.rt.db.transaction() as s:
        item = (await s.scalars(select(Item).order_by(Item.id.desc()))).first()
        assert item is not None
        return item


async def test_reports_are_indexed_and_grouped_as_they_arrive(chat: LocalChat) -> None:
    first = await _report(chat, "carol", SUB_TRAINING[0])  # Lincoln
    second = await _report(chat, "ivan", SUB_TRAINING[1])  # Washington
    pay = await _report(chat, "maya", SUB_PAY)  # Oak Grove
    third = await _report(chat, "june", SUB_TRAINING[3])
    async with chat.rt.db.transaction() as s:
        docs = {d.item_id: d for d in (await s.scalars(select(SimilarDoc))).all()}
        assert set(docs) == {first.id, second.id, pay.id, third.id}
        assert docs[first.id].group_id is not None
        assert docs[first.id].group_id == docs[second.id].group_id == docs[third.id].group_id
        assert docs[pay.id].group_id != docs[first.id].group_id
        group = await s.get(SimilarGroup, docs[first.id].group_id)
        assert group is not None and group.size == 3
        postings = await s.scalar(
            select(func.count()).select_from(SimilarPosting).where(SimilarPosting.item_id == pay.id)
        )
        assert postings == len(docs[pay.id].counts.split())
        item = await s.get(Item, third.id)
        assert item is not None
        found = await store.similar_to(s, item)
        assert [m.item.id for m in found[:2]] == sorted(
            [first.id, second.id], key=lambda i: -next(m.score for m in found if m.item.id == i)
        )
        assert found[0].score > next(m.score for m in found if m.item.id == pay.id)


async def test_report_finds_the_live_similar_items(chat: LocalChat) -> None:
    first = await _report(chat, "carol", SUB_TRAINING[0])
    await _report(chat, "maya", SUB_PAY)
    async with chat.rt.db.transaction() as s:
        from bot.engine import Loop, ReportInput

        loop = Loop(s, chat.rt.clock, chat.rt.fanout)
        item = await loop.report("ivan", ReportInput(summary=SUB_TRAINING[2]))
        found = loop.found[item.id]
        assert [m.item.id for m in found.matches] == [first.id]


async def test_rebuild_indexes_missing_items_and_regroups(
    chat: LocalChat, clock: FixedClock
) -> None:
    ids = [
        (await _report(chat, who, text)).id
        for who, text in zip(["carol", "ivan", "maya", "june"], SUB_TRAINING, strict=True)
    ]
    pay = await _report(chat, "noah", SUB_PAY)
    async with chat.rt.db.transaction() as s:  # as if imported in bulk without the index
        await s.execute(delete(SimilarPosting))
        await s.execute(delete(SimilarDoc))
        await s.execute(delete(SimilarGroup))
    report = await store.rebuild(chat.rt.db, clock.now())
    assert report.indexed == 5 and report.grouped == 4 and report.groups == 1
    async with chat.rt.db.transaction() as s:
        docs = {d.item_id: d.group_id for d in (await s.scalars(select(SimilarDoc))).all()}
    assert len({docs[i] for i in ids}) == 1 and docs[ids[0]] is not None
    assert docs[pay.id] is None  # like nothing else: stands alone


def test_migrations_match_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.db.session import sync_url

    engine = create_engine(sync_url(db_url))
    with engine.connect() as conn:
        ours = set(Base.metadata.tables)  # not APScheduler's own table

        def include(obj: object, name: str | None, kind: str, *_: object) -> bool:
            table = obj if kind == "table" else getattr(obj, "table", None)
            return getattr(table, "name", name) in ours

        context = MigrationContext.configure(conn, opts={"include_object": include})
        diffs = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diffs == []


async def test_concurrent_similar_reports_never_deadlock(chat: LocalChat) -> None:
    """Thirty alike reports at once all commit (PostgreSQL runs them concurrently). The burst in
    test_faults found deadlocks when a report waited for a group's row; now it never waits for
    one (SKIP LOCKED) and writes at most one other row another report may write."""
    import asyncio

    from bot.engine import Loop, ReportInput

    people = ["carol", "dev", "erin", "femi", "ivan", "june", "kofi", "lena", "maya", "noah"]
    await _report(chat, "alice", SUB_TRAINING[0])
    await _report(chat, "hana", SUB_TRAINING[1])

    async def one(k: int) -> int:
        async with chat.rt.db.transaction() as s:
            loop = Loop(s, chat.rt.clock, chat.rt.fanout)
            text = [*SUB_TRAINING, SUB_PAY][k % 5] + f" (room {k})"
            item = await loop.report(people[k % len(people)], ReportInput(summary=text))
            return item.id

    ids = await asyncio.gather(*(one(k) for k in range(30)))
    assert len(set(ids)) == 30
    async with chat.rt.db.transaction() as s:
        groups = (
            await s.scalars(select(SimilarDoc.group_id).where(SimilarDoc.item_id.in_(ids)))
        ).all()
    assert len(groups) == 30 and sum(g is not None for g in groups) >= 24
