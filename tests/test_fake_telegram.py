"""The fake Telegram server behaves like Telegram as seen through a real aiogram Bot.

These tests pin down what the bot's own tests rely on: every error comes out of aiogram as the
exception production would raise, HTML and keyboards are validated as strictly as Telegram does,
and long polling through a Dispatcher works and stops promptly.
"""

from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)

from tests import fake_telegram as fake_module
from tests.fake_telegram import FakeTelegram

# The shared fixture, made visible to this module until conftest imports it for everyone.
fake_telegram = fake_module.fake_telegram

CHAT = 1001


def _png(width: int = 2, height: int = 1) -> bytes:
    """A tiny valid PNG, so sendPhoto gets a real image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest_asyncio.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    """A Bot built exactly as the brief describes (plain AiohttpSession, HTML by default)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake_telegram.base_url))
    bot = Bot(fake_telegram.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    try:
        yield bot
    finally:
        # Close the aiohttp session directly: AiohttpSession.close() sleeps 250 ms for SSL.
        if session._session is not None:
            await session._session.close()


def _keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=f"b{i}", callback_data=d)] for i, d in enumerate(data)]
    )


async def test_send_message_is_recorded_like_telegram(fake_telegram: FakeTelegram, bot: Bot) -> None:
    first = await bot.send_message(CHAT, "<b>Жаңалықтар</b> &amp; news", reply_markup=_keyboard("topic:1"))
    second = await bot.send_message(
        CHAT, "plain", parse_mode=None, link_preview_options=LinkPreviewOptions(is_disabled=True)
    )

    assert isinstance(first, Message) and first.message_id == 1 and second.message_id == 2
    assert first.text == "Жаңалықтар & news" and first.chat.id == CHAT and first.from_user.is_bot
    assert (
        first.entities[0].type == "bold"
        and first.reply_markup.inline_keyboard[0][0].callback_data == "topic:1"
    )
    sent = fake_telegram.messages_to(CHAT)
    assert [m.method for m in sent] == ["sendMessage", "sendMessage"]
    assert sent[0].text == "<b>Жаңалықтар</b> &amp; news" and sent[0].visible_text == "Жаңалықтар & news"
    assert sent[0].parse_mode == "HTML" and sent[0].callback_data == ["topic:1"]
    assert sent[0].reply_markup == {"inline_keyboard": [[{"text": "b0", "callback_data": "topic:1"}]]}
    assert not sent[0].link_preview_disabled and sent[1].link_preview_disabled and sent[1].parse_mode is None
    assert [r.outcome for r in fake_telegram.requests_for("sendMessage")] == ["ok", "ok"]
    assert "TEST-token" not in repr(fake_telegram)


async def test_429_raises_retry_after_then_succeeds(fake_telegram: FakeTelegram, bot: Bot) -> None:
    fake_telegram.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(CHAT, "x")
    assert caught.value.retry_after == 3 and "retry after 3" in caught.value.message
    await bot.send_message(CHAT, "x")
    assert [r.outcome for r in fake_telegram.requests] == ["429", "ok"]


async def test_server_error_raises_telegram_server_error(fake_telegram: FakeTelegram, bot: Bot) -> None:
    fake_telegram.fail_next("sendMessage", status=502, chat_id=CHAT)
    await bot.send_message(CHAT + 1, "other chat is unaffected")
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(CHAT, "x")


async def test_blocked_user_raises_forbidden(fake_telegram: FakeTelegram, bot: Bot) -> None:
    fake_telegram.block(CHAT)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "x")
    assert fake_telegram.requests[-1] == ("sendMessage", CHAT, "403")
    assert fake_telegram.sent == []


async def test_chat_not_found_raises_bad_request(fake_telegram: FakeTelegram, bot: Bot) -> None:
    fake_telegram.chat_not_found(CHAT)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(CHAT, "x")


async def test_migrated_group_raises_migrate_and_new_id_works(fake_telegram: FakeTelegram, bot: Bot) -> None:
    fake_telegram.migrate(-4001, -1004001)
    with pytest.raises(TelegramMigrateToChat) as caught:
        await bot.send_message(-4001, "x")
    assert caught.value.migrate_to_chat_id == -1004001
    message = await bot.send_message(caught.value.migrate_to_chat_id, "x")
    assert message.chat.type == "supergroup"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<foo>bar</foo>", 'Unsupported start tag "foo"'),
        ("a&nbsp;b", 'Unsupported HTML entity "&nbsp;"'),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("x</b>", "Unexpected end tag"),
        ("<span>x</span>", 'must have class "tg-spoiler"'),
    ],
)
async def test_bad_html_is_rejected(fake_telegram: FakeTelegram, bot: Bot, text: str, reason: str) -> None:
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_message(CHAT, text)
    assert caught.value.message.startswith("Bad Request: can't parse entities: ")
    assert reason in caught.value.message
    assert fake_telegram.sent == []


async def test_good_html_is_accepted(fake_telegram: FakeTelegram, bot: Bot) -> None:
    texts = [
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>",
        '<span class="tg-spoiler">s</span> <tg-spoiler>t</tg-spoiler> <a href="https://t.me/x?a=1&amp;b=2">a</a>',
        '<code>c</code> <pre>p</pre> <pre><code class="language-python">x = 1 &lt; 2</code></pre>',
        "<blockquote>q</blockquote><blockquote expandable>e</blockquote> &lt;&gt;&amp;&quot; &#171; &#x1F600;",
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> a & b, 1 > 0',
    ]
    for text in texts:
        await bot.send_message(CHAT, text)
    assert len(fake_telegram.sent) == len(texts)
    assert fake_telegram.sent[3].visible_text == 'qe <>&" « 😀'
    assert fake_telegram.sent[2].entities[-1] == {
        "type": "pre",
        "offset": 4,
        "length": 9,
        "language": "python",
    }


async def test_length_is_counted_on_visible_text_in_utf16(fake_telegram: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(CHAT, "<b>" + "я" * 4096 + "</b>")
    await bot.send_message(CHAT, "&lt;" * 4096)
    await bot.send_message(CHAT, "x" * 4096 + "\n\n")  # Telegram trims surrounding whitespace
    for too_long in ("x" * 4097, "<i>" + "я" * 4097 + "</i>", "😀" * 2049):
        with pytest.raises(TelegramBadRequest, match="message is too long"):
            await bot.send_message(CHAT, too_long)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(CHAT, "<b> </b>")
    photo = BufferedInputFile(_png(), "p.png")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(CHAT, photo, caption="c" * 1025)
    assert len(fake_telegram.sent) == 3


async def test_callback_data_over_64_bytes_is_rejected(fake_telegram: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(CHAT, "ok", reply_markup=_keyboard("x" * 64, "ж" * 32))
    for data in ("x" * 65, "ж" * 33, ""):
        with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
            await bot.send_message(CHAT, "x", reply_markup=_keyboard(data))
    assert len(fake_telegram.sent) == 1


async def test_edit_not_modified_and_keyboard_removal(fake_telegram: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "<b>v1</b>", reply_markup=_keyboard("a"))
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text="<b>v1</b>", chat_id=CHAT, message_id=sent.message_id, reply_markup=_keyboard("a")
        )
    # Same text but no keyboard: a change (Telegram removes the keyboard), then a real no-op.
    edited = await bot.edit_message_text(text="<b>v1</b>", chat_id=CHAT, message_id=sent.message_id)
    assert edited.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=CHAT, message_id=sent.message_id)
    await bot.edit_message_reply_markup(chat_id=CHAT, message_id=sent.message_id, reply_markup=_keyboard("b"))
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=CHAT, message_id=99)
    assert [m.method for m in fake_telegram.sent] == [
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
    ]
    assert (
        fake_telegram.sent[-1].callback_data == ["b"] and fake_telegram.sent[-1].message_id == sent.message_id
    )


async def test_send_photo_keeps_the_uploaded_bytes(fake_telegram: FakeTelegram, bot: Bot) -> None:
    png = _png(3, 2)
    message = await bot.send_photo(CHAT, BufferedInputFile(png, "digest.png"), caption="<i>Дайджест</i>")
    assert message.caption == "Дайджест" and (message.photo[-1].width, message.photo[-1].height) == (3, 2)
    record = fake_telegram.sent[-1]
    assert record.method == "sendPhoto" and record.photo == png and record.text == "<i>Дайджест</i>"
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(CHAT, BufferedInputFile(b"not an image", "x.png"))


async def test_commands_webhook_and_chat_action(fake_telegram: FakeTelegram, bot: Bot) -> None:
    commands = [BotCommand(command="digest", description="Дайджест")]
    await bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats(), language_code="ru")
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    assert fake_telegram.commands == {
        ("all_private_chats", "ru"): [{"command": "digest", "description": "Дайджест"}],
        ("default", ""): [{"command": "start", "description": "Start"}],
    }
    got = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="ru")
    assert [c.command for c in got] == ["digest"]
    await bot.delete_my_commands()
    assert ("default", "") not in fake_telegram.commands
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Digest", description="x")])

    await bot.set_webhook("https://example.org/hook", secret_token="s3cr3t")
    assert fake_telegram.webhook is not None and fake_telegram.webhook.secret_token == "s3cr3t"
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(TelegramBadRequest, match="HTTPS URL"):
        await bot.set_webhook("http://example.org/hook")
    await bot.delete_webhook(drop_pending_updates=True)
    assert fake_telegram.webhook is None

    assert await bot.send_chat_action(CHAT, "typing")
    assert fake_telegram.chat_actions == [(CHAT, "typing")]


async def test_polling_through_a_dispatcher(fake_telegram: FakeTelegram, bot: Bot) -> None:
    router = Router()

    @router.message(F.text == "/start")
    async def start(message: Message) -> None:
        await message.answer(
            f"Сәлем, <b>{message.from_user.language_code}</b>!", reply_markup=_keyboard("lang:kk")
        )

    @router.callback_query(F.data.startswith("lang:"))
    async def pick(query: CallbackQuery) -> None:
        await query.answer("ok")
        await query.message.edit_text("Тіл: kk")

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False))
    try:
        fake_telegram.push_message(CHAT, "/start", language_code="kk")
        (reply,) = await fake_telegram.wait_for(1, chat_id=CHAT)
        assert reply.visible_text == "Сәлем, kk!" and reply.callback_data == ["lang:kk"]

        query_id = fake_telegram.push_callback(CHAT, "lang:kk", message_id=reply.message_id)
        edit = await fake_telegram.wait_for_message(lambda m: m.method == "editMessageText")
        assert edit.visible_text == "Тіл: kk" and edit.message_id == reply.message_id
        assert [(a.callback_query_id, a.text) for a in fake_telegram.callback_answers] == [(query_id, "ok")]
        assert fake_telegram.pending_updates <= 1  # the last update is confirmed by the next poll
    finally:
        started = time.monotonic()
        await dp.stop_polling()
        await polling
    assert time.monotonic() - started < 1.0, "polling must stop promptly while a long poll is waiting"


async def test_long_poll_returns_as_soon_as_an_update_is_pushed(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await fake_telegram.wait_until(lambda: fake_telegram.polls_received > 0, description="getUpdates")
    update_id = fake_telegram.push_message(CHAT, "hi")
    updates = await poll
    assert [u.update_id for u in updates] == [update_id] and updates[0].message.text == "hi"
    assert loop.time() - started < 2
    # Unconfirmed updates are returned again; the offset confirms them.
    assert [u.update_id for u in await bot.get_updates()] == [update_id]
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == []
    assert fake_telegram.pending_updates == 0


async def test_stop_cuts_a_long_poll_short(bot: Bot) -> None:
    fake = FakeTelegram()
    await fake.start()
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    other = Bot(fake.token, session=session)
    try:
        poll = asyncio.create_task(other.get_updates(timeout=30))
        await fake.wait_until(lambda: fake.polls_received > 0, description="getUpdates")
        started = time.monotonic()
        await fake.stop()
        assert await poll == []
        assert time.monotonic() - started < 2
    finally:
        if session._session is not None:
            await session._session.close()


async def test_rate_limit_answers_429_above_the_limit(fake_telegram: FakeTelegram, bot: Bot) -> None:
    fake_telegram.rate_limit = 3
    for i in range(3):
        await bot.send_message(CHAT + i, "x")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(CHAT, "x")
    assert caught.value.retry_after >= 1
    assert [r.outcome for r in fake_telegram.requests] == ["ok", "ok", "ok", "429"]


async def test_drop_next_raises_network_error(fake_telegram: FakeTelegram, bot: Bot) -> None:
    fake_telegram.drop_next("sendMessage")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(CHAT, "lost")
    assert fake_telegram.sent == []
    fake_telegram.drop_next("sendMessage", after_processing=True)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(CHAT, "delivered, answer lost")
    assert [m.text for m in fake_telegram.sent] == ["delivered, answer lost"]
    await bot.send_message(CHAT, "works again")
    assert [r.outcome for r in fake_telegram.requests] == ["drop", "ok-dropped", "ok"]


async def test_random_faults_are_reproducible(fake_telegram: FakeTelegram, bot: Bot) -> None:
    async def run(seed: int) -> list[str]:
        fake_telegram.requests.clear()
        fake_telegram.set_random_faults(0.5, seed=seed)
        for _ in range(12):
            try:
                await bot.send_message(CHAT, "x")
            except (TelegramRetryAfter, TelegramServerError, TelegramNetworkError):
                pass
        return [r.outcome for r in fake_telegram.requests]

    first = await run(7)
    assert first == await run(7)
    assert "ok" in first and {"429", "drop"} & set(first)


async def test_wrong_token_and_unknown_method(fake_telegram: FakeTelegram) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake_telegram.base_url))
    stranger = Bot("654321:WRONG-token", session=session)
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        if session._session is not None:
            await session._session.close()
    async with aiohttp.ClientSession() as http:
        url = f"{fake_telegram.base_url}/bot{fake_telegram.token}/sendSticker"
        async with http.post(url, data={"chat_id": "1"}) as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }


async def test_wait_for_failure_lists_what_was_sent(fake_telegram: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(CHAT, "only one")
    with pytest.raises(AssertionError, match="(?s)2 message.*only one"):
        await fake_telegram.wait_for(2, chat_id=CHAT, timeout=0.05)


async def test_callback_query_can_be_answered_once(fake_telegram: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "pick", reply_markup=_keyboard("a"))
    query_id = fake_telegram.push_callback(CHAT, "a", message_id=sent.message_id)
    (update,) = await bot.get_updates()
    assert update.callback_query.message.reply_markup.inline_keyboard[0][0].callback_data == "a"
    assert await bot.answer_callback_query(query_id, text="ok", show_alert=True)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    assert fake_telegram.callback_answers[0].show_alert


async def test_raw_json_requests_and_competing_pollers(fake_telegram: FakeTelegram) -> None:
    base = f"{fake_telegram.base_url}/bot{fake_telegram.token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/sendmessage", json={"chat_id": "@habar_news", "text": "x"}) as response:
            assert (await response.json())["result"]["chat"]["type"] == "channel"
        assert fake_telegram.messages_to("@habar_news")[0].text == "x"
        older = asyncio.create_task(http.post(f"{base}/getUpdates", data={"timeout": "5"}))
        await fake_telegram.wait_until(lambda: fake_telegram.polls_received == 1)
        newer = asyncio.create_task(http.post(f"{base}/getUpdates", data={"timeout": "5"}))
        async with await older as response:
            assert (
                response.status == 409
                and "terminated by other getUpdates" in (await response.json())["description"]
            )
        fake_telegram.push_message(CHAT, "hi")
        async with await newer as response:
            assert [u["message"]["text"] for u in (await response.json())["result"]] == ["hi"]
