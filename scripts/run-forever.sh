#!/usr/bin/env bash
# Run a command and start it again 1 s after it exits with a non-zero status.
#
#   scripts/run-forever.sh python -m celery -A alerts_saas worker ...
#
# `make run` (Procfile.dev) runs the Celery worker and beat under it: honcho stops every
# process as soon as one exits, so a worker that died (e.g. on a broker fault) would take
# the whole stack down. SIGTERM and SIGINT are passed to the command, and then this script
# exits with the command's status (0 if it was stopped between two runs), so honcho still
# stops it cleanly. A command that exits with status 0 is not started again.
set -u

if [ "$#" -eq 0 ]; then
    echo "usage: $0 command [args...]" >&2
    exit 2
fi

child=0
stopping=""
forwarded=""

forward() {
    stopping=$1
    if [ "$child" -ne 0 ]; then
        forwarded=1
        kill "-$1" "$child" 2>/dev/null
    fi
}
trap 'forward TERM' TERM
trap 'forward INT' INT

while :; do
    # In the background, bash would start the command with SIGINT ignored: restore it. The
    # subshell must not inherit `forward` for TERM either: a signal forwarded before the
    # exec would be taken by that trap and never reach the command.
    (
        trap - INT QUIT TERM
        exec "$@"
    ) &
    child=$!
    # A signal that came between the fork and the line above found no child to forward to.
    if [ -n "$stopping" ] && [ -z "$forwarded" ]; then
        forwarded=1
        kill "-$stopping" "$child" 2>/dev/null
    fi
    # `wait` returns early when a trapped signal arrives: wait again until the command is gone.
    wait "$child"
    status=$?
    while kill -0 "$child" 2>/dev/null; do
        wait "$child"
        status=$?
    done
    child=0
    if [ -n "$stopping" ] || [ "$status" -eq 0 ]; then
        exit "$status"
    fi
    echo "run-forever: '$*' exited with status $status; starting it again in 1 s" >&2
    sleep 1 &
    wait $! 2>/dev/null
    if [ -n "$stopping" ]; then
        exit 0  # stopped while the command was not running
    fi
done
