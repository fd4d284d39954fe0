#!/usr/bin/env bash
# Run the production stack locally: PostgreSQL, Redis, gunicorn, a Celery worker and Celery beat,
# with DEBUG off and the production settings (whitenoise-served, hashed static files).
set -euo pipefail
cd "$(dirname "$0")/.."

DB_NAME=${DB_NAME:-cdpcrm_prod}
export DEBUG=0
export SECRET_KEY=${SECRET_KEY:-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')}
# Mailbox passwords are encrypted with this key; keep it (a new one cannot read passwords saved before).
export MAIL_ENCRYPTION_KEY=${MAIL_ENCRYPTION_KEY:-$(.venv/bin/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')}
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/$DB_NAME}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/1}
export CACHE_URL=${CACHE_URL:-redis://127.0.0.1:6379/2}
# Plain http on localhost: no TLS redirect or secure-only cookies (behind a TLS proxy leave these unset).
export SECURE_SSL_REDIRECT=${SECURE_SSL_REDIRECT:-0}
export SESSION_COOKIE_SECURE=${SESSION_COOKIE_SECURE:-0}
export CSRF_COOKIE_SECURE=${CSRF_COOKIE_SECURE:-0}
PORT=${PORT:-8000}

if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB_NAME'" | grep -q 1; then
  createdb -h 127.0.0.1 -U postgres "$DB_NAME"
fi
# The deploy check runs with the TLS settings a real deployment keeps on.
SECURE_SSL_REDIRECT=1 SESSION_COOKIE_SECURE=1 CSRF_COOKIE_SECURE=1 \
  .venv/bin/python manage.py check --deploy --fail-level WARNING
.venv/bin/python manage.py migrate --no-input
.venv/bin/python manage.py collectstatic --no-input -v0
if [ "${LOAD_DEMO:-1}" = "1" ]; then .venv/bin/python manage.py demo; fi

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait; }
trap cleanup EXIT INT TERM
.venv/bin/celery -A cdpcrm worker -Q default,ingest,segments,journeys,activation,email -c "${WORKER_CONCURRENCY:-2}" -l INFO &
pids+=($!)
.venv/bin/celery -A cdpcrm beat -l INFO --schedule /tmp/cdpcrm-celerybeat-schedule &
pids+=($!)
.venv/bin/gunicorn cdpcrm.wsgi --bind "127.0.0.1:$PORT" --access-logfile - &  # workers, threads: gunicorn.conf.py
pids+=($!)
echo "Production stack up: http://127.0.0.1:$PORT/  (healthz: http://127.0.0.1:$PORT/healthz)"
wait -n
