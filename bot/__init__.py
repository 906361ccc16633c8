"""Habar: Kazakh news in Russian and Kazakh, sorted into topics and delivered as a daily digest.

Importing this package must stay cheap: commands that never talk to Telegram (ingest, export, stats,
digest --preview) must not pull in aiogram, whose import alone takes seconds.
"""

import zoneinfo

# Kazakhstan moved to UTC+5 on 2024-03-01; an outdated system zone database would shift every delivery
# by an hour. Empty the search path so zoneinfo always reads the `tzdata` package we depend on.
zoneinfo.reset_tzpath(to=())

__all__ = ["__version__"]
__version__ = "0.1.0"
