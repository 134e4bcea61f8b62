#!/usr/bin/env bash
# The whole suite (`make test`), in two lanes at once: the tests that start whole processes
# (`-m slow`: Celery workers, make run, redis-server restarts) spend most of their time
# waiting on those processes, so they run beside the rest instead of after them. The two
# heaviest browser tests (walks of every page in four screens: axe's and the layout's) are
# marked slow too, to even the lanes out (the rest had taken 1,100 s, this lane 820 s). Each lane
# has its own test database, Redis databases and VAR_DIR (tests/settings.py, TEST_LANE),
# so neither sees the other's rows, counts, cache or broker.
#
# Each lane runs in TEST_WORKERS pytest-xdist workers (2): the processes lane's tests mostly
# wait (on a two-core machine it used a quarter of a core), so the machine has room for a
# second worker in each lane. Each worker has its own test database, VAR_DIR and pair of
# Redis databases (TEST_REDIS_DBS, tests/settings.py): 11-12 and 5-6 for the processes
# lane, 13-14 and 7-8 for the rest (bench-delivery uses 9-10, bench 3-4).
#
#   scripts/test-suite.sh                 both lanes; fails if either fails
#   scripts/test-suite.sh -k invitation   with pytest arguments: one lane, as given
set -u
cd "$(dirname "$0")/.."
PYTEST=.venv/bin/pytest

if [ "$#" -gt 0 ]; then
    exec "$PYTEST" "$@"
fi

mkdir -p var
workers=${TEST_WORKERS:-2}
log=var/test-processes.log
started=$(date +%s)
# In the background bash would start it with SIGINT ignored, and every process it starts
# would inherit that (the tests stop some with SIGINT): restore it.
(
    trap - INT QUIT
    TEST_LANE=processes \
        REDIS_URL="${TEST_PROCESSES_REDIS_URL:-redis://127.0.0.1:6379/11}" \
        CELERY_BROKER_URL="${TEST_PROCESSES_BROKER_URL:-redis://127.0.0.1:6379/12}" \
        TEST_REDIS_DBS="${TEST_PROCESSES_REDIS_DBS:-11,12,5,6}" \
        VAR_DIR="$PWD/var/test-processes" \
        exec "$PYTEST" -m slow -p no:cacheprovider -n "$workers" --dist worksteal
) >"$log" 2>&1 &
processes=$!
# Stop the other lane too if this script is interrupted, and let it tear down (stop its
# workers and `make run`): a SIGTERM would kill pytest in the midst of that, leaving them
# running on its broker. Ctrl-C reached it already (the terminal's whole foreground
# group); a SIGTERM is passed on as the SIGINT pytest stops cleanly on.
trap 'wait "$processes"; exit 130' INT
trap 'kill -INT "$processes" 2>/dev/null; wait "$processes"; exit 130' TERM

TEST_REDIS_DBS="${TEST_REDIS_DBS:-13,14,7,8}" "$PYTEST" -m "not slow" -n "$workers" --dist worksteal
rest=$?
wait "$processes"
slow=$?

echo
echo "=== Tests that start processes (-m slow; full log in $log) ==="
if [ "$slow" -eq 0 ]; then
    tail -n 3 "$log"
else
    cat "$log"
fi
echo "=== Both lanes done in $(($(date +%s) - started)) s: the rest exited $rest, -m slow $slow ==="
[ "$rest" -eq 0 ] && [ "$slow" -eq 0 ]
