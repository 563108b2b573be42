FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends gettext libpcsclite1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY julieops ./julieops
COPY migrations_app ./migrations_app
COPY readers ./readers
RUN pip install --no-cache-dir .
COPY . .
RUN python manage.py compilemessages -i .venv -i var 2>/dev/null || true
USER nobody
