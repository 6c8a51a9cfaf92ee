# cibot's image: `docker build -t cibot .`, then `docker run cibot serve` (see deploy/compose.yml).
# Build stage: installs cibot and its pinned dependencies into a virtualenv.
FROM python:3.12-slim AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md LICENSE constraints.txt ./
COPY bot ./bot
COPY storage ./storage
RUN python -m venv /opt/cibot \
    && /opt/cibot/bin/pip install --constraint constraints.txt .

# Final stage: the virtualenv only, no build tools, run as an unprivileged user.
FROM python:3.12-slim
RUN useradd --system --uid 10001 --create-home cibot \
    && mkdir /data \
    && chown cibot /data
COPY --from=build /opt/cibot /opt/cibot
ENV PATH=/opt/cibot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/cibot.db
WORKDIR /home/cibot
USER 10001
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=2)"]
ENTRYPOINT ["cibot"]
CMD ["serve", "--port", "3000", "--host", "0.0.0.0"]
