"""Bot handler latency benchmark (run by hand: `.venv/bin/python benchmarks/bench_handlers.py`); results go to
benchmarks/RESULTS.md under "Bot handlers".

Target (issue 3): with 100,000 stored articles and 10,000 subscribers, `/digest` and `/search` handler time
p95 ≤ 50 ms, measured while an ingest pass runs.

Set-up:
- a temporary real SQLite store (`Storage.open`) seeded through the production insert path
  (`ArticleStore.insert_linked`, so the FTS index is filled by its triggers): synthetic Russian and Kazakh
  news over 30 days from 40 outlets, grouped into events (stories of 1-6 reports in either language), with
  reprints, topics, mentions of the shipped catalog's projects and of synthetic companies, and story
  signals / fingerprints for the last 72 hours (what an ingest pass loads); 10,000 subscribers with
  mixed languages and topics;
- a helper process serves the fake Bot API (tests/fake_telegram.py, HTML validation on) and ~200 feeds ×
  50 items per ingest pass (tests/feed_server.py), both on 127.0.0.1: Telegram and the outlets are not
  in the bot's process either, so their CPU does not run on the bot's event loop;
- the bot process runs the production wiring: `create_bot` (with its retry middleware) pointed at the fake,
  `create_dispatcher` with the shipped catalogs and the production ingestor (`IsolatedIngestor`: each pass in
  a child process at nice +10, parsing and tagging in its worker processes).

Measured: each update is fed with `dp.feed_update(bot, update)` (the same entry point polling and the
webhook use), timed from the call until it returns, i.e. until every reply of that update was accepted by
the fake server: middlewares + handler + SQL + rendering + the Bot API round trips. Long-poll latency is
left out on purpose (it depends on Telegram, not on the bot). Updates come one at a time from random
subscribers, 20 ms apart, cycling /digest, /search, /digest <topic>, /search. Phases: idle (before any
ingest), during ingest passes (a sample counts only if the pass ran for its whole duration), idle after
the passes (the 24-hour window then also holds the freshly ingested articles).
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import gc
import json
import logging
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_ingest import heartbeat  # noqa: E402
from benchmarks.machine import describe  # noqa: E402
from bot.config import DEFAULT_PROJECTS_FILE, DEFAULT_TOPICS_FILE  # noqa: E402
from bot.ingest.projects import ProjectCatalog  # noqa: E402
from bot.ingest.reprints import fingerprint  # noqa: E402
from bot.ingest.stories import signals  # noqa: E402
from bot.topics import TopicRules  # noqa: E402
from storage import FeedSpec, NewArticle, ProjectRef, Storage, Subscriber  # noqa: E402

DAYS = 30
OUTLETS = 40
BATCH = 500
GAP = 0.02  # seconds between two updates
SEED = 20251204

# --- a synthetic news world -------------------------------------------------------------------------------------

RU_VOCAB = """
Казахстан инвестиции проект компания области региона района правительство аким министр завод производство
строительство предприятие экономики развития программа бюджета миллиардов миллионов тенге долларов экспорт
импорт торговли товарооборот сотрудничество соглашение меморандум договор партнерство Китай китайской КНР
делегация визит встреча переговоры энергетики электроэнергии нефти газа месторождения добыча угля ветровой
солнечной электростанции мощности промышленности металлургии машиностроения химической удобрений сельского
хозяйства зерна пшеницы урожая фермеров животноводства мяса молока субсидии кредиты банк налоги рабочих мест
работников жителей населения школы больницы дороги ремонт транспорта железной логистики порта границы таможни
цифровизации технологий запуск открытие модернизация реконструкция тонн году неделе сообщили заявил отметил
рассказал подписали обсудили планируется реализация инфраструктуры водоснабжения газификации жилья туризма
экологии выбросов ЗКО Уральске Аксае Атырау Актобе Астане Алматы Шымкенте Караганде Павлодаре Актау метанола
калийных удобрений инвестор иностранных прямых объем рост снижение цены тарифы поддержка бизнеса малого
среднего государственной частного фонд кластер индустриальной зоны специальной экономической зоны
""".split()
KK_VOCAB = """
Қазақстан инвестиция жоба компания облыс өңір аудан үкімет әкім министр зауыт өндіріс құрылыс кәсіпорын
экономика даму бағдарлама бюджет миллиард миллион теңге доллар экспорт импорт сауда тауар айналымы
ынтымақтастық келісім меморандум шарт әріптестік Қытай қытайлық ҚХР делегация сапар кездесу келіссөздер
энергетика электр энергиясы мұнай газ кен орны өндіру көмір жел күн электр станциясы қуат өнеркәсіп
металлургия машина жасау химия тыңайтқыш ауыл шаруашылығы астық бидай өнім фермерлер мал шаруашылығы ет сүт
субсидия несие банк салық жұмыс орындары жұмысшылар тұрғындар халық мектеп аурухана жол жөндеу көлік темір
жол логистика порт шекара кеден цифрландыру технология іске қосу ашылу жаңғырту қайта құру тонна жылы
аптада хабарлады мәлімдеді атап өтті айтты қол қойды талқылады жоспарлануда жүзеге асыру инфрақұрылым сумен
жабдықтау газдандыру тұрғын үй туризм экология БҚО Орал Ақсай Атырау Ақтөбе Астана Алматы Шымкент
Қарағанды Павлодар Ақтау метанол калий тыңайтқыштары инвестор шетелдік тікелей көлем өсім төмендеу баға
тариф қолдау бизнес шағын орта мемлекеттік жеке қор кластер индустриялық аймақ арнайы экономикалық аймақ
""".split()
RU_VERBS = (
    "обсудили",
    "запустят",
    "построят",
    "профинансируют",
    "открыли",
    "подписали",
    "расширят",
    "модернизируют",
)
KK_VERBS = (
    "талқыланды",
    "іске қосылады",
    "салынады",
    "қаржыландырылады",
    "ашылды",
    "қол қойылды",
    "кеңейтіледі",
)
PLACES = (("ЗКО", "БҚО"), ("Уральске", "Оралда"), ("Актобе", "Ақтөбеде"), ("Атырау", "Атырауда"),
          ("Астане", "Астанада"), ("Алматы", "Алматыда"), ("Шымкенте", "Шымкентте"), ("Караганде", "Қарағандыда"),
          ("Аксае", "Ақсайда"), ("Павлодаре", "Павлодарда"), ("Актау", "Ақтауда"), ("Костанае", "Қостанайда"))  # fmt: skip
_SYL = "ка ра та ба жа са ма на ша ла кө тө бө сү құ тұ ақ ай ер ес ат ор ұл ық ел ін".split()
_LATIN = "sin kaz tek pow ner gro chem log agr mun vol ara nova tri ter hua xin lin tai zhon pet".split()
_ROOTS = "Ахмет Бекет Серік Нұр Жан Ерлан Қайрат Төле Өтеп Сағын Мұрат Ғали Әбіл Асқар Болат Дәулет Ерболат".split()
_SUFFIX = ("ов", "ев", "баев", "беков", "галиев", "ханов", "жанов", "таев")
# Generic words that are in a large share of any news (the head of the frequency list); the topical vocabulary
# above comes after them in a fixed shuffled order, so that «инвестиции» is common but not in most articles.
RU_COMMON = """
года также время работы вопрос вопросы сегодня сейчас более около будет было были может нужно новые новых
первый области городе людей рамках словам данным результате течение итогам прошлом этом году текущем месяце
""".split()
KK_COMMON = """
жылы сондай-ақ уақыт жұмыс мәселе бүгін қазір көбірек шамамен болады болды мүмкін қажет жаңа бірінші
облысы қалада адамдар аясында сөзінше деректер нәтижесінде ішінде қорытындысы өткен осы жылы ағымдағы айда
""".split()
_order = random.Random(7)
RU_VOCAB = RU_COMMON + _order.sample(RU_VOCAB, len(RU_VOCAB))
KK_VOCAB = KK_COMMON + _order.sample(KK_VOCAB, len(KK_VOCAB))
_RU_SPELLING = str.maketrans(dict(zip("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкнуууhиАГКНУУУHИ", strict=True)))


@dataclass
class World:
    rng: random.Random
    topics: tuple[str, ...]
    projects: list[ProjectRef]  # the shipped catalog's projects, as ingestion would report them
    people: list[str] = field(default_factory=list)
    villages: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)
    ru_weights: list[float] = field(default_factory=list)
    kk_weights: list[float] = field(default_factory=list)

    @classmethod
    def make(cls, seed: int, topics: tuple[str, ...], catalog: ProjectCatalog) -> World:
        rng = random.Random(seed)
        refs = [
            ProjectRef(key=p.key, name=p.names["ru"], kind=p.kind, known=True, surface=p.names["ru"],
                       name_ru=p.names["ru"], name_kk=p.names["kk"], name_latin=p.names.get("latin"))
            for p in catalog.known
        ]  # fmt: skip
        world = cls(rng, topics, refs)
        world.people = sorted(
            {rng.choice(_ROOTS) + rng.choice(_ROOTS).lower() + rng.choice(_SUFFIX) for _ in range(4000)}
        )
        world.villages = ["".join(rng.choice(_SYL) for _ in range(3)).capitalize() for _ in range(2000)]
        world.companies = [
            " ".join("".join(rng.choice(_LATIN) for _ in range(2)).upper() for _ in range(rng.randint(1, 2)))
            for _ in range(800)
        ]
        # Zipf-like word frequencies: a few words are in a large share of the news, most are rare.
        world.ru_weights = [1 / (r + 1) ** 0.9 for r in range(len(RU_VOCAB))]
        world.kk_weights = [1 / (r + 1) ** 0.9 for r in range(len(KK_VOCAB))]
        return world

    def words(self, lang: str, n: int, rng: random.Random) -> list[str]:
        if lang == "ru":
            return rng.choices(RU_VOCAB, self.ru_weights, k=n)
        return rng.choices(KK_VOCAB, self.kk_weights, k=n)


@dataclass
class Event:
    number: int
    start: datetime
    size: int
    place: int
    person: str
    village: str
    company: str
    project: ProjectRef | None
    topics: tuple[str, ...]
    keywords_ru: list[str]
    keywords_kk: list[str]


@dataclass
class Report:
    event: Event
    lang: str
    title: str
    summary: str
    published: datetime
    seen: datetime
    outlet: int
    reprint_of: int | None = None  # position of the original in the generated list


def make_event(world: World, number: int, start: datetime) -> Event:
    rng = world.rng
    project = rng.choice(world.projects) if world.projects and rng.random() < 0.12 else None
    topics = (
        tuple(sorted(rng.sample(world.topics, rng.choice((1, 1, 2, 2, 3))))) if rng.random() < 0.75 else ()
    )
    if project is not None and "projects" in world.topics and "projects" not in topics:
        topics = tuple(sorted({*topics, "projects"}))
    return Event(
        number=number, start=start, size=1 + min(5, int(rng.expovariate(0.9))), place=rng.randrange(len(PLACES)),
        person=world.people[rng.randrange(12)] if rng.random() < 0.3 else rng.choice(world.people),
        village=rng.choice(world.villages), company=rng.choice(world.companies) if rng.random() < 0.3 else "",
        project=project, topics=topics, keywords_ru=world.words("ru", 4, rng), keywords_kk=world.words("kk", 4, rng),
    )  # fmt: skip


def report_text(world: World, event: Event, lang: str, rng: random.Random) -> tuple[str, str]:
    place_ru, place_kk = PLACES[event.place]
    if lang == "ru":
        keys = event.keywords_ru
        person, village = event.person.translate(_RU_SPELLING), event.village.translate(_RU_SPELLING)
        project = event.project.name_ru if event.project else ""
        title = f"В {place_ru} {rng.choice(RU_VERBS)} {' '.join(keys[:2])} {' '.join(world.words('ru', rng.randint(1, 4), rng))}"
        lead = [f"{person} рассказал о {keys[2]} в селе {village}."]
        if project:
            lead.append(f"Речь идет о проекте {project}.")
        if event.company:
            lead.append(f"Участвует компания {event.company}.")
        lead.append(" ".join(world.words("ru", rng.randint(18, 45), rng)) + ".")
        lead.append(f"На {keys[3]} направят {rng.choice((5, 10, 50, 120, 300))} млрд тенге.")
    else:
        keys = event.keywords_kk
        project = event.project.name_kk if event.project else ""
        title = f"{place_kk} {' '.join(keys[:2])} {rng.choice(KK_VERBS)} {' '.join(world.words('kk', rng.randint(1, 4), rng))}"
        lead = [f"{event.person} {event.village} ауылындағы {keys[2]} туралы айтты."]
        if project:
            lead.append(f"Әңгіме {project} жобасы туралы.")
        if event.company:
            lead.append(f"Жобаға {event.company} компаниясы қатысады.")
        lead.append(" ".join(world.words("kk", rng.randint(18, 45), rng)) + ".")
        lead.append(f"{keys[3]} үшін {rng.choice((5, 10, 50, 120, 300))} млрд теңге бөлінеді.")
    return title[0].upper() + title[1:], " ".join(lead)


def generate(world: World, count: int, now: datetime) -> list[Report]:
    """`count` reports over DAYS days up to `now`, in publication order; ~8 % are reprints of an earlier report."""
    rng = world.rng
    per_event = 1.5  # a little under the mean report count, so that more than `count` are generated
    mean_gap = DAYS * 86400 / (count / per_event)
    out: list[Report] = []
    moment = now - timedelta(days=DAYS)
    number = 0
    while len(out) < count * 1.2 and moment < now:
        number += 1
        event = make_event(world, number, moment)
        for k in range(event.size):
            lang = rng.choice(("ru", "kk"))
            title, lead = report_text(world, event, lang, rng)
            published = moment + timedelta(hours=0 if k == 0 else rng.uniform(0, 36))
            seen = published + timedelta(minutes=rng.uniform(1, 40))
            if seen < now:
                out.append(Report(event, lang, title, lead, published, seen, rng.randrange(OUTLETS)))
        moment += timedelta(seconds=rng.expovariate(1 / mean_gap))
    out.sort(key=lambda r: r.seen)
    out = out[-count:]
    # Reprints: the same text under another outlet, seen a little later.
    for i in range(len(out)):
        if rng.random() < 0.08 and i + 1 < len(out):
            original = out[i]
            copy = Report(original.event, original.lang, original.title, original.summary, original.published,
                          original.seen + timedelta(seconds=30), (original.outlet + 7) % OUTLETS, reprint_of=i)  # fmt: skip
            out[i + 1] = copy if out[i + 1].reprint_of is None else out[i + 1]
    return out


async def seed_articles(storage: Storage, world: World, reports: list[Report], now: datetime) -> None:
    specs = [FeedSpec(f"https://outlet{i}.kz/rss", f"Outlet {i} {'(қаз)' if i % 2 else ''}".strip(),
                      "kk" if i % 2 else "ru") for i in range(OUTLETS)]  # fmt: skip
    feeds = await storage.feeds.sync(specs, now - timedelta(days=DAYS + 1))
    signal_window = now - timedelta(hours=80)
    stored_id: dict[int, int] = {}
    story_of_event: dict[int, int] = {}
    for start in range(0, len(reports), BATCH):
        part = reports[start : start + BATCH]
        rows = []
        first_of_event: dict[int, int] = {}
        for pos, r in enumerate(part):
            index = start + pos
            reprint_of = reprint_in_batch = None
            if r.reprint_of is not None:
                if r.reprint_of in stored_id:
                    reprint_of = stored_id[r.reprint_of]
                elif r.reprint_of >= start:
                    reprint_in_batch = r.reprint_of - start
            known_story = story_of_event.get(r.event.number)
            story_in_batch = first_of_event.get(r.event.number) if known_story is None else None
            if known_story is None and story_in_batch is None:
                first_of_event[r.event.number] = pos
            recent = r.seen >= signal_window
            projects: list[ProjectRef] = []
            if r.event.project is not None:
                projects.append(r.event.project)
            if r.event.company:
                key = "co_" + r.event.company.lower().replace(" ", "_")
                projects.append(ProjectRef(key=key, name=r.event.company, kind="company", surface=r.event.company,
                                           name_latin=r.event.company))  # fmt: skip
            rows.append(
                NewArticle(
                    feed_id=feeds[r.outlet].id, url=f"https://outlet{r.outlet}.kz/news/{index}?utm=1&id={index}",
                    guid=f"g{index}", title=r.title, summary=r.summary, lang=r.lang, published_at=r.published,
                    first_seen_at=r.seen, topics=r.event.topics, projects=tuple(projects),
                    reprint_of=reprint_of, reprint_of_batch_index=reprint_in_batch,
                    fingerprint=fingerprint(r.title, r.summary) if recent else "",
                    story_id=known_story, story_of_batch_index=story_in_batch,
                    story_signals=signals(r.title, r.summary, r.lang).keys() if recent else (),
                )
            )  # fmt: skip
        for pos, inserted in enumerate(await storage.articles.insert_linked(rows)):
            if inserted is not None:
                stored_id[start + pos] = inserted.id
                story_of_event.setdefault(part[pos].event.number, inserted.story_id)


async def seed_subscribers(
    storage: Storage, count: int, topics: tuple[str, ...], now: datetime, rng: random.Random
) -> None:
    """Settings spread like a real audience (as in bench_broadcast): many keep the onboarding topics."""
    subs = []
    for chat in range(1, count + 1):
        chosen = (
            ("investments", "china", "projects")
            if rng.random() < 0.5
            else rng.sample(topics, rng.randint(1, 4))
        )
        news = rng.choices(("both", "ru", "kk"), (5, 3, 2))[0]
        ui = rng.choices(("ru", "kk"), (6, 4))[0]
        subs.append(
            Subscriber(
                chat_id=chat, user_id=chat, ui_lang=ui, news_langs=news, digest_time="09:00", timezone="Asia/Almaty",
                active=True, paused=False, notify_empty=True, topics=tuple(chosen), last_digest_date=None,
                last_digest_at=now - timedelta(hours=20), created_at=now,
            )
        )  # fmt: skip
    await storage.subscribers.add_many(subs, now)


# --- the helper process: fake Bot API + feed server ---------------------------------------------------------------


def make_feed(world: World, n: int, pass_no: int, items: int, now: datetime) -> bytes:
    from tests.feedgen import Item, rss

    rng = random.Random(n * 1000 + pass_no)
    lang = "kk" if n % 2 else "ru"
    out = []
    for i in range(items):
        event = make_event(world, i, now)
        title, lead = report_text(world, event, lang, rng)
        out.append(Item(title, f"https://site{n}.kz/p{pass_no}/news/{i}", f"<p>{lead}</p>", guid=f"{pass_no}-{n}-{i}",
                        published=now - timedelta(minutes=i + 1)))  # fmt: skip
    return rss(out, title=f"Feed {n}")


async def serve(feeds: int, items: int, passes: int) -> None:
    """Runs in its own process: prints the addresses as one JSON line, serves until stdin closes, then prints
    what the fake saw (as a second JSON line)."""
    from tests.fake_telegram import FakeTelegram
    from tests.feed_server import FeedServer

    gc.disable()  # the fake keeps every message; its full collections would stall it (see bench_broadcast)
    now = datetime.now(UTC)
    world = World.make(
        SEED + 1, tuple(TopicRules.load(DEFAULT_TOPICS_FILE).keys), ProjectCatalog.load(DEFAULT_PROJECTS_FILE)
    )
    fake = FakeTelegram()
    server = FeedServer()
    await fake.start()
    await server.start()
    for p in range(passes):
        for n in range(feeds):
            server.add_feed(f"/p{p}/f{n}.xml", make_feed(world, n, p, items, now))
    print(json.dumps({"telegram": fake.base_url, "token": fake.token, "feeds": server.base_url}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    outcomes = Counter(r.outcome for r in fake.requests)
    print(json.dumps({"sent": len(fake.sent), "outcomes": outcomes, "internal_errors": len(fake.internal_errors),
                      "descriptions": Counter(d for d in fake._descriptions_of_requests if d)}), flush=True)  # fmt: skip
    await server.stop()
    await fake.stop()


# --- measuring ------------------------------------------------------------------------------------------------------


@dataclass
class Timing:
    api_seconds: float = 0.0
    calls: int = 0
    texts: list[int] = field(default_factory=list)
    parts: dict[str, float] = field(default_factory=lambda: defaultdict(float))


CURRENT: contextvars.ContextVar[Timing | None] = contextvars.ContextVar("bench_current", default=None)
# Storage calls made by the ingest pass (outside any measured update): how long each one took, by name.


def api_timer() -> Any:
    from aiogram.client.session.middlewares.base import BaseRequestMiddleware

    class ApiTimer(BaseRequestMiddleware):
        """Time spent waiting for the Bot API (the fake) inside one update; the bench's own, not production's."""

        async def __call__(self, make_request: Any, bot: Any, method: Any) -> Any:
            started = time.perf_counter()
            try:
                return await make_request(bot, method)
            finally:
                timing = CURRENT.get()
                if timing is not None:
                    timing.api_seconds += time.perf_counter() - started
                    timing.calls += 1
                    timing.texts.append(len(getattr(method, "text", "") or ""))

    return ApiTimer()


def instrument(storage: Storage) -> None:
    """Time the steps of the two handlers inside each update (wrappers set by the bench on the running objects
    and module globals; product code is unchanged). Nested: "by_ids" and "search" include their "decorate"."""
    import bot.digest.build
    import handlers.digest
    import handlers.search

    def add(label: str, seconds: float) -> None:
        timing = CURRENT.get()
        if timing is not None:
            timing.parts[label] += seconds

    def wrap_async(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                add(label, time.perf_counter() - started)

        setattr(owner, name, wrapper)

    def wrap_sync(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                add(label, time.perf_counter() - started)

        setattr(owner, name, wrapper)

    wrap_async(storage.subscribers, "get", "subscriber")
    wrap_async(storage.articles, "standings", "standings")
    wrap_async(storage.articles, "by_ids", "by_ids")
    wrap_async(storage.articles, "search", "search")
    wrap_async(storage.articles, "decorate", "decorate")
    wrap_sync(bot.digest.build, "place", "place")
    wrap_sync(bot.digest.build, "group_stories", "group")
    wrap_sync(handlers.digest, "render_digest", "render")
    wrap_sync(handlers.search, "render_stories", "render")


class GcWatch:
    """Garbage collections of the bot process while measuring: (phase label, generation, seconds)."""

    def __init__(self) -> None:
        self.phase = "setup"
        self.pauses: list[tuple[str, int, float]] = []
        self._started = 0.0

    def __call__(self, stage: str, info: dict[str, int]) -> None:
        if stage == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((self.phase, info["generation"], time.perf_counter() - self._started))


class ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage()[:300])


@dataclass
class Sample:
    phase: str
    kind: str
    arg: str
    seconds: float
    api_seconds: float
    replies: int
    chars: int
    parts: dict[str, float]


SEARCHES = [
    # ordinary words, both languages
    "инвестиции", "Китай", "Казахстан", "завод", "месторождения", "экспорт зерна", "инвестиции Китай",
    "энергетики электростанции", "Сатимола", "Карачаганак", "метанол", "калийных удобрений", "ЗКО завод",
    "инвестиция", "Қытай", "жоба", "кен орны", "Қарашығанақ", "электр станциясы", "ауыл шаруашылығы",
    "астық экспорт", "БҚО инвестиция", "Орал зауыт",
    # prefixes (every word is a prefix query)
    "инвест", "кита", "метан", "энерг", "сатим", "Қыт", "инвест Қыт", "шетел", "газдан",
    # names, companies, villages (filled in from the world), rare and absent words
    "@person", "@company", "@village", "квантовый компьютер", "blockchain стартап",
    # hostile
    "а", "и", "Қ", "a*", '"инвестиции" OR NEAR(Китай', "<b>Китай</b> &amp; </a>", "🚀🚀 инвест 🇰🇿",
    "title:Китай -завод", "-- DROP TABLE articles; --", "ещё ЁЛКА ёлки", "ййй" * 60,
    " ".join(["инвестиции Китай завод проект жоба Қытай"] * 6)[:199],
]  # fmt: skip
HOSTILE_FROM = SEARCHES.index("а")
DIGEST_TOPICS = ["инвестиции", "china", "Китай", "энергетика", "проекты", "Қытай", "инвестиция", "сауда", "agriculture",
                 "промышленность", "trade", "кит", "нет такой темы"]  # fmt: skip


class Driver:
    def __init__(self, dp: Any, bot: Any, subscribers: int, world: World, rng: random.Random) -> None:
        self.dp = dp
        self.bot = bot
        self.subscribers = subscribers
        self.rng = rng
        self.samples: list[Sample] = []
        self.message_ids = defaultdict(int)
        self.update_id = 1
        self.step = 0
        self.search_i = 0
        self.topic_i = 0
        fill = {"@person": rng.choice(world.people), "@company": rng.choice(world.companies),
                "@village": rng.choice(world.villages)}  # fmt: skip
        self.searches = [fill.get(q, q) for q in SEARCHES]

    def next_command(self) -> tuple[str, str, str]:
        kind = ("digest", "search", "digest_topic", "search")[self.step % 4]
        self.step += 1
        if kind == "digest":
            return kind, "", "/digest"
        if kind == "digest_topic":
            arg = DIGEST_TOPICS[self.topic_i % len(DIGEST_TOPICS)]
            self.topic_i += 1
            return kind, arg, f"/digest {arg}"
        arg = self.searches[self.search_i % len(self.searches)]
        self.search_i += 1
        return kind, arg, f"/search {arg}"

    def update(self, text: str) -> Any:
        from aiogram.types import Update

        chat = self.rng.randint(1, self.subscribers)
        self.message_ids[chat] += 1
        command = text.split(" ", 1)[0]
        raw = {
            "update_id": self.update_id,
            "message": {
                "message_id": self.message_ids[chat], "date": int(time.time()), "text": text,
                "chat": {"id": chat, "type": "private", "first_name": "Test"},
                "from": {"id": chat, "is_bot": False, "first_name": "Test", "language_code": "ru"},
                "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
            },
        }  # fmt: skip
        self.update_id += 1
        return Update.model_validate(raw, context={"bot": self.bot})

    async def one(self, phase: str) -> Sample:
        kind, arg, text = self.next_command()
        update = self.update(text)
        timing = Timing()
        token = CURRENT.set(timing)
        started = time.perf_counter()
        try:
            await self.dp.feed_update(self.bot, update)
        finally:
            seconds = time.perf_counter() - started
            CURRENT.reset(token)
        return Sample(
            phase, kind, arg, seconds, timing.api_seconds, timing.calls, sum(timing.texts), dict(timing.parts)
        )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def in_phase(sample: Sample, phase: str) -> bool:
    """ "ingest" is every pass together; "ingest 2" only the second one."""
    return sample.phase == phase or (phase == "ingest" and sample.phase.startswith("ingest "))


HOSTILE = frozenset(SEARCHES[HOSTILE_FROM:])


def of_kind(sample: Sample, kind: str) -> bool:
    """ "digest any" is /digest with or without a topic; "search plain" leaves out the hostile queries."""
    if kind == "digest any":
        return sample.kind.startswith("digest")
    if kind == "search plain":
        return sample.kind == "search" and sample.arg not in HOSTILE
    return sample.kind == kind


def summary(samples: list[Sample], phase: str, kind: str) -> str:
    times = [s.seconds * 1000 for s in samples if in_phase(s, phase) and of_kind(s, kind)]
    api = [s.api_seconds * 1000 for s in samples if in_phase(s, phase) and of_kind(s, kind)]
    if not times:
        return f"{phase:>12} {kind:<13} no samples"
    # The bot's own time: the same updates less their wait for the (fake) Bot API, whose round trip to the
    # real Telegram would be tens of milliseconds by itself.
    own = [t - a for t, a in zip(times, api, strict=True)]
    return (f"{phase:>12} {kind:<13} n={len(times):4d}  p50 {statistics.median(times):6.1f} ms  p95 {pct(times, 0.95):6.1f} ms  "
            f"max {max(times):7.1f} ms  (Bot API wait p50 {statistics.median(api):5.1f} ms; "
            f"without it p95 {pct(own, 0.95):5.1f} ms)")  # fmt: skip


def census(when: str) -> None:
    objects = gc.get_objects()
    kinds = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)
    print(
        f"objects tracked by the garbage collector {when}: {len(objects)}; most common: "
        + ", ".join(f"{k} {n}" for k, n in kinds.most_common(8))
    )
    started = time.perf_counter()
    gc.collect()
    print(f"  one full collection now: {(time.perf_counter() - started) * 1000:.0f} ms")


def machine() -> str:
    import aiogram

    return describe(f"aiogram {aiogram.__version__}")


async def bench(args: argparse.Namespace) -> None:
    from bot.app import create_dispatcher
    from bot.config import Settings
    from bot.ingest.isolated import IsolatedIngestor
    from bot.services import Catalogs
    from bot.telegram.session import create_bot

    print("machine:", machine())
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    # Blocking on purpose: nothing is measured yet.
    helper = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, __file__, "--serve", str(args.feeds), str(args.items), str(args.passes)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert helper.stdout is not None and helper.stdin is not None
    addresses = json.loads(helper.stdout.readline())
    errors = ErrorCounter()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger().addHandler(errors)

    now = datetime.now(UTC)
    topics = TopicRules.load(DEFAULT_TOPICS_FILE)
    catalog = ProjectCatalog.load(DEFAULT_PROJECTS_FILE)
    world = World.make(SEED, tuple(topics.keys), catalog)
    rng = random.Random(SEED + 2)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        reports = generate(world, args.articles, now)
        gen_time = time.perf_counter() - t0
        storage = await Storage.open(Path(tmp) / "bench.sqlite3")
        t0 = time.perf_counter()
        await seed_articles(storage, world, reports, now)
        await seed_subscribers(storage, args.subscribers, tuple(topics.keys), now, rng)
        seed_time = time.perf_counter() - t0
        day = sum(1 for r in reports if r.seen >= now - timedelta(hours=24))
        del reports
        gc.collect()
        async with storage.db.conn.execute(
            "SELECT count(*), count(DISTINCT story_id), count(reprint_of) FROM articles"
        ) as cur:
            n_articles, n_stories, n_reprints = await cur.fetchone()  # type: ignore[misc]
        async with storage.db.conn.execute("SELECT count(*) FROM article_search") as cur:
            (n_fts,) = await cur.fetchone()  # type: ignore[misc]
        async with storage.db.conn.execute("SELECT count(*) FROM subscribers") as cur:
            (n_subs,) = await cur.fetchone()  # type: ignore[misc]
        print(f"store: {n_articles} articles ({n_stories} stories, {n_reprints} reprints, {day} first seen in the last "
              f"24 h), {n_fts} rows in the FTS index, {n_subs} subscribers; generated in {gen_time:.1f} s, "
              f"seeded in {seed_time:.1f} s; database {Path(tmp, 'bench.sqlite3').stat().st_size / 2**20:.0f} MB")  # fmt: skip

        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=addresses["token"],
            telegram_api_url=addresses["telegram"],
            database_path=Path(tmp) / "bench.sqlite3",
        )
        catalogs = Catalogs(feeds=[], topics=topics, projects=catalog)
        # As bot.app.run_bot does: each pass in a child process at a lower priority (bot/ingest/isolated.py).
        ingestor = IsolatedIngestor(settings)
        bot = create_bot(settings)
        bot.session.middleware(api_timer())
        dp = create_dispatcher(storage=storage, settings=settings, catalogs=catalogs, ingestor=ingestor)
        if not args.no_freeze:
            from bot.memory import freeze_long_lived

            freeze_long_lived()  # as bot.app.run_bot does after start-up
        instrument(storage)
        driver = Driver(dp, bot, args.subscribers, world, rng)
        report_lines = []
        watch = GcWatch()
        gc.callbacks.append(watch)
        try:
            for _ in range(args.warmup):
                await driver.one("warmup")
                await asyncio.sleep(GAP)
            samples = driver.samples
            if args.heap:
                census("before measuring")

            async def idle(phase: str, count: int) -> None:
                report_lines.append(f"{phase}: measured from {datetime.now(UTC):%H:%M:%S} UTC")
                watch.phase = phase
                for _ in range(count):
                    samples.append(await driver.one(phase))
                    await asyncio.sleep(GAP)

            await idle("idle", args.idle)

            gaps: list[float] = []
            stop = asyncio.Event()
            beat = asyncio.create_task(heartbeat(stop, gaps))
            for p in range(args.passes):
                specs = [
                    FeedSpec(f"{addresses['feeds']}/p{p}/f{n}.xml", f"Feed {n}", "auto")
                    for n in range(args.feeds)
                ]
                t0 = time.perf_counter()
                watch.phase = "ingest"
                report_lines.append(f"ingest pass {p + 1}: started {datetime.now(UTC):%H:%M:%S} UTC")
                task = asyncio.create_task(ingestor.run_pass(specs))
                await asyncio.sleep(0)  # the pass starts and takes its lock (free, so without waiting)
                assert ingestor.running or task.done()
                while not task.done():
                    sample = await driver.one(f"ingest {p + 1}")
                    if not task.done():
                        samples.append(sample)
                    await asyncio.sleep(GAP)
                result = task.result()
                report_lines.append(f"ingest pass {p + 1}: {time.perf_counter() - t0:.1f} s, {result.new} new, "
                                    f"{result.duplicate} duplicate, {result.failed} failed feeds")  # fmt: skip
            stop.set()
            await beat
            if args.heap:
                census("after the passes")
            await idle("idle after", args.idle_after)
            report_lines.append(f"measurements ended {datetime.now(UTC):%H:%M:%S} UTC")
        finally:
            gc.callbacks.remove(watch)
            if bot.session._session is not None:  # type: ignore[attr-defined]
                await bot.session._session.close()  # type: ignore[attr-defined]
            await storage.close()
            helper.stdin.close()
            fake_report = json.loads(helper.stdout.readline() or "{}")
            helper.wait(timeout=30)

    for line in report_lines:
        print(line)
    for phase in ("idle", "ingest", "idle after"):
        full = [sec for ph, gen, sec in watch.pauses if ph == phase and gen == 2]
        young = [sec for ph, gen, sec in watch.pauses if ph == phase and gen < 2]
        if full or young:
            print(
                f"garbage collections in phase {phase!r}: {len(young)} young (longest "
                f"{max(young, default=0) * 1000:.1f} ms), {len(full)} full (longest {max(full, default=0) * 1000:.1f} ms, "
                f"total {sum(full) * 1000:.0f} ms)"
            )
    print(f"longest event-loop stall during the passes (5 ms heartbeat): {max(gaps) * 1000:.1f} ms")
    print("handler time per update (feed_update → every reply accepted by the fake):")
    phases = [
        "idle",
        "ingest",
        *(f"ingest {p + 1}" for p in range(args.passes) if args.passes > 1),
        "idle after",
    ]
    for phase in phases:
        for kind in ("digest", "digest_topic", "digest any", "search", "search plain"):
            print(summary(samples, phase, kind))
        both = [s.seconds * 1000 for s in samples if in_phase(s, phase)]
        if both:
            print(f"{phase:>12} {'all':<13} n={len(both):4d}  p95 {pct(both, 0.95):6.1f} ms")
    print(
        "where the time goes (median ms per update; by_ids and search include decorate; "
        "api = waiting for the fake Bot API):"
    )
    for phase in phases:
        for kind in ("digest", "digest_topic", "search"):
            chosen = [s for s in samples if in_phase(s, phase) and s.kind == kind]
            if not chosen:
                continue
            labels = sorted({k for s in chosen for k in s.parts})
            cells = [
                f"{k} {statistics.median(s.parts.get(k, 0.0) for s in chosen) * 1000:.1f}" for k in labels
            ]
            cells.append(f"api {statistics.median(s.api_seconds for s in chosen) * 1000:.1f}")
            slow = sorted(chosen, key=lambda s: s.seconds)[int(len(chosen) * 0.95) :]
            tail = [f"{k} {statistics.mean(s.parts.get(k, 0.0) for s in slow) * 1000:.1f}" for k in labels]
            tail.append(f"api {statistics.mean(s.api_seconds for s in slow) * 1000:.1f}")
            print(f"{phase:>12} {kind:<13} median: {', '.join(cells)}")
            print(
                f"{'':>12} {'':<13} slowest 5 % (mean): total {statistics.mean(s.seconds for s in slow) * 1000:.1f}, "
                f"{', '.join(tail)}"
            )
    by_query: dict[tuple[str, str], list[float]] = defaultdict(list)
    for s in samples:
        if s.phase == "idle":
            by_query[(s.kind, s.arg)].append(s.seconds * 1000)
    print("slowest arguments when idle (before ingesting):")
    for (kind, arg), times in sorted(by_query.items(), key=lambda kv: -statistics.median(kv[1]))[:12]:
        print(
            f"  {kind:<13} {arg[:50]!r:<54} median {statistics.median(times):6.1f} ms  max {max(times):6.1f} ms  n={len(times)}"
        )
    replies = Counter((s.kind, s.replies) for s in samples)
    print("replies per update:", dict(sorted(replies.items())))
    print(f"fake Bot API: {fake_report}")
    print(
        f"handler errors logged: {len(errors.records)}"
        + (f" e.g. {errors.records[:2]}" if errors.records else "")
    )
    print(f"peak RSS of the bot process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--feeds", type=int, default=200, help="feeds per ingest pass")
    parser.add_argument("--items", type=int, default=50, help="items per feed")
    parser.add_argument("--passes", type=int, default=2, help="ingest passes (each over new items)")
    parser.add_argument("--idle", type=int, default=400, help="updates measured before ingesting")
    parser.add_argument("--idle-after", type=int, default=200, help="updates measured after the passes")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-freeze", action="store_true", help="skip run_bot's start-up gc.freeze (to compare)")
    parser.add_argument(
        "--heap",
        action="store_true",
        help="diagnosis: print the objects the cyclic garbage collector tracks, by type, before measuring",
    )
    parser.add_argument(
        "--slow-callbacks",
        action="store_true",
        help="diagnosis only (slows everything): asyncio debug mode logs every callback over 50 ms",
    )
    parser.add_argument(
        "--serve", nargs=3, type=int, metavar=("FEEDS", "ITEMS", "PASSES"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(*args.serve))
        return
    if args.slow_callbacks:

        async def debugged() -> None:
            loop = asyncio.get_running_loop()
            loop.set_debug(True)
            loop.slow_callback_duration = 0.05
            await bench(args)

        asyncio.run(debugged())
        return
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
