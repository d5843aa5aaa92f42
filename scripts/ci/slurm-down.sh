#!/usr/bin/env bash
# slurm-down.sh - stop the private Slurm cluster started by slurm-up.sh.
#
# Usage:   slurm-down.sh [DIR]      (default: $SLURM_CI_DIR, else ./.slurm-ci)
#
# 1. cancels every job still known to the controller and waits (bounded) for
#    running ones to end, so no slurmstepd/job processes outlive slurmd;
# 2. stops slurmd, slurmctld, munged by the PIDs in DIR/pids/*.pid (SIGTERM,
#    then SIGKILL after SLURM_CI_STOP_TIMEOUT seconds, default 20), checking
#    /proc/PID/comm first so a recycled PID is never signalled.
# Never kills anything by name. Safe to run twice. Exit 0 when nothing of
# ours is left running, 1 otherwise.
set -uo pipefail

DIR=${1:-${SLURM_CI_DIR:-./.slurm-ci}}
STOP_TIMEOUT=${SLURM_CI_STOP_TIMEOUT:-20}
if [ ! -d "$DIR/pids" ]; then
    echo "slurm-down: nothing to stop ($DIR/pids not found)" >&2
    exit 0
fi
DIR=$(cd "$DIR" && pwd -P)
export SLURM_CONF=$DIR/slurm.conf

alive() { # pidfile expected-comm -> echoes pid if that process is ours and alive
    local f=$1 comm=$2 pid
    [ -s "$f" ] || return 1
    pid=$(cat "$f")
    case "$pid" in ''|*[!0-9]*) return 1 ;; esac
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$comm" ] || return 1
    echo "$pid"
}

# 1. drain jobs while the controller is still up
if alive "$DIR/pids/slurmctld.pid" slurmctld >/dev/null && [ -f "$SLURM_CONF" ]; then
    jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        # shellcheck disable=SC2086
        timeout 10 scancel $jobs 2>/dev/null || true
        deadline=$(( $(date +%s) + STOP_TIMEOUT ))
        while [ "$(date +%s)" -lt "$deadline" ]; do
            [ -z "$(timeout 10 squeue -h -t R,CG,S,ST -o %A 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
fi

# 2. stop daemons: compute node first, then controller, then munge
rc=0
for d in slurmd slurmctld munged; do
    f=$DIR/pids/$d.pid
    pid=$(alive "$f" "$d") || { rm -f "$f"; continue; }
    kill -TERM "$pid" 2>/dev/null
    deadline=$(( $(date +%s) + STOP_TIMEOUT ))
    while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "slurm-down: $d (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null
        sleep 0.5
    fi
    if kill -0 "$pid" 2>/dev/null; then
        echo "slurm-down: error: $d (pid $pid) is still running" >&2
        rc=1
    else
        rm -f "$f"
    fi
done

# job step daemons that survived (only if the drain above timed out)
left=$(find "$DIR/spool" -mindepth 2 -maxdepth 2 -path "$DIR/spool/slurmd-*/*.[0-9]*" 2>/dev/null | head -n 5)
[ -n "$left" ] && echo "slurm-down: warning: step sockets left in $DIR/spool (a job step may still run): $left" >&2

[ "$rc" = 0 ] && [ "${SLURM_CI_VERBOSE:-0}" = 1 ] && echo "slurm-down: stopped" >&2
exit "$rc"
