"""A whole ingestion pass against feeds served on 127.0.0.1: what gets stored and what gets reported."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import DEFAULT_PROJECTS_FILE, DEFAULT_TOPICS_FILE
from bot.ingest import pipeline
from bot.ingest.analyse import Analyser, Parsed, WorkersUnavailable
from bot.ingest.pipeline import Ingestor
from bot.ingest.projects import ProjectCatalog
from bot.topics import TopicRules
from storage import FeedSpec, Storage
from tests.feed_server import FeedServer, feed_server  # noqa: F401
from tests.feedgen import Item, atom, rss

NOW = datetime(2025, 10, 8, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def ingestor(storage: Storage, clock: Clock) -> Ingestor:
    return Ingestor(
        storage,
        TopicRules.load(DEFAULT_TOPICS_FILE),
        ProjectCatalog.load(DEFAULT_PROJECTS_FILE),
        clock=clock,
        fetcher_options={"total_timeout": 3, "connect_timeout": 2},
    )


RU_ITEMS = [
    Item(
        "В ЗКО обсудили добычу калийных солей на месторождении «Сатимола»",
        "https://ru.example.kz/news/1?utm_source=rss&utm_medium=feed",
        "<p>На инвестиционном штабе в Уральске рассказали о <b>проекте</b> и переговорах с китайскими инвесторами.</p>",
        guid="ru-1",
        published=NOW - timedelta(hours=2),
    ),
    Item(
        "Футбольный клуб «Акжайык» выиграл домашний матч",
        "https://ru.example.kz/news/2",
        "Уральская команда победила со счетом 2:0.",
        guid="ru-2",
        published=NOW - timedelta(hours=3),
    ),
    Item("", "https://ru.example.kz/news/3", "Новость без заголовка", guid="ru-3"),
]
KK_ITEMS = [
    Item(
        "БҚО-ға тартылған шетелдік инвестиция көлемі 1,7 есе өсті",
        "https://kk.example.kz/zhanalyq/1",
        "Облыс Қытай компанияларымен бірнеше инвестициялық келісімге қол қойды.",
        published=NOW - timedelta(hours=1),
    ),
    Item(
        "Сәтімола кен орнында жаңа кезең басталады",
        "https://kk.example.kz/zhanalyq/2",
        "Калий тұздарын өндіру жобасы бойынша жұмыс жалғасуда.",
        published=NOW + timedelta(days=3),  # a future date: stored as the time first seen
    ),
]


async def test_pass_stores_good_feeds_and_reports_every_bad_one(
    feed_server: FeedServer, storage: Storage, ingestor: Ingestor  # noqa: F811
) -> None:
    feed_server.add_feed("/ru.xml", rss(RU_ITEMS))
    feed_server.add_feed("/kk.xml", atom(KK_ITEMS), content_type="application/atom+xml")
    feed_server.add_status("/gone.xml", 404)
    feed_server.add_status("/broken.xml", 500)
    feed_server.add_feed("/page.html", b"<!doctype html><html><body><h1>Hello</h1></body></html>", content_type="text/html")
    feed_server.add_feed("/garbage.bin", bytes(range(256)) * 40, content_type="application/octet-stream")
    specs = [
        FeedSpec(feed_server.url("/ru.xml"), "Ру-лента", "ru"),
        FeedSpec(feed_server.url("/kk.xml"), "Қаз-лента", "kk"),
        FeedSpec(feed_server.url("/gone.xml"), "Gone"),
        FeedSpec(feed_server.url("/broken.xml"), "Broken"),
        FeedSpec(feed_server.url("/page.html"), "Page"),
        FeedSpec(feed_server.url("/garbage.bin"), "Garbage"),
    ]
    report = await ingestor.run_pass(specs)
    by_name = {f.name: f for f in report.feeds}
    assert (by_name["Ру-лента"].status, by_name["Ру-лента"].new, by_name["Ру-лента"].skipped_entries) == ("ok", 2, 1)
    assert (by_name["Қаз-лента"].status, by_name["Қаз-лента"].new) == ("ok", 2)
    assert by_name["Gone"].status == "failed" and "404" in (by_name["Gone"].reason or "")
    assert by_name["Broken"].status == "failed" and "500" in (by_name["Broken"].reason or "")
    assert by_name["Page"].status == "failed" and "HTML" in (by_name["Page"].reason or "")
    assert by_name["Garbage"].status == "failed" and by_name["Garbage"].reason
    assert report.new == 4 and report.failed == 4

    stored = {a.url: a async for a in storage.articles.iter_all()}
    satimola_ru = stored["https://ru.example.kz/news/1"]  # tracking parameters are gone from the link
    assert satimola_ru.lang == "ru"
    assert satimola_ru.summary.startswith("На инвестиционном штабе в Уральске рассказали о проекте")
    assert {"investments", "china"} <= set(satimola_ru.topics)
    assert stored["https://ru.example.kz/news/2"].topics == ()
    kk = stored["https://kk.example.kz/zhanalyq/1"]
    assert kk.lang == "kk" and {"investments", "china"} <= set(kk.topics)
    future = stored["https://kk.example.kz/zhanalyq/2"]
    assert future.published_at == NOW
    projects = {p.key: p for p in await storage.projects.all()}
    satimola = [p for p in projects.values() if p.mentions == 2]
    assert len(satimola) == 1, projects  # Сатимола (ru) and Сәтімола (kk) are one project

    failing = [f for f in await storage.feeds.all() if f.failing]
    assert sorted(f.name for f in failing) == ["Broken", "Garbage", "Gone", "Page"]
    assert all(f.last_error for f in failing)


async def test_second_pass_is_conditional_and_skips_identical_bodies(
    feed_server: FeedServer, storage: Storage, ingestor: Ingestor, clock: Clock  # noqa: F811
) -> None:
    feed_server.add_feed("/etag.xml", rss(RU_ITEMS))
    feed_server.add_feed("/plain.xml", atom(KK_ITEMS), etag=None)
    specs = [FeedSpec(feed_server.url("/etag.xml"), "E", "ru"), FeedSpec(feed_server.url("/plain.xml"), "P", "kk")]
    first = await ingestor.run_pass(specs)
    assert first.new == 4
    clock.now += timedelta(minutes=30)
    second = await ingestor.run_pass(specs)
    assert {f.name: f.status for f in second.feeds} == {"E": "not_modified", "P": "unchanged"}
    assert second.new == 0
    etag_requests = [h for p, h in feed_server.requests if p == "/etag.xml"]
    assert "If-None-Match" in etag_requests[-1]


async def test_same_story_in_two_feeds_is_stored_once_per_url_and_reprints_are_marked(
    feed_server: FeedServer, storage: Storage, ingestor: Ingestor  # noqa: F811
) -> None:
    text = (
        "Аким Западно-Казахстанской области провел переговоры с руководством CHN Energy и подписал "
        "трехстороннюю дорожную карту по совместным проектам в энергетике региона."
    )
    original = Item("Аким ЗКО подписал дорожную карту с CHN Energy", "https://a.kz/1", text, published=NOW)
    same_link = Item(original.title, "https://a.kz/1?utm_campaign=x#top", text, published=NOW)
    reprint = Item(
        "Аким ЗКО подписал дорожную карту с CHN Energy",
        "https://b.kz/reprint",
        text.replace("провел переговоры", "провёл переговоры") + " Об этом сообщили в акимате.",
        published=NOW,
    )
    feed_server.add_feed("/a.xml", rss([original]))
    feed_server.add_feed("/b.xml", rss([same_link, reprint]))
    report = await ingestor.run_pass(
        [FeedSpec(feed_server.url("/a.xml"), "A", "ru"), FeedSpec(feed_server.url("/b.xml"), "B", "ru")]
    )
    assert report.new == 2 and report.duplicate == 1
    stored = [a async for a in storage.articles.iter_all()]
    assert len({a.story_id for a in stored}) == 1
    [copy] = [a for a in stored if a.url == "https://b.kz/reprint"]
    assert copy.reprint_of is not None
    digest_items = await storage.articles.fresh(
        topics=["energy", "china", "investments", "projects", "industry"], langs=["ru"],
        since=NOW - timedelta(days=1), until=NOW + timedelta(hours=1),
    )
    assert [(a.url, [r.url for r in a.reprints]) for a in digest_items] == [("https://a.kz/1", ["https://b.kz/reprint"])]


async def test_failing_feed_backs_off_and_recovers(
    feed_server: FeedServer, storage: Storage, ingestor: Ingestor, clock: Clock  # noqa: F811
) -> None:
    feed_server.add_status("/flaky.xml", 503, headers={"Retry-After": "600"})
    spec = [FeedSpec(feed_server.url("/flaky.xml"), "Flaky", "ru")]
    first = await ingestor.run_pass(spec)
    assert first.feeds[0].status == "failed" and "503" in (first.feeds[0].reason or "")
    clock.now += timedelta(minutes=5)
    second = await ingestor.run_pass(spec)
    assert second.feeds[0].status == "skipped" and "backing off" in (second.feeds[0].reason or "")
    assert feed_server.hits["/flaky.xml"] == 1
    feed_server.add_feed("/flaky.xml", rss(RU_ITEMS[:1]))
    clock.now += timedelta(minutes=6)
    third = await ingestor.run_pass(spec)
    assert (third.feeds[0].status, third.feeds[0].new) == ("ok", 1)
    [state] = await storage.feeds.all()
    assert (state.failure_count, state.last_error) == (0, None)


async def test_windows_1251_feed_is_decoded(
    feed_server: FeedServer, storage: Storage, ingestor: Ingestor  # noqa: F811
) -> None:
    body = rss([Item("Ещё один элеватор построят в Теректинском районе", "https://w.kz/1", "Зерно нового урожая")],
               encoding="windows-1251")
    feed_server.add_feed("/cp.xml", body, content_type="application/rss+xml")
    await ingestor.run_pass([FeedSpec(feed_server.url("/cp.xml"), "CP", "auto")])
    [art] = [a async for a in storage.articles.iter_all()]
    assert art.title == "Ещё один элеватор построят в Теректинском районе"
    assert "agriculture" in art.topics


async def test_a_pass_fetches_only_a_few_feeds_ahead_of_the_parser(
    feed_server: FeedServer, storage: Storage, clock: Clock, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """Fetched bodies wait in memory for a worker; a pass over hundreds of full-text feeds must not hold them
    all at once. While parsing is stuck, only FEEDS_IN_FLIGHT feeds are fetched; the rest wait their turn."""
    monkeypatch.setattr(pipeline, "FEEDS_IN_FLIGHT", 4)
    for n in range(12):
        feed_server.add_feed(f"/f{n}.xml", rss([Item(f"Жаңалық нөмір {n}", f"https://kk.example.kz/{n}", "Мәтін.")]))
    rules, projects = TopicRules.load(DEFAULT_TOPICS_FILE), ProjectCatalog.load(DEFAULT_PROJECTS_FILE)
    gate = asyncio.Event()
    waiting: list[str] = []

    class StuckParser(Analyser):
        async def parse(self, body: bytes, url: str, content_type: str | None, now: datetime) -> Parsed:
            waiting.append(url)
            await gate.wait()
            return await super().parse(body, url, content_type, now)

    ingestor = Ingestor(storage, rules, projects, clock=clock, analyser=StuckParser(rules, projects))
    specs = [FeedSpec(feed_server.url(f"/f{n}.xml"), f"F{n}", "kk") for n in range(12)]
    running = asyncio.create_task(ingestor.run_pass(specs))
    for _ in range(200):
        if len(waiting) >= 4:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # time enough for more fetches, were they allowed
    assert len(waiting) == 4
    assert sum(feed_server.hits.values()) == 4
    gate.set()
    report = await running
    assert report.new == 12 and report.failed == 0
    assert sum(feed_server.hits.values()) == 12


def test_slots_go_to_one_feed_of_each_outlet_in_turn() -> None:
    urls = [
        "https://a.kz/1.xml", "https://a.kz/2.xml", "https://a.kz/3.xml",
        "https://b.kz/rss", "https://c.kz/ru.xml", "https://c.kz/kk.xml",
    ]  # fmt: skip
    assert pipeline._outlets_interleaved(urls) == [0, 3, 4, 1, 5, 2]
    assert pipeline._outlets_interleaved([]) == []


async def test_an_outlet_with_many_slow_feeds_does_not_hold_up_the_others(
    feed_server: FeedServer, storage: Storage, clock: Clock, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """Eight slow feeds of one outlet listed first, then three of another: the others' feeds are fetched
    while the slow ones are still answering, not after them."""
    monkeypatch.setattr(pipeline, "FEEDS_IN_FLIGHT", 4)
    slow = [f"/slow{n}.xml" for n in range(8)]
    for path in slow:
        feed_server.add_slow(path, 0.4, rss([Item(f"Баяу жаңалық {path}", f"https://slow.kz{path}", "Мәтін.")]))
    for n in range(3):
        feed_server.add_feed(f"/fast{n}.xml", rss([Item(f"Жылдам жаңалық {n}", f"https://fast.kz/{n}", "Мәтін.")]))
    other_host = feed_server.url("/").replace("127.0.0.1", "localhost")
    specs = [FeedSpec(feed_server.url(p), p, "kk") for p in slow]
    specs += [FeedSpec(f"{other_host}fast{n}.xml", f"fast{n}", "kk") for n in range(3)]
    rules, projects = TopicRules.load(DEFAULT_TOPICS_FILE), ProjectCatalog.load(DEFAULT_PROJECTS_FILE)
    report = await Ingestor(storage, rules, projects, clock=clock).run_pass(specs)
    assert report.new == 11 and report.failed == 0
    assert [f.name for f in report.feeds] == [s.name for s in specs]  # the report keeps the configured order
    arrived = [path for path, _ in feed_server.requests]
    # Four slots: without taking outlets in turn, the first four slow feeds would take them all for 0.4 s.
    assert max(arrived.index(f"/fast{n}.xml") for n in range(3)) < arrived.index("/slow4.xml")


async def test_feeds_are_fetched_while_the_workers_start(
    feed_server: FeedServer, storage: Storage, clock: Clock  # noqa: F811
) -> None:
    """Starting the worker processes takes a good part of a second: the pass fetches meanwhile, and parses once
    they are up."""
    for n in range(3):
        feed_server.add_feed(f"/f{n}.xml", rss([Item(f"Жаңалық нөмір {n}", f"https://kk.example.kz/{n}", "Мәтін.")]))
    rules, projects = TopicRules.load(DEFAULT_TOPICS_FILE), ProjectCatalog.load(DEFAULT_PROJECTS_FILE)
    up = asyncio.Event()
    parsed_before_up: list[str] = []

    class SlowToStart(Analyser):  # waits in parse for its start, as ProcessAnalyser does
        async def start(self) -> None:
            await up.wait()

        async def parse(self, body: bytes, url: str, content_type: str | None, now: datetime) -> Parsed:
            if not up.is_set():
                parsed_before_up.append(url)
            await self.start()
            return await super().parse(body, url, content_type, now)

    ingestor = Ingestor(storage, rules, projects, clock=clock, analyser=SlowToStart(rules, projects))
    running = asyncio.create_task(ingestor.run_pass([FeedSpec(feed_server.url(f"/f{n}.xml"), f"F{n}", "kk") for n in range(3)]))
    for _ in range(200):
        if sum(feed_server.hits.values()) == 3:
            break
        await asyncio.sleep(0.01)
    assert sum(feed_server.hits.values()) == 3, "nothing was fetched while the workers started"
    assert not running.done()
    up.set()
    report = await running
    assert report.new == 3 and report.failed == 0
    assert len(parsed_before_up) == 3  # each parse waited for the start


async def test_workers_that_cannot_start_fail_the_pass_and_blame_no_feed(
    feed_server: FeedServer, storage: Storage, clock: Clock  # noqa: F811
) -> None:
    """The pass raises, saying so, and no feed is marked as failing: it is not the feeds' fault, and they must
    not back off for it. (tests/test_analyse.py has real worker processes fail to start.)"""
    feed_server.add_feed("/f.xml", rss([Item("Жаңалық", "https://kk.example.kz/1", "Мәтін.")]))
    rules, projects = TopicRules.load(DEFAULT_TOPICS_FILE), ProjectCatalog.load(DEFAULT_PROJECTS_FILE)

    class CannotStart(Analyser):
        async def start(self) -> None:
            raise WorkersUnavailable("the worker processes did not start: BrokenProcessPool")

        async def parse(self, body: bytes, url: str, content_type: str | None, now: datetime) -> Parsed:
            await self.start()
            return await super().parse(body, url, content_type, now)

    ingestor = Ingestor(storage, rules, projects, clock=clock, analyser=CannotStart(rules, projects))
    with pytest.raises(WorkersUnavailable, match="worker processes did not start"):
        await ingestor.run_pass([FeedSpec(feed_server.url("/f.xml"), "F", "kk")])
    assert feed_server.hits["/f.xml"] == 1
    [feed] = await storage.feeds.all()
    assert feed.failure_count == 0 and feed.last_error is None
    assert [a async for a in storage.articles.iter_all()] == []
