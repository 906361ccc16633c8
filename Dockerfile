# Habar: slim image, runs as an unprivileged user, keeps its SQLite database on a volume (/data).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_PATH=/data/habar.sqlite3

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip install --no-compile . \
    && useradd --system --uid 10001 --home /app habar \
    && mkdir -p /data && chown habar:habar /data

USER habar
VOLUME ["/data"]
# HEALTH_PORT serves /healthz and /metrics when set; WEBHOOK_PORT when WEBHOOK_URL is set.
EXPOSE 8080 8081
HEALTHCHECK --interval=60s --timeout=5s --start-period=60s \
    CMD python -c "import os,sys,urllib.request; p=os.environ.get('HEALTH_PORT'); sys.exit(0) if not p else urllib.request.urlopen(f'http://127.0.0.1:{p}/healthz', timeout=4)"
ENTRYPOINT ["habar"]
CMD ["run"]
