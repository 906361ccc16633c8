"""/project [name]: the tracked projects, or the latest news about one, found in any spelling."""

from __future__ import annotations

import pytest

from bot.textfold import latin_key
from tests.bot_harness import (
    BotApp,
    bot_app_fixture,  # noqa: F401  (the fixture)
    button_texts,
    project,
    t,
    tn,
    visible,
)

CHAT = 400

SATIMOLA = project("satimola", ru="Сатимола", kk="Сатимола", latin="Satimola")


def discovered(name: str, lang: str = "ru") -> object:
    return project(latin_key(name), ru=name if lang == "ru" else None, kk=name if lang == "kk" else None)


async def seed(app: BotApp) -> None:
    await app.add_article(
        "В ЗКО обсудили добычу калия на месторождении «Сатимола»", projects=(SATIMOLA,), hours_ago=5
    )
    await app.add_article(
        "Сәтімола кен орнында калий өндіру талқыланды", lang="kk", projects=(SATIMOLA,), hours_ago=2
    )
    await app.add_article(
        "«Жетісу Агро» жаңа жылыжай салады",
        lang="kk",
        projects=(discovered("Жетісу Агро", "kk"),),
        hours_ago=50,
    )
    await app.add_article(
        "Алатау Сити привлечёт инвесторов", projects=(discovered("Алатау Сити"),), hours_ago=8
    )
    await app.add_article("Алатау Пауэр строит ТЭЦ", projects=(discovered("Алатау Пауэр"),), hours_ago=9)


async def test_no_projects_yet(bot_app: BotApp) -> None:
    [reply] = await bot_app.say(CHAT, "/project")
    assert reply.visible_text == t("ru", "project.none_tracked")


async def test_tracked_projects_with_counts_and_dates(bot_app: BotApp) -> None:
    await seed(bot_app)

    [reply] = await bot_app.say(CHAT, "/project")

    lines = reply.visible_text.splitlines()
    assert lines[0] == "Инвестиционные проекты в новостях"
    assert lines[1] == "Сначала те, о которых больше пишут за последние 30 дней."
    # By recent attention: two stories about Satimola, then one each, the latest first.
    assert lines[2] == "• Сатимола — 2 упоминания, последняя новость 12.05.2025"
    assert button_texts(reply) == ["Сатимола", "Алатау Сити", "Алатау Пауэр", "Жетісу Агро"]
    assert "• Жетісу Агро — 1 упоминание, последняя новость 10.05.2025" in lines
    assert lines[-1] == visible(t("ru", "project.list_hint"))


async def test_tracked_projects_in_kazakh(bot_app: BotApp) -> None:
    await seed(bot_app)
    [reply] = await bot_app.say(CHAT, "/project", lang="kk")
    assert reply.visible_text.startswith(
        "Жаңалықтардағы инвестициялық жобалар\nСоңғы 30 күнде көбірек жазылғандары алдымен.\n"
        "• Сатимола — 2 рет аталды, соңғы жаңалық"
    )
    assert tn("kk", "project.mentions_one", "project.mentions_many", 2) == "2 рет аталды"


@pytest.mark.parametrize("query", ["Satimola", "сатимола", "Сәтімола", "САТИМОЛЫ", "satimolla"])
async def test_news_about_a_project_in_any_spelling(bot_app: BotApp, query: str) -> None:
    await seed(bot_app)

    [reply] = await bot_app.say(CHAT, f"/project {query}")

    lines = reply.visible_text.splitlines()
    assert lines[0] == "Сатимола: последние новости"
    # Both languages, newest first.
    assert "Сәтімола кен орнында калий өндіру талқыланды" in lines[1]
    assert "месторождении «Сатимола»" in lines[3]
    assert "каз · " in lines[2] and "рус · " in lines[4]


async def test_a_discovered_project_typed_without_kazakh_letters(bot_app: BotApp) -> None:
    await seed(bot_app)
    [reply] = await bot_app.say(CHAT, "/project жетису агро", lang="kk")
    assert reply.visible_text.startswith("Жетісу Агро: соңғы жаңалықтар")
    assert "жаңа жылыжай" in reply.visible_text


async def test_several_candidates_give_buttons(bot_app: BotApp) -> None:
    await seed(bot_app)

    [choice] = await bot_app.say(CHAT, "/project Алатау")

    assert choice.visible_text == t("ru", "project.choose")
    assert sorted(button_texts(choice)) == ["Алатау Пауэр", "Алатау Сити"]
    [news], answer = await bot_app.press(CHAT, choice, "Алатау Пауэр")
    assert news.method == "sendMessage"
    assert news.visible_text.startswith("Алатау Пауэр: последние новости")
    assert "строит ТЭЦ" in news.visible_text and "привлечёт" not in news.visible_text
    assert answer is None


async def test_a_known_project_without_news(bot_app: BotApp) -> None:
    [reply] = await bot_app.say(CHAT, "/project Кашаган", lang="kk")
    assert reply.visible_text == t("kk", "project.no_news", name="Қашаған")


async def test_not_found(bot_app: BotApp) -> None:
    await seed(bot_app)
    [reply] = await bot_app.say(CHAT, "/project <b>Марс</b> & Co")
    assert reply.visible_text == "Проект «<b>Марс</b> & Co» не найден. Список проектов в новостях — /project."


async def test_hostile_project_names_are_escaped(bot_app: BotApp) -> None:
    evil = discovered('Завод <script>alert("x")</script> & </a>')
    await bot_app.add_article('Новость о <i>заводе</i> & "</a>"', projects=(evil,))

    [listing] = await bot_app.say(CHAT, "/project")
    assert '• Завод <script>alert("x")</script> & </a> — 1 упоминание' in listing.visible_text

    [news], _ = await bot_app.tap(CHAT, listing, listing.callback_data[0])
    assert news.visible_text.startswith('Завод <script>alert("x")</script> & </a>: последние новости')
    assert 'Новость о <i>заводе</i> & "</a>"' in news.visible_text


async def test_too_long_a_name(bot_app: BotApp) -> None:
    [reply] = await bot_app.say(CHAT, "/project " + "Сатимола " * 450, lang="kk")
    assert reply.visible_text == t("kk", "error.too_long", limit=200)


@pytest.mark.parametrize("data", ["p:999999", "p:0", "p:abc", "p:", "p:1:2"])
async def test_stale_or_forged_project_buttons(bot_app: BotApp, data: str) -> None:
    await seed(bot_app)
    [listing] = await bot_app.say(CHAT, "/project")

    sent, answer = await bot_app.tap(CHAT, listing, data)

    assert sent == []
    assert answer == t("ru", "error.stale_button")


async def test_projects_with_more_recent_stories_come_first(bot_app: BotApp) -> None:
    await seed(bot_app)
    # Old news: three stories about Alatau Power more than 30 days ago do not outweigh recent attention,
    # and three outlets reporting one event about Zhetisu Agro count as one story.
    power = discovered("Алатау Пауэр")
    for i in range(3):
        await bot_app.add_article(f"Алатау Пауэр: давняя новость {i}", projects=(power,), hours_ago=24 * 40 + i)
    agro = discovered("Жетісу Агро", "kk")
    first = await bot_app.add_article("«Жетісу Агро» жылыжай ашты", lang="kk", projects=(agro,), hours_ago=3)
    await bot_app.add_article("«Жетісу Агро» открыла теплицу", projects=(agro,), hours_ago=3, story_of=first)
    await bot_app.add_article("Теплица «Жетісу Агро» открыта", projects=(agro,), hours_ago=3, story_of=first)

    [reply] = await bot_app.say(CHAT, "/project")

    # Satimola: 2 recent stories; Zhetisu Agro: 2 (the greenhouse story once, the older one); then by date.
    assert button_texts(reply) == ["Сатимола", "Жетісу Агро", "Алатау Сити", "Алатау Пауэр"]


@pytest.mark.parametrize("ui", ["ru", "kk"])
async def test_a_story_appears_once_in_the_timeline_with_every_report(bot_app: BotApp, ui: str) -> None:
    await seed(bot_app)
    ru = await bot_app.add_article(
        "Инвестор «Сатимолы» подписал соглашение на 120 млн долларов", projects=(SATIMOLA,), hours_ago=1,
        url="https://news.example.kz/ru/deal",
    )
    await bot_app.add_article(
        "Сатимола инвесторы 120 млн долларлық келісімге қол қойды", lang="kk", hours_ago=0.5, story_of=ru,
        url="https://news.example.kz/kk/deal",  # names the project differently: joins by its story
    )

    [reply] = await bot_app.say(CHAT, "/project Satimola", lang=ui)

    text = reply.visible_text
    lines = text.splitlines()
    # The newest story first, headed in the reader's language, the other report as a marked link.
    if ui == "ru":
        assert lines[1].startswith("• Инвестор «Сатимолы» подписал соглашение")
        assert "келісімге қол қойды" not in text
        assert lines[3] == f"    {t(ui, 'digest.also')} Тест & <Ньюс> </a> ({t(ui, 'lang.kk')})"
    else:
        assert lines[1].startswith("• Сатимола инвесторы 120 млн долларлық келісімге")
        assert "подписал соглашение" not in text
        assert lines[3] == f"    {t(ui, 'digest.also')} Тест & <Ньюс> </a> ({t(ui, 'lang.ru')})"
    links = [e["url"] for e in reply.entities if e.get("type") == "text_link"]
    assert links.count("https://news.example.kz/ru/deal") == 1 and links.count("https://news.example.kz/kk/deal") == 1
    # The two older Satimola articles are separate stories, still both shown.
    assert "Сәтімола кен орнында" in text and "месторождении «Сатимола»" in text
