"""Planning: who is due, one build and render per distinct digest, windows that neither skip nor repeat."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from bot.delivery.plan import DigestFactory, group_subscribers, plan_digests, window_end, window_start
from bot.digest.build import DigestRequest, build_digest
from bot.digest.schedule import is_due
from storage import Storage, Subscriber
from tests.delivery_support import add_subscribers, at, planned_texts, seed_articles, topic_rules

NOW = at("09:00")


def subscriber(chat_id: int = 1, **overrides: object) -> Subscriber:
    values: dict[str, object] = dict(
        chat_id=chat_id,
        user_id=chat_id,
        ui_lang="ru",
        news_langs="both",
        digest_time="09:00",
        timezone="Asia/Almaty",
        active=True,
        paused=False,
        notify_empty=True,
        topics=("china", "investments"),
        last_digest_date=None,
        last_digest_at=None,
        created_at=NOW - timedelta(days=30),
    )
    values.update(overrides)
    return Subscriber(**values)  # type: ignore[arg-type]


def test_window_starts_where_the_last_digest_ended_at_most_48_hours_back() -> None:
    until = window_end(NOW + timedelta(seconds=42))
    assert until == NOW
    yesterday = until - timedelta(days=1)
    assert window_start(subscriber(last_digest_at=yesterday), until) == yesterday
    assert window_start(subscriber(last_digest_at=until - timedelta(days=9)), until) == until - timedelta(hours=48)
    assert window_start(subscriber(), until) == until - timedelta(hours=24)  # a first digest


def test_equal_settings_share_one_digest_and_any_difference_splits() -> None:
    yesterday = NOW - timedelta(days=1)
    subs = [
        subscriber(1, last_digest_at=yesterday),
        subscriber(2, last_digest_at=yesterday, topics=("investments", "china")),  # same set, other order
        subscriber(3, last_digest_at=yesterday, ui_lang="kk"),
        subscriber(4, last_digest_at=yesterday, news_langs="ru"),
        subscriber(5, last_digest_at=yesterday - timedelta(hours=3)),
        subscriber(6, last_digest_at=yesterday, topics=("china",)),
    ]
    groups = group_subscribers(subs, NOW)
    assert sorted(sorted(s.chat_id for s in members) for members in groups.values()) == [[1, 2], [3], [4], [5], [6]]


async def test_pooled_selection_equals_build_digest_for_every_combination(storage: Storage) -> None:
    await seed_articles(storage, NOW, per_topic=7, tag="a")
    await seed_articles(storage, NOW, per_topic=2, age=timedelta(hours=30), tag="b", langs=("kk",))
    rules = topic_rules()
    factory = DigestFactory(storage, rules)
    topic_sets = [("investments",), ("china", "energy"), tuple(rules.keys), ("nonexistent",), ()]
    since_options = [NOW - timedelta(hours=24), NOW - timedelta(hours=72)]
    for topics, langs, since in itertools.product(topic_sets, [("ru",), ("kk",), ("ru", "kk")], since_options):
        request = DigestRequest(topics=topics, langs=langs, ui_lang="ru", since=since, until=NOW)
        expected = await build_digest(storage, request, rules.keys)
        got = await factory.build(request)
        assert got.sections == expected.sections, (topics, langs, since)


async def test_each_distinct_digest_is_rendered_once(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    await seed_articles(storage, NOW)
    await add_subscribers(storage, range(1, 301), NOW, ui_lang="ru")
    await add_subscribers(storage, range(301, 601), NOW, ui_lang="kk")
    await add_subscribers(storage, range(601, 651), NOW, ui_lang="kk", news_langs="kk", topics=("energy",))
    calls = 0
    import bot.delivery.plan as plan_module

    real = plan_module.render_digest

    def counting(*args: object, **kwargs: object) -> list[str]:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(plan_module, "render_digest", counting)
    report = await plan_digests(storage, topic_rules(), NOW)
    assert (report.due, report.planned, report.digests) == (650, 650, 3)
    assert calls == 3
    texts = await planned_texts(storage)
    assert texts[1] == texts[300] != texts[301] == texts[600]


async def test_planning_skips_who_is_not_due_and_who_is_already_planned(storage: Storage) -> None:
    await seed_articles(storage, NOW)
    await add_subscribers(storage, [1], NOW, digest_time="09:00")
    await add_subscribers(storage, [2], NOW, digest_time="09:01")
    await add_subscribers(storage, [3], NOW, digest_time="08:00")
    await storage.subscribers.mark_digest(3, local_date="2025-08-08", at=NOW - timedelta(hours=1))
    first = await plan_digests(storage, topic_rules(), NOW)
    assert (first.due, first.planned) == (1, 1)
    again = await plan_digests(storage, topic_rules(), NOW + timedelta(minutes=1))
    assert (again.due, again.already_planned, again.planned) == (2, 1, 1)
    assert set(await planned_texts(storage)) == {1, 2}


async def test_empty_digest_without_notify_empty_sends_nothing_but_closes_the_day(storage: Storage) -> None:
    await add_subscribers(storage, [1], NOW, notify_empty=False)
    await add_subscribers(storage, [2], NOW, notify_empty=True)
    report = await plan_digests(storage, topic_rules(), NOW)
    assert (report.planned, report.empty_skipped) == (1, 1)
    quiet = await storage.subscribers.get(1)
    assert quiet is not None and quiet.last_digest_date == "2025-08-08" and quiet.last_digest_at == NOW
    assert not is_due(quiet, NOW + timedelta(hours=3))
    assert list(await planned_texts(storage)) == [2]
