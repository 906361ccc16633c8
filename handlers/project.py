"""/project [name]: the tracked projects by recent attention, or one project's timeline with a button to
follow it; following sends a short alert when a new story about the project appears (bot/delivery/alerts)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.clock import Clock
from bot.config import Settings
from bot.digest.project import project_timeline, projects_by_attention
from bot.digest.render import ht, render_project_list, shorten
from bot.i18n import Translator
from bot.ingest.projects import ProjectCatalog, catalog_ref
from bot.lookup import find_projects
from handlers.callbacks import FollowCb, ProjectCb
from handlers.common import MAX_ARGUMENT, Subscribed, answer_all, edit_markup, zone_of
from handlers.keyboards import follow_keyboard, projects_keyboard
from storage import ProjectSummary, Storage, Subscriber

LIST_BUTTONS = 10


async def show_project(
    message: Message, project: ProjectSummary, store: Storage, settings: Settings, tr: Translator,
    subscriber: Subscriber | None,
) -> None:
    """The timeline; subscribers get the follow button under it (following needs a subscription)."""
    texts = await project_timeline(store, project, tr.lang, zone_of(subscriber, settings))
    markup = None
    if subscriber is not None and subscriber.active:
        following = project.id in await store.follows.followed(subscriber.chat_id)
        markup = follow_keyboard(project.id, following, tr)
    await answer_all(message, texts, markup)


async def project(
    message: Message,
    command: CommandObject,
    store: Storage,
    settings: Settings,
    projects: ProjectCatalog,
    ui: str,
    tr: Translator,
    clock: Clock,
    subscriber: Subscriber | None,
) -> None:
    query = (command.args or "").strip()
    if not query:
        tracked = await projects_by_attention(store, clock())
        if not tracked:
            await message.answer(tr("project.none_tracked"))
            return
        followed = await store.follows.followed(subscriber.chat_id) if subscriber else set()
        texts = render_project_list(tracked, ui, zone_of(subscriber, settings))
        await answer_all(message, texts, projects_keyboard(tracked[:LIST_BUTTONS], tr, followed))
        return
    if len(query) > MAX_ARGUMENT:
        await message.answer(tr("error.too_long", limit=MAX_ARGUMENT))
        return
    known = projects.lookup(query)
    found = find_projects(query, await store.projects.all(), [p.key for p in known])
    if not found and known:  # in the catalog, but the news has not named it yet: it can be followed already
        stored = await store.projects.ensure(catalog_ref(known[0]), clock())
        await show_project(message, stored, store, settings, tr, subscriber)
    elif not found:
        await message.answer(ht(ui, "project.not_found", query=shorten(query, 60)))
    elif len(found) == 1:
        await show_project(message, found[0], store, settings, tr, subscriber)
    else:
        await message.answer(tr("project.choose"), reply_markup=projects_keyboard(found, tr))


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
    await show_project(callback.message, found, store, settings, tr, subscriber)


async def follow(
    callback: CallbackQuery,
    callback_data: FollowCb,
    store: Storage,
    tr: Translator,
    clock: Clock,
    subscriber: Subscriber,
) -> None:
    """Follow or unfollow, say so in a toast, and flip the button in place."""
    found = await store.projects.get(callback_data.id)
    if found is None:
        await callback.answer(tr("error.stale_button"))
        return
    name = shorten(found.display_name(tr.lang), 100)
    if callback_data.on:
        await store.follows.follow(subscriber.chat_id, found.id, clock())
        await callback.answer(tr("project.followed", name=name), show_alert=True)
    else:
        await store.follows.unfollow(subscriber.chat_id, found.id)
        await callback.answer(tr("project.unfollowed", name=name))
    await edit_markup(callback, follow_keyboard(found.id, callback_data.on, tr))


def router() -> Router:
    r = Router(name="project")
    r.message.register(project, Command("project"))
    r.callback_query.register(chosen, ProjectCb.filter())
    r.callback_query.register(follow, Subscribed(), FollowCb.filter())
    return r
