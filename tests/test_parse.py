"""parse_feed on our own fixture feeds: formats, encodings, links, broken feeds and things that are not feeds."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.ingest.fetch import Fetcher
from bot.ingest.normalize import NormalEntry, normalize_entry
from bot.ingest.parse import FeedParseError, ParsedFeed, parse_feed, parse_feed_in_thread
from tests.feed_server import FeedServer, feed_server_fixture  # noqa: F401

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
ZHAIK_URL = "https://zhaik-news.example/rss/ru.xml"
DALA_URL = "https://dala-habar.example/kk/atom.xml"


def load(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def parse(name: str, url: str = ZHAIK_URL, content_type: str | None = None) -> ParsedFeed:
    return parse_feed(load(name), url=url, content_type=content_type)


# --- RSS 2.0 in Russian ---------------------------------------------------------------------------------


def test_rss_ru_feed_metadata() -> None:
    feed = parse("rss20_ru_zko.xml", content_type="application/rss+xml; charset=utf-8")
    assert feed.title == "Жайык Ньюс — экономика ЗКО"
    assert feed.language == "ru"
    assert feed.problem is None
    assert len(feed.entries) == 8


def test_rss_ru_entry_fields() -> None:
    first = parse("rss20_ru_zko.xml").entries[0]
    assert first.title == "Инвестиционный штаб ЗКО обсудил метанольный завод и «Сатимолу»"
    assert first.link == (
        "https://zhaik-news.example/ru/economy/2025/10/investshtab-metanol"
        "?utm_source=rss&utm_medium=feed&utm_campaign=main"
    )
    assert first.guid == "zhaik-ru-10231"
    assert first.published == datetime(2025, 10, 8, 5, 15, tzinfo=UTC)  # 10:15 +05:00


def test_summary_is_the_feeds_html_and_its_text_has_no_script() -> None:
    """parse hands on the description as the feed wrote it (feedparser neither sanitises it nor rewrites its
    URIs: nothing shows feed HTML); normalising leaves only the visible text."""
    entry = parse("rss20_ru_zko.xml").entries[0]
    summary = entry.summary or ""
    assert "<p>" in summary and "&laquo;Сатимола&raquo;" in summary
    assert "<script" in summary and 'src="/media/2025/10/shtab.jpg"' in summary
    normal = normalize_entry(entry, now=datetime(2025, 10, 9, tzinfo=UTC))
    assert isinstance(normal, NormalEntry)
    assert normal.summary == (
        "В Уральске прошло заседание регионального инвестиционного штаба, где отчитались о ходе крупных "
        "проектов. Основное внимание уделили заводу по выпуску жидкого метанола и освоению месторождения "
        "калийных солей «Сатимола» в Акжаикском районе."
    )  # no trackView(…), no «реклама» written by the script


def test_relative_link_is_resolved_against_the_feed_url() -> None:
    entry = parse("rss20_ru_zko.xml").entries[1]
    assert entry.link == "https://zhaik-news.example/ru/business/2025/10/kitayskie-investory"


@pytest.mark.parametrize(
    ("base", "link", "expected"),
    [
        (None, "news/1", "https://dala-habar.example/kk/news/1"),
        ("/kk/ekonomika/", "news/1", "https://dala-habar.example/kk/ekonomika/news/1"),
        ("https://cdn.dala-habar.example/a/", "news/1", "https://cdn.dala-habar.example/a/news/1"),
        ("/kk/ekonomika/", "https://other.example/x", "https://other.example/x"),
        (None, "//other.example/y", "https://other.example/y"),
    ],
)
def test_relative_atom_links_follow_xml_base_then_the_feed_url(base: str | None, link: str, expected: str) -> None:
    """feedparser is not given the feed URL (it would urljoin every absolute link too); an xml:base, relative
    or absolute, still applies before the feed URL does."""
    attr = f' xml:base="{base}"' if base else ""
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<feed xmlns="http://www.w3.org/2005/Atom"{attr}><title>Дала</title>'
        f'<entry><title>Жаңа зауыт</title><id>urn:uuid:1</id><link href="{link}"/></entry></feed>'
    ).encode()
    entry = parse_feed(body, url=DALA_URL).entries[0]
    assert entry.link == expected
    assert entry.guid == "urn:uuid:1"


def test_guid_that_is_not_a_permalink_never_becomes_the_link() -> None:
    no_link = parse("rss20_ru_zko.xml").entries[4]
    assert no_link.guid == "zhaik-ru-10235"
    assert no_link.link is None


def test_permalink_guid_is_kept_as_guid() -> None:
    last = parse("rss20_ru_zko.xml").entries[7]
    assert last.guid == last.link == "https://zhaik-news.example/ru/industry/2025/10/metanol-ochered"


def test_missing_and_future_dates_are_passed_through_raw() -> None:
    """Deciding what to do with them is normalize's job; parse reports what the feed said."""
    entries = parse("rss20_ru_zko.xml").entries
    assert entries[2].published is None
    assert entries[3].published == datetime(2099, 1, 1, 4, 0, tzinfo=UTC)


def test_missing_title_is_none_and_html_title_is_raw() -> None:
    entries = parse("rss20_ru_zko.xml").entries
    assert entries[5].title is None
    assert entries[6].title == '<img src="/media/2025/10/banner.png">'
    assert entries[7].title == "Метанол из Приуралья: <b>первая</b> очередь &amp; сроки запуска"


# --- Atom in Kazakh -------------------------------------------------------------------------------------


def test_atom_kk_feed() -> None:
    feed = parse("atom_kk_bko.xml", url=DALA_URL, content_type="application/atom+xml")
    assert feed.title == "Дала хабар — Батыс Қазақстан"
    assert feed.language == "kk-KZ"
    assert feed.problem is None
    assert [e.title for e in feed.entries][:3] == [
        "БҚО шетел инвестициясы бойынша елдегі алғашқы үштікке енді",
        "Қытай компанияларымен метанол зауыты жөніндегі келіссөз жалғасып жатыр",
        "Ақжайық ауданындағы «Сатимола» кен орнын игеру жоспары талқыланды",
    ]


def test_atom_entry_details() -> None:
    entries = parse("atom_kk_bko.xml", url=DALA_URL).entries
    first, content_only, updated_only, xhtml, undated, html_title = entries
    assert first.published == datetime(2025, 10, 8, 6, 0, tzinfo=UTC)  # published wins over updated
    assert first.guid == "tag:dala-habar.example,2025:kk-501"
    assert "1&nbsp;093 млн АҚШ доллары" in (first.summary or "")
    # A relative href resolves against the feed URL; a summary comes from <content> when it is alone.
    assert content_only.link == "https://dala-habar.example/kk/ekonomika/2025/10/metanol-kelissoz"
    assert (content_only.summary or "").startswith("<p>Облыс әкімдігінің мәліметінше")
    assert updated_only.published == datetime(2025, 10, 6, 10, 0, tzinfo=UTC)
    assert "<b>серіктес</b>" in (xhtml.summary or "")
    assert undated.published is None
    assert html_title.title == "Қазақстан мен ҚХР арасындағы &laquo;жол картасы&raquo; &amp; жаңа жобалар"


# --- RSS 1.0 / RDF --------------------------------------------------------------------------------------


def test_rdf_feed_with_dc_dates() -> None:
    feed = parse("rdf_ru_oral.xml", url="https://oral-times.example/rss.rdf")
    assert feed.title == "Орал таймс"
    assert feed.language == "ru"
    assert len(feed.entries) == 5
    first = feed.entries[0]
    assert first.title == "Поставки зерна из ЗКО в Китай выросли почти на треть"
    assert first.link == "https://oral-times.example/news/2025/10/zerno-kitay"
    assert first.published == datetime(2025, 10, 6, 4, 30, tzinfo=UTC)
    assert feed.entries[2].published == datetime(2025, 10, 4, 17, 45, tzinfo=UTC)


# --- Encodings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "text/xml", "application/rss+xml", "text/html"])
def test_windows_1251_declared_in_the_prolog(content_type: str | None) -> None:
    feed = parse("rss20_ru_cp1251.xml", content_type=content_type)
    assert feed.title == "Приуральская правда"
    assert feed.entries[0].title == "Ещё два инвестпроекта ЗКО вошли в республиканскую карту индустриализации"
    assert "«Сатимола» —" in (feed.entries[0].summary or "")
    assert feed.problem is None  # text/xml without charset is not "us-ascii" here (RFC 7303, not 3023)


def test_windows_1251_declared_only_in_the_http_header() -> None:
    feed = parse("rss20_ru_cp1251_header_only.xml", content_type="application/rss+xml; charset=windows-1251")
    assert feed.entries[0].title == "В Актобе запустили линию по выпуску хромовых ферросплавов"
    assert feed.entries[4].title == "Ёлочный базар в этом году откроют раньше"
    assert feed.problem is None


def test_undeclared_windows_1251_is_guessed_and_reported() -> None:
    feed = parse("rss20_ru_cp1251_header_only.xml", content_type="application/xml")
    assert feed.entries[0].title == "В Актобе запустили линию по выпуску хромовых ферросплавов"
    assert feed.problem == "encoding: not declared, read as windows-1251"


def test_http_charset_wins_over_a_wrong_prolog_and_the_mismatch_is_recorded() -> None:
    feed = parse("rss20_ru_cp1251.xml", content_type="application/rss+xml; charset=utf-8")
    assert feed.entries[0].title.startswith("Ещё два инвестпроекта")  # type: ignore[union-attr]
    assert feed.problem == "encoding: document declared as utf-8, but parsed as windows-1251"


@pytest.mark.parametrize(("codec", "charset"), [("cp1251", "windows-1251"), ("koi8-r", "koi8-r")])
def test_undeclared_russian_legacy_encodings(codec: str, charset: str) -> None:
    body = (
        '<rss version="2.0"><channel><item><title>Экспорт зерна из ЗКО в Китай вырос</title>'
        "<link>https://oral-times.example/1</link><description>Основной объём пришёлся на пшеницу</description>"
        "</item></channel></rss>"
    ).encode(codec)
    feed = parse_feed(body, url="https://oral-times.example/rss")
    assert feed.entries[0].title == "Экспорт зерна из ЗКО в Китай вырос"
    assert feed.problem == f"encoding: not declared, read as {charset}"


def test_western_legacy_text_is_not_taken_for_cyrillic() -> None:
    body = (
        '<rss version="2.0"><channel><item><title>Caf\u00e9 cr\u00e8me \u00e0 Z\u00fcrich f\u00fcr M\u00fcller</title>'
        "<link>https://a.example/1</link></item></channel></rss>"
    ).encode("cp1252")
    feed = parse_feed(body, url="https://a.example/rss")
    assert feed.entries[0].title == "Caf\u00e9 cr\u00e8me \u00e0 Z\u00fcrich f\u00fcr M\u00fcller"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_feeds(codec: str) -> None:
    text = load("atom_kk_bko.xml").decode("utf-8").replace('encoding="utf-8"', f'encoding="{codec}"')
    feed = parse_feed(text.encode(codec), url=DALA_URL)
    assert feed.entries[0].title == "БҚО шетел инвестициясы бойынша елдегі алғашқы үштікке енді"


async def test_windows_1251_through_the_fetcher(feed_server: FeedServer) -> None:
    """End to end: the charset travels from the HTTP header through FetchResult into the parser."""
    feed_server.add_feed(
        "/aktobe.xml",
        load("rss20_ru_cp1251_header_only.xml"),
        content_type="application/rss+xml; charset=windows-1251",
        gzip=True,
    )
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/aktobe.xml"))
    assert result.body is not None and result.final_url is not None
    feed = await parse_feed_in_thread(result.body, url=result.final_url, content_type=result.content_type)
    assert feed.title == "Актобе сегодня"
    assert feed.entries[1].title == "Жители Хромтау получат новую поликлинику"
    assert feed.problem is None


# --- Broken feeds and things that are not feeds ---------------------------------------------------------


def test_broken_feed_with_entries_is_kept_with_its_problem() -> None:
    feed = parse("rss20_ru_broken.xml")
    assert len(feed.entries) == 5
    assert feed.entries[0].title == "Малый бизнес ЗКО получил льготные кредиты"
    assert feed.problem == "XML error: undefined entity at line 12"


def test_valid_feed_without_entries_is_not_an_error() -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Тихий день</title></channel></rss>'.encode()
    )
    feed = parse_feed(body, url=ZHAIK_URL)
    assert feed.entries == [] and feed.title == "Тихий день" and feed.problem is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("not_a_feed.html", "not a feed (an HTML page)"),
        ("binary_garbage.bin", "binary data, not a feed"),
        ("empty.xml", "empty document"),
        ("broken_no_entries.xml", "not a feed: no entries (XML error: mismatched tag at line 4)"),
    ],
)
def test_not_a_feed_reasons(name: str, reason: str) -> None:
    with pytest.raises(FeedParseError) as error:
        parse(name)
    assert str(error.value) == reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b" \r\n\t ", "empty document"),
        (
            b"<?xml version='1.0'?><catalog><book id='1'/></catalog>",
            "not a feed (unknown format: root element <catalog>)",
        ),
        (b'\n{"items": [{"title": "JSON, not XML"}]}', "not a feed (JSON, not XML)"),
        (b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4, "binary data, not a feed"),
        (
            b"<?xml version='1.0'?>\n<!-- a portal -->\n<html><body><p>Hi</p></body></html>",
            "not a feed (an HTML page)",
        ),
    ],
)
def test_more_reasons(body: bytes, reason: str) -> None:
    with pytest.raises(FeedParseError) as error:
        parse_feed(body, url=ZHAIK_URL)
    assert str(error.value) == reason


def test_xhtml_doctype_in_front_of_a_feed_is_not_an_html_page() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n<rss version="2.0"><channel>'
        b"<title>CMS</title></channel></rss>"
    )
    assert parse_feed(body, url=ZHAIK_URL).title == "CMS"


def test_html_page_served_as_a_feed_is_reported_whatever_its_content_type() -> None:
    for content_type in ("application/rss+xml", "text/html; charset=utf-8", None):
        with pytest.raises(FeedParseError, match=r"^not a feed \(an HTML page\)$"):
            parse("not_a_feed.html", content_type=content_type)


def test_a_body_that_names_a_file_is_not_read_from_disk(tmp_path: Path) -> None:
    """feedparser.parse() would open() a bytes value that is a path; we never hand it one."""
    secret_feed = tmp_path / "local.xml"
    secret_feed.write_bytes(load("rss20_ru_zko.xml"))
    with pytest.raises(FeedParseError):
        parse_feed(str(secret_feed).encode(), url=ZHAIK_URL)


# --- Entity expansion -----------------------------------------------------------------------------------


def test_billion_laughs_is_harmless() -> None:
    started = time.monotonic()
    with pytest.raises(FeedParseError) as error:
        parse("billion_laughs.xml")
    assert str(error.value).startswith("not a feed: no entries (XML error: ")
    assert time.monotonic() - started < 2


def test_billion_laughs_inside_a_real_feed_is_not_expanded() -> None:
    feed = parse("billion_laughs_rss.xml")
    assert len(feed.entries) == 1
    entry = feed.entries[0]
    assert entry.title == "&lol9;"
    assert len(entry.summary or "") < 100
    assert feed.problem is not None and feed.problem.startswith("XML error: ")


def test_quadratic_blowup_is_bounded() -> None:
    """One plain 10 KB entity used 10,000 times: 40 KB of feed, 100 MB if expanded."""
    value = "ha" * 5000
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "{value}">\n]>\n<rss version="2.0"><channel>'
        "<item><title>Шабуыл</title><link>https://q.example/1</link><description>"
        + "&a;" * 10_000
        + "</description></item></channel></rss>"
    ).encode()
    started = time.monotonic()
    feed = parse_feed(body, url="https://q.example/rss")
    assert time.monotonic() - started < 2
    assert len(feed.entries[0].summary or "") < 2 * len(body)  # the references stay as literal text


def test_small_entities_a_feed_really_uses_still_work() -> None:
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n  <!ENTITY region "\xd0\x97\xd0\x9a\xd0\x9e">\n]>\n'
        b'<rss version="2.0"><channel><item><title>&region;: metanol</title>'
        b"<link>https://a.example/1</link></item></channel></rss>"
    )
    feed = parse_feed(body, url="https://a.example/rss")
    assert feed.entries[0].title == "ЗКО: metanol"
    assert feed.problem is None


# --- A 10 MB feed must not stall the event loop ---------------------------------------------------------


def big_feed(target_bytes: int) -> bytes:
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Большая лента</title>\n'
    parts = [head]
    size = len(head.encode())
    number = 0
    while size < target_bytes:
        paragraph = "<p>Китайские инвесторы и дорожная карта по метанолу в ЗКО. </p>" * 20
        item = (
            f"<item><title>Инвестиции в ЗКО: проект №{number}</title>"
            f"<link>https://big.example/news/{number}</link>"
            "<pubDate>Wed, 08 Oct 2025 10:00:00 +0500</pubDate>"
            f"<description><![CDATA[<p>Заметка <b>{number}</b> о «Сатимоле».</p>{paragraph}]]></description></item>\n"
        )
        parts.append(item)
        size += len(item.encode())
        number += 1
    parts.append("</channel></rss>")
    return "".join(parts).encode()


async def test_ten_megabyte_feed_is_parsed_off_the_event_loop() -> None:
    body = big_feed(10 * 1024 * 1024)
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        last = loop.time()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = loop.time()
            gaps.append(now - last - 0.005)
            last = now

    beat = asyncio.create_task(heartbeat())
    started = time.monotonic()
    feed = await parse_feed_in_thread(body, url="https://big.example/rss", content_type="application/rss+xml")
    elapsed = time.monotonic() - started
    done.set()
    await beat
    assert len(feed.entries) > 3000
    assert feed.entries[-1].title is not None and feed.entries[-1].title.startswith("Инвестиции в ЗКО")
    # Timings depend on the machine, so they are reported, not asserted (run with -s to see them).
    print(
        f"\n10 MB feed: {len(body) / 1e6:.1f} MB, {len(feed.entries)} entries, parsed in {elapsed:.2f} s; "
        f"event loop: max blocked {max(gaps) * 1000:.1f} ms, median {sorted(gaps)[len(gaps) // 2] * 1000:.1f} ms "
        f"over {len(gaps)} heartbeats of 5 ms"
    )
