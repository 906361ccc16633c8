"""Story-linking benchmark (run by hand: `python benchmarks/bench_stories.py`); results go to benchmarks/RESULTS.md.

Stores 100,000 synthetic articles spread over 30 days — Russian and Kazakh, grouped into events of one to six
reports, with the signal mix of real regional news (a few officials and places in everything, many rare
villages, companies and specific amounts, round amounts and years everywhere) — then measures for new articles:
- the pass setup: loading the 72-hour window from storage and building the story index;
- the decision: `StoryIndex.best` (candidate lookup through rare signals + scoring), median ≤ 5 ms wanted;
- the whole per-article write: `Ingestor._write_chunk` (reprint and story decisions, the insert transaction,
  index upkeep) per article, in chunks of 20 (a feed's new items in one pass) and of 1;
- signal extraction (`signals()`, run in the worker processes) per article, for scale.
It also prints how often new articles joined the story of their synthetic event.
"""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import DEFAULT_PROJECTS_FILE, DEFAULT_TOPICS_FILE
from bot.ingest.analyse import Tagged
from bot.ingest.normalize import NormalEntry
from bot.ingest.pipeline import REPRINT_WINDOW, FeedReport, Ingestor
from bot.ingest.projects import ProjectCatalog
from bot.ingest.reprints import ReprintIndex, fingerprint
from bot.ingest.stories import STORY_WINDOW, StoryIndex, signals
from bot.topics import TopicRules
from storage import FeedSpec, NewArticle, Storage
from tests.feed_server import FeedServer
from tests.feedgen import rss

STORED = 100_000
DAYS = 30
NEW = 2_000
SAMPLE = 3_000
BATCH = 500
TOPICS = ("investments", "china", "projects", "energy", "industry", "agriculture", "trade")
SEED = 20251008

# --- a synthetic news world ----------------------------------------------------------------------------------

_KK_ROOTS = (
    "Ахмет Бекет Серік Нұр Жан Ерлан Қайрат Төле Өтеп Сағын Мұрат Ғали Әбіл Асқар Болат Дәулет Ерболат Жұмаш "
    "Қуаныш Мәди Нұрлан Орал Рахым Сейіт Талғат Ұзақ Шыңғыс Әлібек Бауыр Досым Есен Жақсы Иса Кәрім Ләззат "
    "Мақсат Нәби Оспан Пернебай Рысбек Сұлтан Тұрар Үмбет Хасен Шоқан Ықылас Іскендір Әділ Ғабит"
).split()
_SUFFIX = ("ов", "ев", "баев", "беков", "галиев", "ханов", "жанов", "таев", "мұратов", "сейітов")
_SYLLABLES = "ка ра та ба жа са ма на ша ла кө тө бө сү құ тұ ақ ай ер ес ат ор ұл ық ел ін".split()
_LATIN_SYL = "sin kaz tek pow ner gro chem log agr mun vol ara nova tri ter hua xin lin tai zhon pet".split()
_ALIAS_PLACES = (
    ("ЗКО", "БҚО"), ("Уральске", "Оралда"), ("Актобе", "Ақтөбеде"), ("Атырау", "Атырауда"), ("Астане", "Астанада"),
    ("Алматы", "Алматыда"), ("Шымкенте", "Шымкентте"), ("Караганде", "Қарағандыда"), ("Костанае", "Қостанайда"),
    ("Павлодаре", "Павлодарда"), ("Акжаикском районе", "Ақжайық ауданында"), ("Актау", "Ақтауда"),
)
_CURRENCY = (("долларов", "доллар"), ("тенге", "теңге"), ("евро", "еуро"))
_MULT = (("млн", "млн"), ("млрд", "млрд"), ("тыс.", "мың"))


# How Russian-language outlets usually print Kazakh names: Төреғалиев → Турегалиев.
_RU_SPELLING = str.maketrans(dict(zip("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкнуууxиАГКНУУУХИ".replace("x", "х"), strict=True)))


def _ru_name(kk: str) -> str:
    return kk.translate(_RU_SPELLING)


def _popular(rng: random.Random, items: list[str], top: int, share: float) -> str:
    """`share` of the picks go to the `top` first items (well-known people, big companies), the rest to anyone."""
    return items[rng.randrange(top)] if rng.random() < share else rng.choice(items)


@dataclass
class World:
    rng: random.Random
    people: list[str] = field(default_factory=list)
    villages: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)

    @classmethod
    def make(cls, seed: int) -> World:
        rng = random.Random(seed)
        world = cls(rng)
        people = {rng.choice(_KK_ROOTS) + rng.choice(_KK_ROOTS).lower() + rng.choice(_SUFFIX) for _ in range(6000)}
        world.people = sorted(people)
        rng.shuffle(world.people)
        world.villages = ["".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize() for _ in range(3000)]
        world.companies = [
            " ".join("".join(rng.choice(_LATIN_SYL) for _ in range(2)).upper() for _ in range(rng.randint(1, 2)))
            for _ in range(1500)
        ]
        world.quoted = [
            f"{rng.choice(world.villages)} {rng.choice(['Агро', 'Энерго', 'Құрылыс', 'Сервис', 'Металл'])}"
            for _ in range(2000)
        ]
        return world


@dataclass(frozen=True)
class Event:
    number: int
    start: datetime
    size: int
    facts: dict[str, str]
    topics: tuple[str, ...]


def _amount(rng: random.Random) -> tuple[str, str, int]:
    """(ru, kk) amount text and the currency index: 70 % round (500 млн), 30 % specific (1 093 млн)."""
    mult = rng.choice(_MULT)
    if rng.random() < 0.7:
        value = str(rng.choice([1, 2, 3, 5, 10, 15, 20, 50, 100, 150, 200, 300, 500]))
    elif rng.random() < 0.5:
        value = f"{rng.randint(1, 99)},{rng.randint(1, 9)}"
    else:
        value = f"{rng.randint(101, 9999):,}".replace(",", " ")
    currency = rng.randrange(len(_CURRENCY))
    return f"{value} {mult[0]}", f"{value} {mult[1]}", currency


def make_event(world: World, number: int, start: datetime) -> Event:
    rng = world.rng
    size = 1 + min(5, int(rng.expovariate(0.9)))
    amount_ru, amount_kk, cur = _amount(rng)
    ratio = f"{rng.randint(1, 3)},{rng.randint(1, 9)}"
    facts = {
        "person": _popular(rng, world.people, 60, 0.3),
        "official": world.people[rng.randrange(12)],  # the governor and his deputies: in a large share of news
        "place": str(rng.randrange(len(_ALIAS_PLACES)) if rng.random() < 0.8 else rng.randrange(3)),
        "village": rng.choice(world.villages),
        "company": _popular(rng, world.companies, 20, 0.3) if rng.random() < 0.25 else "",
        "quoted": rng.choice(world.quoted) if rng.random() < 0.2 else "",
        "amount_ru": amount_ru,
        "amount_kk": amount_kk,
        "currency": str(cur),
        "ratio": ratio if rng.random() < 0.3 else "",
        "count": str(rng.choice([120, 250, 300, 450, 1200, rng.randint(101, 5000)])),
    }
    topics = tuple(sorted(rng.sample(TOPICS, rng.randint(1, 2)))) if rng.random() < 0.6 else ()
    return Event(number, start, size, facts, topics)


def article_text(world: World, event: Event, lang: str, rng: random.Random) -> tuple[str, str]:
    """Title and lead of one report of the event, with the event's facts (some left out) and some noise."""
    f = event.facts
    place_ru, place_kk = _ALIAS_PLACES[int(f["place"])]
    person_kk = f["person"]
    person = person_kk if lang == "kk" else _ru_name(person_kk)
    official = f["official"] if lang == "kk" else _ru_name(f["official"])
    village = f["village"] if lang == "kk" else _ru_name(f["village"])
    cur_ru, cur_kk = _CURRENCY[int(f["currency"])]
    keep = [rng.random() < 0.8 for _ in range(6)]
    if lang == "ru":
        title = f"В {place_ru} {rng.choice(['обсудили', 'запустят', 'построят', 'профинансируют'])} новый проект"
        parts = [f"Руководитель управления {person} рассказал о работе в селе {village}."]
        if keep[0]:
            parts.append(f"На проект направят {f['amount_ru']} {cur_ru} до 2027 года.")
        if keep[1] and f["ratio"]:
            parts.append(f"Показатель вырос в {f['ratio']} раза.")
        if keep[2] and f["company"]:
            parts.append(f"Участвует компания {f['company']}.")
        if keep[3] and f["quoted"]:
            parts.append(f"Подрядчиком стало ТОО «{f['quoted']}».")
        if keep[4]:
            parts.append(f"Работу получат {f['count']} человек, сообщил аким {official} 8 октября.")
    else:
        title = f"{place_kk} жаңа жоба {rng.choice(['талқыланды', 'іске қосылады', 'салынады', 'қаржыландырылады'])}"
        parts = [f"Басқарма басшысы {person} {village} ауылындағы жұмыс туралы айтты."]
        if keep[0]:
            parts.append(f"Жобаға 2027 жылға дейін {f['amount_kk']} {cur_kk} бөлінеді.")
        if keep[1] and f["ratio"]:
            parts.append(f"Көрсеткіш {f['ratio']} есе өсті.")
        if keep[2] and f["company"]:
            parts.append(f"Жобаға {f['company']} компаниясы қатысады.")
        if keep[3] and f["quoted"]:
            parts.append(f"Мердігер – «{f['quoted']}» ЖШС.")
        if keep[4]:
            parts.append(f"Әкім {official} 8 қазанда {f['count']} адам жұмыс табатынын айтты.")
    return title, " ".join(parts)


@dataclass
class Synthetic:
    event: Event
    lang: str
    title: str
    lead: str
    published: datetime
    url: str


def generate(world: World, start: datetime, until: datetime, per_day: float) -> list[Synthetic]:
    """Reports in publication order; an event's reports follow its start within a day and a half."""
    rng = world.rng
    out: list[Synthetic] = []
    moment = start
    number = 0
    mean_gap = 86400 / per_day
    while moment < until:
        number += 1
        event = make_event(world, number, moment)
        for k in range(event.size):
            lang = rng.choice(("ru", "kk"))
            title, lead = article_text(world, event, lang, rng)
            published = moment + timedelta(hours=0 if k == 0 else rng.uniform(0, 36))
            out.append(Synthetic(event, lang, title, lead, published, f"https://s{rng.randrange(200)}.kz/{number}-{k}"))
        moment += timedelta(seconds=rng.expovariate(1 / mean_gap))
    out.sort(key=lambda s: s.published)
    return out


def tagged(s: Synthetic) -> Tagged:
    entry = NormalEntry(s.title, s.lead, s.url, None, s.published)
    return Tagged(entry, s.lang, s.event.topics, (), fingerprint(s.title, s.lead), signals(s.title, s.lead, s.lang))


# --- measuring ---------------------------------------------------------------------------------------------------


class GcWatch:
    """The longest garbage collection while measuring: an outlier of a few hundred ms is usually one of these,
    paid by whatever code happens to run, not by the code measured."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._started)


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[int(len(values) * 0.95)]
    return f"median {statistics.median(values) * 1000:.3f} ms, p95 {p95 * 1000:.3f} ms, max {values[-1] * 1000:.2f} ms"


async def store(storage: Storage, feed_id: int, items: list[Synthetic], now: datetime) -> dict[int, int]:
    """Insert the stored history with each event as one story; returns event number → story id."""
    story_of_event: dict[int, int] = {}
    for start in range(0, len(items), BATCH):
        part = items[start : start + BATCH]
        rows = []
        first_in_batch: dict[int, int] = {}
        for position, s in enumerate(part):
            t = tagged(s)
            known = story_of_event.get(s.event.number)
            in_batch = first_in_batch.get(s.event.number) if known is None else None
            if known is None and in_batch is None:
                first_in_batch[s.event.number] = position
            rows.append(
                NewArticle(
                    feed_id=feed_id, url=s.url, guid=None, title=s.title, summary=s.lead, lang=s.lang,
                    published_at=s.published, first_seen_at=s.published, topics=s.event.topics,
                    fingerprint=t.fingerprint, story_id=known, story_of_batch_index=in_batch,
                    story_signals=t.story.keys(),
                )
            )  # fmt: skip
        for s, inserted in zip(part, await storage.articles.insert_linked(rows), strict=True):
            if inserted is not None:
                story_of_event.setdefault(s.event.number, inserted.story_id)
    return story_of_event


async def main() -> None:
    now = datetime(2025, 10, 8, 12, 0, tzinfo=UTC)
    world = World.make(SEED)
    per_day = STORED / DAYS / 1.6  # events per day (1.6 reports per event on average)
    t0 = time.perf_counter()
    history = generate(world, now - timedelta(days=DAYS + 3), now + timedelta(days=1), per_day)
    stored_items = [s for s in history if s.published < now][-STORED:]
    new_items = [s for s in history if s.published >= now][:NEW]
    gen_time = time.perf_counter() - t0

    sample = [(s.title, s.lead, s.lang) for s in stored_items[:SAMPLE]]
    t0 = time.perf_counter()
    extracted = [signals(*x) for x in sample]
    extract = (time.perf_counter() - t0) / len(sample)
    kinds = {k: statistics.mean(len(getattr(x, k)) for x in extracted) for k in
             ("numbers", "latin", "quoted", "names", "openers", "aliases")}  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        storage = await Storage.open(Path(tmp) / "bench.sqlite3")
        server = FeedServer()
        await server.start()
        server.add_feed("/empty.xml", rss([]))
        spec = FeedSpec(server.url("/empty.xml"), "Bench", "auto")
        [feed] = await storage.feeds.sync([spec], now)
        t0 = time.perf_counter()
        story_of_event = await store(storage, feed.id, stored_items, now)
        store_time = time.perf_counter() - t0
        stored_count = len(stored_items)
        # The generated history is the benchmark's own baggage, not the service's: drop it before measuring so
        # that garbage collections walk a heap like the service's (the index, storage, the rules).
        del history, stored_items, sample, extracted
        gc.collect()

        # Pass setup as run_pass does it: the window from storage, the index built in a thread.
        setups = []
        for _ in range(3):
            t0 = time.perf_counter()
            recent = await storage.articles.recent_story_signals(now - STORY_WINDOW)
            index = await asyncio.to_thread(StoryIndex.from_recent, recent)
            setups.append(time.perf_counter() - t0)
        window = len(index)

        new_tagged = [tagged(s) for s in new_items]
        watch = GcWatch()
        gc.callbacks.append(watch)
        decisions = []
        for t in new_tagged:
            t0 = time.perf_counter()
            index.best(t.story, t.entry.published, t.topics)
            decisions.append(time.perf_counter() - t0)

        # The whole per-article write, through the pipeline's own step (run_pass builds the indexes first).
        ingestor = Ingestor(
            storage, TopicRules.load(DEFAULT_TOPICS_FILE), ProjectCatalog.load(DEFAULT_PROJECTS_FILE),
            clock=lambda: now,
        )  # fmt: skip
        t0 = time.perf_counter()
        await ingestor.run_pass([spec])
        pass_setup = time.perf_counter() - t0
        reprints = ReprintIndex()
        reprints.extend(
            (r.id, r.root_id, r.lang, r.fingerprint)
            for r in await storage.articles.recent_fingerprints(now - REPRINT_WINDOW)
        )
        report = FeedReport(name="bench", url=spec.url, status="ok")
        writes: dict[int, list[float]] = {20: [], 1: []}
        half = len(new_tagged) // 2
        for size, part in ((20, new_tagged[:half]), (1, new_tagged[half:])):
            for start in range(0, len(part), size):
                chunk = part[start : start + size]
                t0 = time.perf_counter()
                async with reprints.lock:
                    await ingestor._write_chunk(feed, chunk, reprints, report, now)
                writes[size].append((time.perf_counter() - t0) / len(chunk))

        gc.callbacks.remove(watch)
        stored_new = {a.url: (a.id, a.story_id) async for a in storage.articles.iter_all() if a.published_at >= now}
        follow_right = follow_wrong = follow_alone = first_reports = first_joined = 0
        first_new: dict[int, int] = {}
        for item in new_items:
            article_id, story = stored_new[item.url]
            expected = story_of_event.get(item.event.number) or first_new.get(item.event.number)
            if expected is None:  # the first report of a new event should start its own story
                first_new[item.event.number] = story or article_id
                first_reports += 1
                first_joined += story != article_id
            elif story == expected:
                follow_right += 1
            elif story == article_id:
                follow_alone += 1
            else:
                follow_wrong += 1
        await storage.close()
        await server.stop()

    print(f"machine: {platform.node()} {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"stored: {stored_count} synthetic articles over {DAYS} days ({len(story_of_event)} events); "
          f"generated in {gen_time:.1f} s, stored in {store_time:.1f} s")
    print("signals per article (mean): " + ", ".join(f"{k} {v:.1f}" for k, v in kinds.items()))
    print(f"signal extraction (worker side): {extract * 1000:.3f} ms per article (mean of {SAMPLE})")
    print(f"pass setup, load the 72 h window ({window} articles) + build the index: "
          f"median {statistics.median(setups):.3f} s; a whole run_pass with one empty feed: {pass_setup:.3f} s")
    print(f"decision (StoryIndex.best: lookup + scoring), {len(decisions)} new articles: {ms(decisions)}")
    print(f"whole write per article (_write_chunk), chunks of 20: {ms(writes[20])}")
    print(f"whole write per article (_write_chunk), chunks of 1:  {ms(writes[1])}")
    print(f"longest garbage collection while measuring decisions and writes: {watch.longest * 1000:.1f} ms")
    follow = follow_right + follow_wrong + follow_alone
    print(f"synthetic linking: {follow} follow-up reports joined their event's story {follow_right}, another story "
          f"{follow_wrong}, started their own {follow_alone}; {first_reports} first reports joined an "
          f"existing story {first_joined}")


if __name__ == "__main__":
    asyncio.run(main())
