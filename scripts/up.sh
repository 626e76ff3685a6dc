#!/usr/bin/env bash
# Quick start: install, migrate, load demo data and serve kefu on http://127.0.0.1:8000 (SQLite).
source "$(dirname "$0")/lib.sh"

ensure_venv ""
say "Preparing the database"
"$VENV/bin/kefu" migrate --noinput -v0
"$VENV/bin/kefu" demo "$@"
say "Serving kefu on http://127.0.0.1:8000  (Ctrl-C to stop)"
# The time-limit watcher and the notification sender run beside the web server (both are safe to
# run as several copies); they stop when the server stops.
"$VENV/bin/kefu" watch_orders --loop --interval 30 &
WATCHER=$!
"$VENV/bin/kefu" send_outbox --loop --interval 10 &
SENDER=$!
trap 'kill "$WATCHER" "$SENDER" 2>/dev/null || true' EXIT
# gunicorn as in production; static files come from WhiteNoise, so nothing else is needed.
"$VENV/bin/gunicorn" kefu.wsgi:application --bind 127.0.0.1:8000 --workers 2 --threads 4 \
  --access-logfile - --log-level warning
