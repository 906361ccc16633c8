"""/help: what the bot does and its commands."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.i18n import Translator


async def show(message: Message, tr: Translator) -> None:
    await message.answer(tr("help.text"))


def router() -> Router:
    r = Router(name="help")
    r.message.register(show, Command("help"))
    return r
