"""/project [name]: the tracked investment projects, or the latest news about one, in both languages."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.config import Settings
from bot.digest.render import ht, render_articles, render_project_list, shorten
from bot.i18n import Translator
from bot.ingest.projects import ProjectCatalog
from bot.lookup import find_projects
from handlers.callbacks import ProjectCb
from handlers.common import MAX_ARGUMENT, answer_all, zone_of
from handlers.keyboards import projects_keyboard
from storage import ProjectSummary, Storage, Subscriber

NEWS_LIMIT = 10
LIST_BUTTONS = 10


async def project_news(project: ProjectSummary, store: Storage, zone: ZoneInfo, tr: Translator) -> list[str]:
    lang = tr.lang
    name = project.display_name(lang)
    articles = await store.projects.articles(project.id, langs=("ru", "kk"), limit=NEWS_LIMIT)
    if not articles:
        return [ht(lang, "project.no_news", name=shorten(name, 100))]
    header = ht(lang, "project.news_header", name=shorten(name, 100))
    return render_articles(articles, lang, zone, header)


async def project(
    message: Message,
    command: CommandObject,
    store: Storage,
    settings: Settings,
    projects: ProjectCatalog,
    ui: str,
    tr: Translator,
    subscriber: Subscriber | None,
) -> None:
    query = (command.args or "").strip()
    if not query:
        tracked = await store.projects.tracked()
        if not tracked:
            await message.answer(tr("project.none_tracked"))
            return
        texts = render_project_list(tracked, ui, zone_of(subscriber, settings))
        await answer_all(message, texts, projects_keyboard(tracked[:LIST_BUTTONS], ui))
        return
    if len(query) > MAX_ARGUMENT:
        await message.answer(tr("error.too_long", limit=MAX_ARGUMENT))
        return
    known = projects.lookup(query)
    found = find_projects(query, await store.projects.all(), [p.key for p in known])
    if not found and known:  # in the catalog, but the news has not named it yet
        name = known[0].names.get(ui) or known[0].names["ru"]
        await message.answer(ht(ui, "project.no_news", name=name))
    elif not found:
        await message.answer(ht(ui, "project.not_found", query=shorten(query, 60)))
    elif len(found) == 1:
        await answer_all(message, await project_news(found[0], store, zone_of(subscriber, settings), tr))
    else:
        await message.answer(tr("project.choose"), reply_markup=projects_keyboard(found, ui))


async def chosen(
    callback: CallbackQuery,
    callback_data: ProjectCb,
    store: Storage,
    settings: Settings,
    tr: Translator,
    subscriber: Subscriber | None,
) -> None:
    found = await store.projects.get(callback_data.id)
    if found is None or not isinstance(callback.message, Message):
        await callback.answer(tr("error.stale_button"))
        return
    await callback.answer()
    await answer_all(callback.message, await project_news(found, store, zone_of(subscriber, settings), tr))


def router() -> Router:
    r = Router(name="project")
    r.message.register(project, Command("project"))
    r.callback_query.register(chosen, ProjectCb.filter())
    return r
