"""Pure normalisation: HTML to text, canonical URLs, publication times, skip reasons, summary trimming."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.ingest.normalize import (
    NormalEntry,
    SkipReason,
    canonical_url,
    html_to_text,
    normalize_entry,
    publication_time,
    trim_text,
)
from bot.ingest.parse import RawEntry, parse_feed

NOW = datetime(2025, 10, 8, 12, 0, tzinfo=UTC)
FEEDS = Path(__file__).parent / "fixtures" / "feeds"


def raw(**fields: object) -> RawEntry:
    base: dict[str, object] = {
        "title": "Метанол в ЗКО",
        "link": "https://zhaik-news.example/ru/1",
        "guid": "zhaik-1",
        "summary": "<p>Коротко о проекте.</p>",
        "published": datetime(2025, 10, 8, 5, 15, tzinfo=UTC),
    }
    base.update(fields)
    return RawEntry(**base)  # type: ignore[arg-type]


# --- html_to_text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        ("Просто текст", "Просто текст"),
        ("<p>Орал</p><p>Ақтөбе</p>", "Орал Ақтөбе"),
        ("Қытай<br>инвесторлары", "Қытай инвесторлары"),
        ("<b>Жирный</b> и <i>курсив</i>", "Жирный и курсив"),
        ("до<script>alert('x<y')</script>после", "допосле"),
        ("<style>p { color: red }</style><p>Текст</p>", "Текст"),
        ("<noscript><img src='pixel.gif'>Включите JS</noscript>Новость", "Новость"),
        ("<img src='/a.jpg' alt='фото'>Подпись", "Подпись"),
        ("Сатимола &laquo;калий&raquo; &amp; метанол", "Сатимола «калий» & метанол"),
        ("1&nbsp;093 млн", "1 093 млн"),
        ("&#1179;ол &#x4A3;", "қол ң"),
        ("&quot;Сатимола&quot; &#8212; калий", '"Сатимола" — калий'),
        ("  много \n\t пробелов   ", "много пробелов"),
        ("пере\u00adнос и\u200bневидимки", "перенос иневидимки"),
        ("<![CDATA[внутри]]>", ""),
        ("<p>незакрытый <b>тег", "незакрытый тег"),
        ("a < b и c > d", "a < b и c > d"),
        ("&unknownentity; остаётся", "&unknownentity; остаётся"),
        ("<!-- комментарий -->видно", "видно"),
        ("", ""),
    ],
)
def test_html_to_text(fragment: str, text: str) -> None:
    assert html_to_text(fragment) == text


def test_html_to_text_of_an_image_only_title_is_empty() -> None:
    assert html_to_text('<img src="/media/banner.png">') == ""


# --- canonical_url --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://zhaik-news.example/ru/1", "https://zhaik-news.example/ru/1"),
        ("HTTPS://Zhaik-News.Example/ru/Path", "https://zhaik-news.example/ru/Path"),  # path case is kept
        ("http://zhaik-news.example:80/a", "http://zhaik-news.example/a"),
        ("https://zhaik-news.example:443/a", "https://zhaik-news.example/a"),
        ("https://zhaik-news.example:8443/a", "https://zhaik-news.example:8443/a"),
        ("https://zhaik-news.example", "https://zhaik-news.example/"),
        ("https://zhaik-news.example/a#comments", "https://zhaik-news.example/a"),
        ("https://zhaik-news.example/a?", "https://zhaik-news.example/a"),
        (
            "https://zhaik-news.example/a?utm_source=rss&utm_medium=feed&id=7&UTM_Campaign=x",
            "https://zhaik-news.example/a?id=7",
        ),
        (
            "https://a.example/n?fbclid=IwAR0&gclid=1&yclid=2&_openstat=3&mc_cid=4&mc_eid=5",
            "https://a.example/n",
        ),
        ("https://a.example/n?b=2&a=1&c=3", "https://a.example/n?b=2&a=1&c=3"),  # order kept
        ("https://a.example/n?from=rss", "https://a.example/n"),
        ("https://a.example/n?from=yxnews&page=2", "https://a.example/n?page=2"),
        (
            "https://a.example/search?from=2025-08-01&to=2025-08-31",
            "https://a.example/search?from=2025-08-01&to=2025-08-31",
        ),
        ("https://a.example/n?ref=rss&flag", "https://a.example/n?flag"),
        ("https://user:secret@a.example/n", "https://a.example/n"),
        (
            "https://a.example/жаңалықтар/1",
            "https://a.example/%D0%B6%D0%B0%D2%A3%D0%B0%D0%BB%D1%8B%D2%9B%D1%82%D0%B0%D1%80/1",
        ),
        ("https://a.example/%d0%b6%D0%B0", "https://a.example/%D0%B6%D0%B0"),
        ("https://a.example/%7Euser/%41bc", "https://a.example/~user/Abc"),
        ("https://a.example/a%2Fb", "https://a.example/a%2Fb"),  # an escaped slash stays escaped
        ("https://a.example/100%", "https://a.example/100%25"),
        (
            "https://a.example/s?q=Қытай инвест",
            "https://a.example/s?q=%D2%9A%D1%8B%D1%82%D0%B0%D0%B9%20%D0%B8%D0%BD%D0%B2%D0%B5%D1%81%D1%82",
        ),
        ("https://САЙТ.ҚАЗ/жаңалық", "https://сайт.қаз/%D0%B6%D0%B0%D2%A3%D0%B0%D0%BB%D1%8B%D2%9B"),
        ("https://xn--80aswg.xn--80ao21a/a", "https://сайт.қаз/a"),  # punycode and Unicode meet
        ("https://a.example./n", "https://a.example/n"),
        ("https://[2001:DB8::1]:443/n", "https://[2001:db8::1]/n"),
        ("  https://a.example/n  ", "https://a.example/n"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "ftp://a.example/f",
        "mailto:info@a.example",
        "javascript:alert(1)",
        "//a.example/n",
        "/ru/1",
        "https://",
        "https://a.example:99999/",
        "https://a.example:port/",
        "http://[::1/n",
        "https://a b.example/",
        "https://a.example/\nX",
        "data:text/html,hi",
    ],
)
def test_unusable_urls(url: str) -> None:
    assert canonical_url(url) is None


def test_relative_url_with_base() -> None:
    base = "https://zhaik-news.example/rss/ru.xml"
    assert canonical_url("/ru/2?utm_source=rss", base) == "https://zhaik-news.example/ru/2"
    assert canonical_url("item/3", base) == "https://zhaik-news.example/rss/item/3"
    assert canonical_url("//cdn.example/x", base) == "https://cdn.example/x"


def test_the_same_story_from_two_feeds_gets_one_url() -> None:
    """The aggregator links to the Zhaik story with its own trackers, another port spelling and a fragment."""
    zhaik = parse_feed((FEEDS / "rss20_ru_zko.xml").read_bytes(), url="https://zhaik-news.example/rss/ru.xml")
    step = parse_feed(
        (FEEDS / "rss20_ru_aggregator.xml").read_bytes(), url="https://step-vestnik.example/rss"
    )
    first, again = zhaik.entries[0], step.entries[0]
    assert first.link != again.link
    assert first.link is not None and again.link is not None
    assert canonical_url(first.link) == canonical_url(again.link)
    assert canonical_url(first.link) == "https://zhaik-news.example/ru/economy/2025/10/investshtab-metanol"


# --- dates ----------------------------------------------------------------------------------------------


def test_published_is_kept_in_utc() -> None:
    almaty = timezone(timedelta(hours=5))
    assert publication_time(datetime(2025, 10, 8, 10, 15, tzinfo=almaty), now=NOW) == datetime(
        2025, 10, 8, 5, 15, tzinfo=UTC
    )


def test_missing_date_becomes_now() -> None:
    assert publication_time(None, now=NOW) == NOW


def test_future_date_becomes_now() -> None:
    assert publication_time(NOW + timedelta(hours=3), now=NOW) == NOW
    assert publication_time(datetime(2099, 1, 1, tzinfo=UTC), now=NOW) == NOW


def test_small_clock_skew_is_tolerated() -> None:
    slightly_ahead = NOW + timedelta(minutes=9)
    assert publication_time(slightly_ahead, now=NOW) == slightly_ahead
    assert publication_time(NOW + timedelta(minutes=11), now=NOW) == NOW


def test_now_in_another_zone_is_returned_in_utc() -> None:
    almaty_now = NOW.astimezone(timezone(timedelta(hours=5)))
    result = publication_time(None, now=almaty_now)
    assert result == NOW and result.tzinfo == UTC


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        normalize_entry(raw(), now=datetime(2025, 10, 8, 12, 0))


# --- normalize_entry ------------------------------------------------------------------------------------


def test_normal_entry() -> None:
    entry = normalize_entry(
        raw(
            title="Метанол из Приуралья: <b>первая</b> очередь &amp; сроки",
            link="https://zhaik-news.example/ru/1?utm_source=rss#top",
            guid="  zhaik-1 ",
            summary="<p>В&nbsp;Уральске</p><script>x()</script><p>обсудили «Сатимолу».</p>",
        ),
        now=NOW,
    )
    assert entry == NormalEntry(
        title="Метанол из Приуралья: первая очередь & сроки",
        summary="В Уральске обсудили «Сатимолу».",
        url="https://zhaik-news.example/ru/1",
        guid="zhaik-1",
        published=datetime(2025, 10, 8, 5, 15, tzinfo=UTC),
    )


@pytest.mark.parametrize("title", [None, "", "   ", "<img src='/banner.png'>", "<p> </p>", "&nbsp;"])
def test_no_title(title: str | None) -> None:
    assert normalize_entry(raw(title=title), now=NOW) is SkipReason.NO_TITLE


@pytest.mark.parametrize("link", [None, "", "javascript:void(0)", "mailto:a@b.example", "/relative/only"])
def test_no_link(link: str | None) -> None:
    assert normalize_entry(raw(link=link), now=NOW) is SkipReason.NO_LINK


def test_skip_reasons_read_well() -> None:
    assert str(SkipReason.NO_TITLE) == "no title"
    assert str(SkipReason.NO_LINK) == "no link"


def test_missing_summary_and_guid() -> None:
    entry = normalize_entry(raw(summary=None, guid=None, published=None), now=NOW)
    assert isinstance(entry, NormalEntry)
    assert entry.summary == "" and entry.guid is None and entry.published == NOW


def test_fixture_feed_outcomes() -> None:
    """Every item of the Russian fixture feed, through parse and normalise."""
    feed = parse_feed((FEEDS / "rss20_ru_zko.xml").read_bytes(), url="https://zhaik-news.example/rss/ru.xml")
    outcomes = [normalize_entry(e, now=NOW) for e in feed.entries]
    assert [o if isinstance(o, SkipReason) else "ok" for o in outcomes] == [
        "ok",
        "ok",
        "ok",
        "ok",
        SkipReason.NO_LINK,
        SkipReason.NO_TITLE,
        SkipReason.NO_TITLE,
        "ok",
    ]
    undated, future = outcomes[2], outcomes[3]
    assert isinstance(undated, NormalEntry) and undated.published == NOW
    assert isinstance(future, NormalEntry) and future.published == NOW
    first = outcomes[0]
    assert isinstance(first, NormalEntry)
    assert "trackView" not in first.summary and "<" not in first.summary
    assert "«Сатимола» в Акжаикском районе" in first.summary


# --- summary trimming -----------------------------------------------------------------------------------


def test_short_summary_is_untouched() -> None:
    assert trim_text("Коротко.", 20) == "Коротко."
    assert trim_text("x" * 20, 20) == "x" * 20


def test_long_summary_is_cut_at_a_word_boundary() -> None:
    text = "Инвестиционный штаб обсудил метанольный завод и калийный проект"
    trimmed = trim_text(text, 30)
    assert trimmed == "Инвестиционный штаб обсудил…"
    assert len(trimmed) <= 30


def test_cut_drops_dangling_punctuation() -> None:
    assert trim_text("Орал, Ақтөбе, Атырау және Маңғыстау", 15) == "Орал, Ақтөбе…"


def test_a_very_long_word_is_cut_hard() -> None:
    trimmed = trim_text("https://example.kz/" + "a" * 100, 30)
    assert len(trimmed) == 30 and trimmed.endswith("…")


def test_normalize_entry_trims_summary() -> None:
    words = " ".join(["инвестиция"] * 400)
    entry = normalize_entry(raw(summary=f"<p>{words}</p>"), now=NOW, max_summary_chars=100)
    assert isinstance(entry, NormalEntry)
    assert len(entry.summary) <= 100
    assert entry.summary.endswith("инвестиция…")


def test_trim_needs_a_positive_limit() -> None:
    with pytest.raises(ValueError):
        trim_text("abc", 0)
