# peerchat, one node. Build: docker build -t peerchat .   Run: see docker-compose.yml and docs/deploy.md
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server server
COPY moderation moderation
COPY client_web client_web
RUN pip install --no-cache-dir '.[speed]' && useradd --system --home /app peerchat && mkdir /data \
    && chown peerchat /data
USER peerchat
ENV PEERCHAT_HOST=0.0.0.0 PEERCHAT_PORT=8000 PEERCHAT_DATA_DIR=/data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["peerchat", "serve"]
