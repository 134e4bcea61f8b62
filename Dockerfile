# Production image: gunicorn for web; the same image runs the Celery worker and beat.
# It holds the product only: no devtools/ (sandbox, benchmarks), no tests, no dev extras.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=alerts_saas.settings \
    DJANGO_DEBUG=false \
    VAR_DIR=/app/var

WORKDIR /app
RUN useradd --create-home --uid 10001 app
COPY pyproject.toml README.md ./
COPY alerts_saas ./alerts_saas
COPY integrations ./integrations
RUN pip install .
COPY manage.py ./
COPY templates ./templates
COPY static ./static
# collectstatic needs settings to load; these throwaway values never reach a running container.
RUN SECRET_KEY=collectstatic FIELD_ENCRYPTION_KEYS=Y29sbGVjdHN0YXRpYy1vbmx5LWR1bW15LWtleS0wMDA= \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown -R app /app/var
USER app
EXPOSE 8000
# The access log redacts the secrets of bearer links (invitations, password resets).
CMD ["gunicorn", "alerts_saas.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "--logger-class", "alerts_saas.access_log.RedactingAccessLogger"]
