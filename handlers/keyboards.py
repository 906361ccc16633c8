"""Inline keyboards. Button labels come from the catalogs (or from stored names); data from `callbacks`."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import Translator
from bot.topics import TopicRules
from handlers.callbacks import (
    FollowCb,
    LangCb,
    NewsCb,
    ProjectCb,
    SettingsCb,
    StopCb,
    TimeCb,
    TopicCb,
    TopicsCb,
)
from storage import ProjectSummary, Subscriber

PRESET_TIMES = ("07:00", "08:00", "09:00", "12:00", "18:00", "21:00")
MAX_LABEL = 60


def _mark(tr: Translator, label: str, selected: bool) -> str:
    return tr("button.selected", label=label) if selected else label


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _language_row(kb: InlineKeyboardBuilder, tr: Translator, where: str, current: str | None) -> None:
    kb.button(
        text=_mark(tr, tr("lang.button.kk"), current == "kk"), callback_data=LangCb(lang="kk", where=where)
    )
    kb.button(
        text=_mark(tr, tr("lang.button.ru"), current == "ru"), callback_data=LangCb(lang="ru", where=where)
    )


def start_keyboard(tr: Translator) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    _language_row(kb, tr, "s", None)
    kb.button(text=tr("button.choose_topics"), callback_data=TopicsCb(action="open"))
    kb.adjust(2, 1)
    return kb.as_markup()


def topics_keyboard(tr: Translator, rules: TopicRules, chosen: Sequence[str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for key in rules.keys:
        kb.button(
            text=_mark(tr, _label(rules.name(key, tr.lang)), key in chosen), callback_data=TopicCb(key=key)
        )
    kb.adjust(2)
    kb.row(InlineKeyboardButton(text=tr("button.done"), callback_data=TopicsCb(action="done").pack()))
    return kb.as_markup()


def settings_keyboard(tr: Translator, sub: Subscriber) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    _language_row(kb, tr, "m", sub.ui_lang)
    news = (("ru", tr("button.news_ru")), ("kk", tr("button.news_kk")), ("both", tr("button.news_both")))
    for langs, label in news:
        kb.button(text=_mark(tr, label, sub.news_langs == langs), callback_data=NewsCb(langs=langs))
    for hhmm in PRESET_TIMES:
        kb.button(
            text=_mark(tr, hhmm, sub.digest_time == hhmm), callback_data=TimeCb(hhmm=hhmm.replace(":", ""))
        )
    kb.button(text=tr("button.other_time"), callback_data=SettingsCb(action="other_time"))
    if sub.paused:
        kb.button(text=tr("button.resume"), callback_data=SettingsCb(action="resume"))
    else:
        kb.button(text=tr("button.pause"), callback_data=SettingsCb(action="pause"))
    kb.adjust(2, 3, 3, 3, 1, 1)
    return kb.as_markup()


def stop_keyboard(tr: Translator) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=tr("button.stop_yes"), callback_data=StopCb(confirm=True))
    kb.button(text=tr("button.stop_no"), callback_data=StopCb(confirm=False))
    kb.adjust(1)
    return kb.as_markup()


def projects_keyboard(
    projects: Sequence[ProjectSummary], tr: Translator, followed: Collection[int] = ()
) -> InlineKeyboardMarkup:
    """One button per project (its timeline); the ones the subscriber follows are marked."""
    kb = InlineKeyboardBuilder()
    for project in projects:
        label = _label(project.display_name(tr.lang))
        if project.id in followed:
            label = tr("project.followed_mark", name=label)
        kb.button(text=label, callback_data=ProjectCb(id=project.id))
    kb.adjust(1)
    return kb.as_markup()


def follow_keyboard(project_id: int, following: bool, tr: Translator) -> InlineKeyboardMarkup:
    """Under a project's timeline: follow it, or stop following it."""
    kb = InlineKeyboardBuilder()
    if following:
        kb.button(text=tr("project.unfollow_button"), callback_data=FollowCb(id=project_id, on=False))
    else:
        kb.button(text=tr("project.follow_button"), callback_data=FollowCb(id=project_id, on=True))
    return kb.as_markup()
