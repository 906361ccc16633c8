"""Where attention goes: stories per topic per day over recent weeks, as a PNG chart.

matplotlib is used through its object API on the Agg canvas (no pyplot, no global state), so a chart can
be drawn in a worker thread while the bot keeps serving; it is imported only when a chart is drawn.
"""

from __future__ import annotations

import asyncio
import io
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import t
from bot.topics import TopicRules
from storage.db import Database
from storage.trends import TrendStore

DEFAULT_DAYS = 30
MAX_DAYS = 90
LANG_COLOURS = {"ru": "#3b6fb6", "kk": "#e0a526"}


@dataclass(frozen=True)
class TrendData:
    days: tuple[date, ...]
    topics: tuple[str, ...]
    topic_names: dict[str, str]
    counts: dict[tuple[date, str, str], int]  # (day, topic, lang) → stories

    def series(self, topic: str, lang: str) -> list[int]:
        return [self.counts.get((day, topic, lang), 0) for day in self.days]


async def load_trends(db: Database, rules: TopicRules, *, now: datetime, zone: ZoneInfo, days: int, ui: str) -> TrendData:
    local_today = now.astimezone(zone).date()
    until = datetime.combine(local_today + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    offset = until.utcoffset() or timedelta(0)
    counts = await TrendStore(db).stories_per_day(until=until, days=days, utc_offset=offset)
    span = tuple(local_today - timedelta(days=n) for n in range(days - 1, -1, -1))
    return TrendData(span, rules.keys, {k: rules.name(k, ui) for k in rules.keys}, counts)


def render_png(data: TrendData, ui: str) -> tuple[bytes, dict[tuple[str, str], list[float]]]:
    """The chart, and the bar heights actually drawn per (topic, lang), read back from the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    topics = data.topics
    cols = 2
    rows = (len(topics) + cols - 1) // cols
    fig = Figure(figsize=(11, 2.3 * rows + 1), dpi=100)
    FigureCanvasAgg(fig)
    fig.suptitle(t(ui, "trends.title", days=len(data.days)), fontsize=14)
    x = list(range(len(data.days)))
    labels = [d.strftime("%d.%m") for d in data.days]
    drawn: dict[tuple[str, str], list[float]] = {}
    for index, topic in enumerate(topics):
        ax = fig.add_subplot(rows, cols, index + 1)
        ru = data.series(topic, "ru")
        kk = data.series(topic, "kk")
        bars_ru = ax.bar(x, ru, color=LANG_COLOURS["ru"], label=t(ui, "trends.legend_ru"))
        bars_kk = ax.bar(x, kk, bottom=ru, color=LANG_COLOURS["kk"], label=t(ui, "trends.legend_kk"))
        drawn[(topic, "ru")] = [b.get_height() for b in bars_ru]
        drawn[(topic, "kk")] = [b.get_height() for b in bars_kk]
        ax.set_ylim(0, max(1, *(a + b for a, b in zip(ru, kk, strict=True))) * 1.15)
        ax.set_title(data.topic_names[topic], fontsize=10)
        ax.set_ylabel(t(ui, "trends.y_label"), fontsize=8)
        step = max(1, len(x) // 6)
        ax.set_xticks(x[::step], labels[::step], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.yaxis.get_major_locator().set_params(integer=True)
        if index == 0:
            ax.legend(fontsize=7, loc="upper left")
    fig.supxlabel(t(ui, "trends.x_label"), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue(), drawn


class TrendCharts:
    """Charts drawn once per (local day, span, language) and reused; drawing runs in a worker thread."""

    def __init__(self, db: Database, rules: TopicRules, zone: ZoneInfo, capacity: int = 32) -> None:
        self._db = db
        self._rules = rules
        self._zone = zone
        self._cache: OrderedDict[tuple[date, int, str], bytes] = OrderedDict()
        self._capacity = capacity
        self._lock = asyncio.Lock()

    async def chart(self, *, now: datetime, days: int = DEFAULT_DAYS, ui: str = "ru") -> bytes:
        days = max(1, min(days, MAX_DAYS))
        key = (now.astimezone(self._zone).date(), days, ui)
        async with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            data = await load_trends(self._db, self._rules, now=now, zone=self._zone, days=days, ui=ui)
            png, _ = await asyncio.to_thread(render_png, data, ui)
            self._cache[key] = png
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
            return png
