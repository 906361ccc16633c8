"""The whole bot as production wires it, talking HTTP to the fake Bot API server, for the scenario tests.

`create_bot` (with the flood-control middleware) points at the fake through TELEGRAM_API_URL,
`create_dispatcher` gets a real Storage on a temporary SQLite file, the catalogs from the shipped
topics and projects files and an Ingestor, and `dp.start_polling` runs in a task. A test pushes what a
user types or taps and reads back exactly what the user would see:

    from tests.bot_harness import BotApp, bot_app_fixture  # noqa: F401  (registers the fixture `bot_app`)

    async def test_start(bot_app: BotApp) -> None:
        [reply] = await bot_app.say(100, "/start", lang="kk")
        assert "Қазақша" in reply.button_texts

`say` and `tap` return once the dispatcher has finished with that update (every reply it sends has then
been accepted by the fake), so no test sleeps or guesses how many messages will come.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from aiogram import Bot, Dispatcher
from aiogram.types import Update

from bot.app import create_dispatcher
from bot.config import Settings
from bot.i18n import t, tn
from bot.ingest.pipeline import Ingestor, PassRunner
from bot.services import Catalogs, load_catalogs
from bot.telegram.middlewares import ThrottlingMiddleware
from bot.telegram.session import create_bot
from storage import NewArticle, ProjectRef, Storage, StoredArticle
from tests.fake_telegram import FakeTelegram, SentMessage, parse_html
from tests.feed_server import FeedServer

__all__ = [
    "ADMIN_ID",
    "NOW",
    "BotApp",
    "TestClock",
    "bot_app_fixture",
    "button_texts",
    "project",
    "t",
    "tn",
    "visible",
]

NOW = datetime(2025, 5, 12, 2, 0, tzinfo=UTC)  # 07:00 in Almaty (UTC+5), two hours before the default digest
ADMIN_ID = 777
FEED_NAME = "Тест & <Ньюс> </a>"  # a hostile outlet name: every reply that shows it proves escaping
OK_FEED_PATH = "/news.rss"
BAD_FEED_PATH = "/gone.rss"
UPDATE_TIMEOUT = 10.0


class TestClock:
    """The bot's clock (aware UTC), moved by the test."""

    __test__ = False

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def button_texts(message: SentMessage) -> list[str]:
    return [b["text"] for b in message.buttons]


def visible(markup: str) -> str:
    """What a user sees of a Telegram HTML text (the fake's own parser), to compare with `visible_text`."""
    return parse_html(markup)[0]


@dataclass
class BotApp:
    fake: FakeTelegram
    feeds: FeedServer
    store: Storage
    settings: Settings
    catalogs: Catalogs
    clock: TestClock
    bot: Bot
    dp: Dispatcher
    throttle: ThrottlingMiddleware
    feed_id: int = 0
    _done: set[int] = field(default_factory=set)
    _in_flight: int = 0
    _progress: asyncio.Event = field(default_factory=asyncio.Event)
    _urls: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- talking to the bot ---------------------------------------------------------------------

    async def say(
        self, chat_id: int, text: str, *, lang: str | None = "ru", user_id: int | None = None, **extra: Any
    ) -> list[SentMessage]:
        """A user types `text`; returns every message sent or edited in that chat while it was handled."""
        before = len(self.fake.messages_to(chat_id))
        update_id = self.fake.push_message(chat_id, text, language_code=lang, user_id=user_id, **extra)
        await self.handled(update_id)
        return self.fake.messages_to(chat_id)[before:]

    async def tap(
        self, chat_id: int, message: SentMessage | int, data: str, *, lang: str | None = "ru"
    ) -> tuple[list[SentMessage], str | None]:
        """A user taps a button carrying `data` under `message`; returns the messages sent or edited and
        the text of the callback answer (None when answered silently)."""
        message_id = message if isinstance(message, int) else message.message_id
        assert message_id is not None
        before = len(self.fake.messages_to(chat_id))
        query_id = self.fake.push_callback(chat_id, data, message_id=message_id, language_code=lang)
        await self.fake.wait_until(
            lambda: any(a.callback_query_id == query_id for a in self.fake.callback_answers),
            timeout=UPDATE_TIMEOUT,
            description=f"an answer to callback {data!r}",
        )
        await self.idle()
        answer = next(a for a in self.fake.callback_answers if a.callback_query_id == query_id)
        return self.fake.messages_to(chat_id)[before:], answer.text

    async def press(
        self, chat_id: int, message: SentMessage, label: str, *, lang: str | None = "ru"
    ) -> tuple[list[SentMessage], str | None]:
        """Tap the button whose text is `label` (it must be on the message now)."""
        current = self.current(chat_id, message)
        for button in current.buttons:
            if button["text"] == label:
                return await self.tap(chat_id, current, button["callback_data"], lang=lang)
        raise AssertionError(f"no button {label!r} on {current.describe()}; buttons: {button_texts(current)}")

    def current(self, chat_id: int, message: SentMessage) -> SentMessage:
        """The latest version of a message (after edits)."""
        versions = [m for m in self.fake.messages_to(chat_id) if m.message_id == message.message_id]
        return versions[-1]

    async def handled(self, update_id: int) -> None:
        await self._wait(lambda: update_id in self._done, f"update {update_id} to be handled")

    async def idle(self) -> None:
        """Wait until no update is being handled."""
        await self._wait(lambda: not self._in_flight, "the bot to go idle")

    async def _wait(self, condition: Callable[[], bool], what: str) -> None:
        try:
            async with asyncio.timeout(UPDATE_TIMEOUT):
                while not condition():
                    self._progress.clear()
                    await self._progress.wait()
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}\n{self.fake.report()}") from None

    # --- seeding the store ----------------------------------------------------------------------

    async def add_article(
        self,
        title: str,
        *,
        lang: str = "ru",
        topics: Sequence[str] = (),
        projects: Sequence[ProjectRef] = (),
        summary: str = "",
        hours_ago: float = 1.0,
        url: str | None = None,
        feed_id: int | None = None,
        story_of: StoredArticle | None = None,
    ) -> StoredArticle:
        """Store one article as ingestion would, first seen and published `hours_ago` before the clock;
        `story_of`: an article reporting the same event (as story linking would have found)."""
        when = self.clock() - timedelta(hours=hours_ago)
        article = NewArticle(
            feed_id=feed_id or self.feed_id,
            url=url or f"https://news.example.kz/{lang}/{next(self._urls)}?a=1&b=2",
            guid=None,
            title=title,
            summary=summary,
            lang=lang,
            published_at=when,
            first_seen_at=when,
            topics=tuple(topics),
            projects=tuple(projects),
            story_id=None if story_of is None else (story_of.story_id or story_of.id),
        )
        [article_id] = await self.store.articles.insert_many([article])
        assert article_id is not None
        stored = await self.store.articles.get(article_id)
        assert stored is not None
        return stored


def project(
    key: str, *, ru: str | None = None, kk: str | None = None, latin: str | None = None
) -> ProjectRef:
    """A project mention for `add_article`."""
    name = ru or kk or latin or key
    return ProjectRef(key=key, name=name, name_ru=ru, name_kk=kk, name_latin=latin, surface=name)


async def _track(app: BotApp) -> None:
    """Count handled updates by wrapping the dispatcher's own entry point (errors handler included)."""
    original = app.dp.feed_update

    async def feed_update(bot: Bot, update: Update, **kwargs: Any) -> Any:
        app._in_flight += 1
        try:
            return await original(bot, update, **kwargs)
        finally:
            app._in_flight -= 1
            app._done.add(update.update_id)
            app._progress.set()

    app.dp.feed_update = feed_update  # type: ignore[method-assign]


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path: Path,
    fake: FakeTelegram,
    feeds: FeedServer,
    ingestor: Callable[[Settings], PassRunner] | None = None,
    **settings: Any,
) -> AsyncIterator[BotApp]:
    """`ingestor`: made from the bot's settings, in place of the in-process one on the test clock."""
    feeds_file = tmp_path / "feeds.toml"
    feeds_file.write_text(
        "[[feeds]]\n"
        f'url = "{feeds.url(OK_FEED_PATH)}"\nname = "{FEED_NAME}"\nlang = "ru"\n\n'
        "[[feeds]]\n"
        f'url = "{feeds.url(BAD_FEED_PATH)}"\nname = "Жабық <b>арна</b>"\nlang = "kk"\n',
        encoding="utf-8",
    )
    config = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=fake.token,
        telegram_api_url=fake.base_url,
        database_path=tmp_path / "habar.sqlite3",
        feeds_file=feeds_file,
        admin_ids=frozenset({ADMIN_ID}),
        **settings,
    )
    catalogs = load_catalogs(config)
    clock = TestClock(NOW)
    store = await Storage.open(config.database_path)
    bot = create_bot(config)
    runner: PassRunner = Ingestor(
        store,
        catalogs.topics,
        catalogs.projects,
        clock=clock,
        fetcher_options={"total_timeout": 3, "connect_timeout": 2},
    ) if ingestor is None else ingestor(config)
    throttle = ThrottlingMiddleware()
    dp = create_dispatcher(
        storage=store, settings=config, catalogs=catalogs, ingestor=runner, clock=clock, throttle=throttle
    )
    [feed, _] = await store.feeds.sync(catalogs.feeds, NOW - timedelta(days=1))
    app = BotApp(fake, feeds, store, config, catalogs, clock, bot, dp, throttle, feed_id=feed.id)
    await _track(app)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False))
    try:
        await fake.wait_until(lambda: fake.polls_received > 0, description="polling to start")
        yield app
        await app.idle()
    finally:
        await dp.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
        # aiogram's session.close() sleeps 250 ms for TLS connections to drain; the fake is plain HTTP.
        if bot.session._session is not None:  # type: ignore[attr-defined]
            await bot.session._session.close()  # type: ignore[attr-defined]
        await store.close()


@pytest_asyncio.fixture(name="bot_app")
async def bot_app_fixture(tmp_path: Path) -> AsyncIterator[BotApp]:
    """The running bot; its own fake Bot API server and feed server, so a test module imports only this."""
    async with FakeTelegram() as fake, FeedServer() as feeds, running_bot(tmp_path, fake, feeds) as app:
        yield app
