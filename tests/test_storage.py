"""The SQLite store: pragmas, migrations, writes in step with the search index, subscribers, backup."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import FeedSpec, NewArticle, ProjectRef, Storage, StorageError, Subscriber, fts_query
from storage.migrations import LATEST_VERSION

NOW = datetime(2025, 8, 8, 9, 0, tzinfo=UTC)


async def _feed(storage: Storage, url: str = "https://example.kz/rss", name: str = "Пример") -> int:
    feeds = await storage.feeds.sync([FeedSpec(url=url, name=name, lang="ru")], NOW)
    return next(f.id for f in feeds if f.url == url)


def _article(feed_id: int, n: int, **kw: object) -> NewArticle:
    base = dict(
        feed_id=feed_id,
        url=f"https://example.kz/news/{n}",
        guid=f"g{n}",
        title=f"Заголовок {n}",
        summary="Текст",
        lang="ru",
        published_at=NOW - timedelta(minutes=n),
        first_seen_at=NOW,
    )
    base.update(kw)
    return NewArticle(**base)  # type: ignore[arg-type]


async def test_fresh_database_is_wal_with_foreign_keys_and_latest_schema(storage: Storage, db_path: Path) -> None:
    async with storage.db.conn.execute("PRAGMA journal_mode") as cur:
        assert (await cur.fetchone())[0] == "wal"
    async with storage.db.conn.execute("PRAGMA foreign_keys") as cur:
        assert (await cur.fetchone())[0] == 1
    assert await storage.db.schema_version() == LATEST_VERSION
    assert db_path.exists()


async def test_reopening_does_not_rerun_migrations(db_path: Path) -> None:
    first = await Storage.open(db_path)
    feed_id = await _feed(first)
    await first.articles.insert_many([_article(feed_id, 1)])
    await first.close()
    again = await Storage.open(db_path)
    try:
        assert await again.articles.count() == 1
    finally:
        await again.close()


async def test_database_from_a_newer_program_is_refused_clearly(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    conn.close()
    with pytest.raises(StorageError, match="newer than this program"):
        await Storage.open(db_path)


async def test_upgrade_from_first_schema_keeps_articles(db_path: Path) -> None:
    from storage.migrations import MIGRATIONS

    conn = sqlite3.connect(db_path)
    conn.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.execute("INSERT INTO feeds (url, name, created_at) VALUES ('https://a.kz/rss', 'A', 0)")
    conn.execute(
        "INSERT INTO articles (feed_id, url, title, lang, published_at, first_seen_at) "
        "VALUES (1, 'https://a.kz/1', 'Старое', 'ru', 0, 0)"
    )
    conn.commit()
    conn.close()
    store = await Storage.open(db_path)
    try:
        assert await store.db.schema_version() == LATEST_VERSION
        assert await store.articles.count() == 1
        assert [a.title for a in await store.articles.search("старое")] == ["Старое"]
    finally:
        await store.close()


async def test_search_index_follows_inserts_and_deletes_with_yo_folding(storage: Storage) -> None:
    feed_id = await _feed(storage)
    await storage.articles.insert_many(
        [
            _article(feed_id, 1, title="Ещё один завод метанола", summary="Строительство идёт"),
            _article(feed_id, 2, title="Погода в Уральске", summary="Дождь"),
        ]
    )
    assert [a.title for a in await storage.articles.search("еще завод")] == ["Ещё один завод метанола"]
    assert [a.title for a in await storage.articles.search("идет")] == ["Ещё один завод метанола"]
    assert [a.title for a in await storage.articles.search("метан")] == ["Ещё один завод метанола"]
    async with storage.db.write() as conn:
        await conn.execute("DELETE FROM articles WHERE title LIKE 'Ещё%'")
    assert await storage.articles.search("метанола") == []


@pytest.mark.parametrize(
    "query",
    ['"', '"unbalanced', "*", "NEAR(a b)", "-минус", "a OR", "title:x", "(((", "^", "<b>x</b>", "🙂", "א ב", "x" * 4000],
)
async def test_any_search_input_is_plain_words_and_never_errors(storage: Storage, query: str) -> None:
    feed_id = await _feed(storage)
    await storage.articles.insert_many([_article(feed_id, 1, title="Минус три градуса")])
    await storage.articles.search(query)


def test_fts_query_quotes_every_term_as_a_prefix() -> None:
    assert fts_query('Сатимола "калий" NEAR -x') == '"Сатимола"* "калий"* "NEAR"* "x"'
    assert fts_query("АЭС в ЗКО") == '"АЭС"* "в" "ЗКО"*'  # one or two letters: the whole word only
    assert fts_query("ёлка") == '"елка"*'
    assert fts_query("  *** ") is None


async def test_duplicate_url_is_ignored_and_reported_as_none(storage: Storage) -> None:
    feed_id = await _feed(storage)
    ids = await storage.articles.insert_many([_article(feed_id, 1), _article(feed_id, 1, guid="other")])
    assert ids[0] is not None and ids[1] is None


async def test_projects_merge_by_key_across_languages(storage: Storage) -> None:
    feed_id = await _feed(storage)
    ru = ProjectRef(key="satimola", name="Сатимола", known=True, name_ru="Сатимола", name_kk="Сәтімола")
    kk = ProjectRef(key="satimola", name="Сәтімола", known=True)
    await storage.articles.insert_many(
        [
            _article(feed_id, 1, projects=(ru,)),
            _article(feed_id, 2, lang="kk", title="Сәтімола кен орны", projects=(kk,)),
        ]
    )
    projects = await storage.projects.all()
    assert [(p.key, p.mentions, p.display_name("kk"), p.display_name("ru")) for p in projects] == [
        ("satimola", 2, "Сәтімола", "Сатимола")
    ]


async def test_reprint_joins_story_of_original_and_is_listed_as_its_source(storage: Storage) -> None:
    feed_a = await _feed(storage, "https://a.kz/rss", "A")
    feed_b = await _feed(storage, "https://b.kz/rss", "B")
    [orig] = await storage.articles.insert_many([_article(feed_a, 1, topics=("investments",))])
    [copy] = await storage.articles.insert_many(
        [_article(feed_b, 2, url="https://b.kz/x", reprint_of=orig, topics=("investments",))]
    )
    stored = await storage.articles.get(copy)  # type: ignore[arg-type]
    assert stored is not None and stored.story_id == orig
    fresh = await storage.articles.fresh(
        topics=["investments"], langs=["ru"], since=NOW - timedelta(days=1), until=NOW + timedelta(seconds=1)
    )
    assert [a.id for a in fresh] == [orig]
    assert [(r.feed_name, r.url) for r in fresh[0].reprints] == [("B", "https://b.kz/x")]


async def test_second_subscribe_keeps_choices_and_reactivates(storage: Storage) -> None:
    sub, created = await storage.subscribers.subscribe(
        42, user_id=42, ui_lang="kk", topics=["investments", "china"], digest_time="09:00",
        timezone="Asia/Almaty", now=NOW,
    )
    assert created and sub.topics == ("china", "investments") and sub.ui_lang == "kk"
    await storage.subscribers.update(42, NOW, digest_time="07:30")
    await storage.subscribers.deactivate(42, "stopped", NOW)
    again, created = await storage.subscribers.subscribe(
        42, user_id=42, ui_lang="ru", topics=["energy"], digest_time="09:00", timezone="Asia/Almaty", now=NOW
    )
    assert not created
    assert (again.active, again.ui_lang, again.digest_time, again.topics) == (True, "kk", "07:30", ("china", "investments"))


async def test_subscribers_added_in_bulk_read_back_as_written(storage: Storage) -> None:
    written = [
        Subscriber(
            chat_id=7, user_id=7, ui_lang="kk", news_langs="kk", digest_time="07:30", timezone="Asia/Almaty",
            active=True, paused=True, notify_empty=False, topics=("china", "energy"), last_digest_date="2025-10-07",
            last_digest_at=NOW - timedelta(hours=20), created_at=NOW - timedelta(days=3),
        ),
        Subscriber(
            chat_id=-1001, user_id=None, ui_lang="ru", news_langs="both", digest_time="09:00", timezone="Asia/Almaty",
            active=True, paused=False, notify_empty=True, topics=("investments",), last_digest_date=None,
            last_digest_at=None, created_at=NOW,
        ),
    ]  # fmt: skip
    await storage.subscribers.add_many(written, NOW)
    assert [await storage.subscribers.get(s.chat_id) for s in written] == written
    assert [s.chat_id for s in await storage.subscribers.active()] == [-1001]  # the paused one gets no digest


async def test_migrated_chat_keeps_topics(storage: Storage) -> None:
    await storage.subscribers.subscribe(
        -100, user_id=None, ui_lang="ru", topics=["energy"], digest_time="09:00", timezone="Asia/Almaty", now=NOW
    )
    await storage.subscribers.migrate_chat(-100, -1001234, NOW)
    assert await storage.subscribers.get(-100) is None
    moved = await storage.subscribers.get(-1001234)
    assert moved is not None and moved.topics == ("energy",)


async def test_backup_is_a_consistent_openable_copy(storage: Storage, tmp_path: Path) -> None:
    feed_id = await _feed(storage)
    await storage.articles.insert_many([_article(feed_id, n) for n in range(50)])
    target = await storage.backup(tmp_path / "copy" / "backup.sqlite3")
    copy = await Storage.open(target)
    try:
        assert await copy.articles.count() == 50
        assert len(await copy.articles.search("заголовок")) == 10
    finally:
        await copy.close()
    with pytest.raises(StorageError, match="already exists"):
        await storage.backup(target)


async def test_feed_failure_and_recovery_are_recorded(storage: Storage) -> None:
    feed_id = await _feed(storage)
    await storage.feeds.record_failure(feed_id, now=NOW, reason="HTTP 500", next_attempt_at=NOW + timedelta(minutes=5))
    await storage.feeds.record_failure(feed_id, now=NOW, reason="HTTP 502", next_attempt_at=NOW + timedelta(minutes=10))
    state = await storage.feeds.get(feed_id)
    assert state is not None and (state.failure_count, state.last_error) == (2, "HTTP 502")
    counts = await storage.stats.counts()
    assert (counts.feeds_ok, counts.feeds_failing) == (0, 1)
    await storage.feeds.record_success(
        feed_id, now=NOW, status="ok", etag='"v1"', last_modified=None, body_sha256="ab", problem=None
    )
    state = await storage.feeds.get(feed_id)
    assert state is not None and (state.failure_count, state.last_error, state.etag) == (0, None, '"v1"')
