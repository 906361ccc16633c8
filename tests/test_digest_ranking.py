"""/digest ranks stories from SQL standings; the daily digest's planner ranks a shared pool in Python.

A reader must get the same digest from both, so they are compared on a random store built to find the
differences: stories of several reports, reprints in either language, two feeds of one outlet, reports
seen at the same second (ties), and stories already told in the window before.
"""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

from bot.delivery.plan import DigestFactory
from bot.digest.build import DigestRequest, build_digest
from storage import FeedSpec, NewArticle, Storage
from tests.delivery_support import at, topic_rules

NOW = at("09:00")
TOPICS = ("investments", "china", "energy", "trade")


async def seed_random_world(storage: Storage, seed: int, events: int = 160) -> None:
    rng = random.Random(seed)
    specs = [FeedSpec(f"https://o{n}.example.kz/{lang}.xml", f"Outlet {n}", lang) for n in range(5) for lang in ("ru", "kk")]
    feeds = await storage.feeds.sync(specs, NOW)  # outlet n has a Russian and a Kazakh feed of one name
    # Few distinct seconds, so that many reports share a first-seen and a publication time.
    moments = [NOW - timedelta(hours=rng.choice([1, 2, 5, 20, 23, 30, 47, 50, 70])) for _ in range(40)]
    for event in range(events):
        story_id: int | None = None
        for report in range(rng.choice([1, 1, 2, 3, 4])):
            feed = rng.choice(feeds)
            seen = rng.choice(moments)
            article = NewArticle(
                feed_id=feed.id,
                url=f"https://news.example.kz/{event}/{report}",
                guid=None,
                title=f"Событие {event} сообщение {report}",
                summary="",
                lang=feed.lang_hint,
                published_at=seen - timedelta(minutes=rng.choice([0, 0, 30])),
                first_seen_at=seen,
                topics=tuple(rng.sample(TOPICS, rng.choice([1, 1, 2]))),
                story_id=story_id,
            )
            [new_id] = await storage.articles.insert_many([article])
            assert new_id is not None
            story_id = story_id or new_id
            if rng.random() < 0.3:  # another outlet reprints it, in either language, possibly later
                copy_feed = rng.choice(feeds)
                [copy_id] = await storage.articles.insert_many([
                    NewArticle(
                        feed_id=copy_feed.id,
                        url=f"https://news.example.kz/{event}/{report}/copy",
                        guid=None,
                        title=article.title,
                        summary="",
                        lang=copy_feed.lang_hint,
                        published_at=article.published_at,
                        first_seen_at=seen + timedelta(hours=rng.choice([0, 1, 30])),
                        topics=article.topics,
                        reprint_of=new_id,
                    )
                ])
                assert copy_id is not None


async def test_sql_ranked_digest_equals_the_planners_for_every_request(storage: Storage) -> None:
    await seed_random_world(storage, seed=7)
    rules = topic_rules()
    factory = DigestFactory(storage, rules)
    topic_sets = [TOPICS, ("china",), ("trade", "investments"), ("energy", "china", "trade")]
    windows = [(NOW - timedelta(hours=24), NOW), (NOW - timedelta(hours=72), NOW), (NOW - timedelta(hours=48), NOW - timedelta(hours=24))]
    compared = shown = 0
    for topics, langs, ui, (since, until), per_topic in itertools.product(
        topic_sets, [("ru",), ("kk",), ("ru", "kk")], ["ru", "kk"], windows, [2, 5]
    ):
        request = DigestRequest(topics=topics, langs=langs, ui_lang=ui, since=since, until=until, per_topic=per_topic)
        expected = await factory.build(request)
        got = await build_digest(storage, request, rules.keys)
        assert got.sections == expected.sections, request
        compared += 1
        shown += sum(len(s.items) for s in got.sections)
    assert compared == 144
    assert shown > 500  # the requests are not trivially empty


async def test_a_story_told_in_the_window_before_is_left_out_and_its_outlets_count_once(storage: Storage) -> None:
    await seed_random_world(storage, seed=11, events=40)
    request = DigestRequest(topics=TOPICS, langs=("ru", "kk"), ui_lang="ru", since=NOW - timedelta(hours=24), until=NOW)
    standings = await storage.articles.standings(
        topics=TOPICS, langs=("ru", "kk"), since=request.since, until=NOW, told_since=NOW - timedelta(days=8)
    )
    everything = await storage.articles.fresh(topics=TOPICS, langs=("ru", "kk"), since=request.since, until=NOW)
    earlier = await storage.articles.earlier_reports(
        {a.story_id for a in everything if a.story_id}, since=NOW - timedelta(days=8), before=request.since
    )
    told = {e.story_id for e in earlier if set(e.topics) & set(TOPICS)}
    assert told, "the seed must have stories that began before the window"
    assert {s.story_id for s in standings} == {a.story_id for a in everything} - told
    for s in standings:
        reports = [a for a in everything if a.story_id == s.story_id]
        outlets = {a.feed_name for a in reports} | {r.feed_name for a in reports for r in a.reprints}
        assert s.outlets == len(outlets)
        assert sorted(s.article_ids) == sorted(a.id for a in reports)
