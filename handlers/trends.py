"""/trends [days]: a chart of stories per topic per day, Russian and Kazakh reports distinguished."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from bot.clock import Clock
from bot.i18n import Translator
from bot.trends import DEFAULT_DAYS, MAX_DAYS, TrendCharts


async def trends(message: Message, command: CommandObject, charts: TrendCharts, clock: Clock, ui: str, tr: Translator) -> None:
    arg = (command.args or "").strip()
    if arg and not (arg.isascii() and arg.isdigit() and 1 <= int(arg) <= MAX_DAYS):
        await message.answer(tr("trends.bad_days", max=MAX_DAYS))
        return
    days = int(arg) if arg else DEFAULT_DAYS
    png = await charts.chart(now=clock(), days=days, ui=ui)
    await message.answer_photo(BufferedInputFile(png, filename=f"trends-{days}.png"), caption=tr("trends.caption", days=days))


def router() -> Router:
    r = Router(name="trends")
    r.message.register(trends, Command("trends"))
    return r
