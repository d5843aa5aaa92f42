#!/usr/bin/env bash
# slurm-up.sh - start a private single-node Slurm cluster (munged + slurmctld +
# slurmd) for integration tests, without systemd.
#
# Usage:   slurm-up.sh [DIR]
#   DIR    directory for config, state, logs and PID files
#          (default: $SLURM_CI_DIR, else ./.slurm-ci). Created if missing.
#          Its state/, spool/, log/, munge/ and pids/ are wiped on every start.
#
# Needs root (the daemons run as root, SlurmUser=root). Installs the Debian
# packages munge, slurmctld, slurmd, slurm-client if they are missing.
#
# Environment knobs (all optional):
#   SLURM_CI_DIR          as DIR above
#   SLURM_CI_CPUS         CPUs the node advertises (default: nproc). May exceed
#                         the real count (SlurmdParameters=config_overrides), e.g.
#                         to run more array tasks at once than there are cores.
#   SLURM_CI_MEM_MB       RealMemory in MB (default: 80% of MemTotal)
#   SLURM_CI_CTLD_PORT    slurmctld port (default 6817)
#   SLURM_CI_SLURMD_PORT  slurmd port    (default 6818)
#   SLURM_CI_TIMEOUT      seconds to wait for each daemon (default 60)
#   SLURM_CI_SCHED_PARAMS SchedulerParameters (default: batch_sched_delay=0)
#   SLURM_CI_DEP_PARAMS   DependencyParameters (default: empty = Slurm default:
#                         a job whose afterok can never be met stays PENDING
#                         with Reason=DependencyNeverSatisfied forever). Set to
#                         kill_invalid_depend to have Slurm cancel such jobs
#                         (state CANCELLED). In 22.05 this option is ignored in
#                         SchedulerParameters.
#   SLURM_CI_MIN_JOB_AGE  seconds a finished job stays visible to scontrol/squeue
#                         (default 300, Slurm's default)
#   SLURM_CI_MAX_ARRAY_SIZE  MaxArraySize (default 100001; real clusters default to
#                         1001, i.e. array indices 0..1000)
#   SLURM_CI_NO_INSTALL=1 never run apt-get (fail if the binaries are missing)
#   SLURM_CI_SMOKE=0      skip the final `srun true` smoke test
#   SLURM_CI_VERBOSE=1    show progress lines
#
# On success prints two lines to stdout:
#   export SLURM_CONF=DIR/slurm.conf
#   # stop with: slurm-down.sh DIR
# and writes DIR/env.sh (source it) and DIR/pids/{munged,slurmctld,slurmd}.pid.
# On failure prints the reason and the tail of the relevant log to stderr,
# stops whatever it started, and exits non-zero.
set -euo pipefail

die() { echo "slurm-up: error: $*" >&2; exit 1; }
say() { if [ "${SLURM_CI_VERBOSE:-0}" = 1 ]; then echo "slurm-up: $*" >&2; fi; }

[ "$(id -u)" = 0 ] || die "must run as root (daemons run as root, SlurmUser=root)"

DIR=${1:-${SLURM_CI_DIR:-./.slurm-ci}}
mkdir -p "$DIR" || die "cannot create $DIR"
DIR=$(cd "$DIR" && pwd -P)
case "$DIR" in *[[:space:]]*) die "DIR must not contain whitespace: $DIR" ;; esac

TIMEOUT=${SLURM_CI_TIMEOUT:-60}
CTLD_PORT=${SLURM_CI_CTLD_PORT:-6817}
SLURMD_PORT=${SLURM_CI_SLURMD_PORT:-6818}
SCHED_PARAMS=${SLURM_CI_SCHED_PARAMS-batch_sched_delay=0}
DEP_PARAMS=${SLURM_CI_DEP_PARAMS-}
MIN_JOB_AGE=${SLURM_CI_MIN_JOB_AGE:-300}
MAX_ARRAY_SIZE=${SLURM_CI_MAX_ARRAY_SIZE:-100001}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

# ---------------------------------------------------------------- refuse reuse
for d in slurmd slurmctld munged; do
    f=$DIR/pids/$d.pid
    if [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null \
        && [ "$(cat /proc/"$(cat "$f")"/comm 2>/dev/null)" = "$d" ]; then
        die "$d from a previous start is still running (pid $(cat "$f")); run: $HERE/slurm-down.sh $DIR"
    fi
done

# ------------------------------------------------------------------ install
need_install=0
for b in munged mungekey slurmctld slurmd sbatch scontrol sinfo; do
    command -v "$b" >/dev/null 2>&1 || need_install=1
done
if [ "$need_install" = 1 ]; then
    [ "${SLURM_CI_NO_INSTALL:-0}" = 1 ] && die "Slurm/munge binaries missing and SLURM_CI_NO_INSTALL=1"
    command -v apt-get >/dev/null || die "Slurm/munge missing and no apt-get to install them"
    say "installing munge slurmctld slurmd slurm-client"
    # Keep package scripts from starting system-wide daemons (no systemd here;
    # invoke-rc.d would otherwise run /etc/init.d/munge start).
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && made_policy=1
    fi
    log=$(mktemp)
    rc=0
    updated=0
    for _ in 1 2 3 4 5 6; do   # another apt may hold the lists lock
        if apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 update -qq >>"$log" 2>&1; then
            updated=1; break
        fi
        sleep 10
    done
    if [ "$updated" = 1 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 \
            install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client >>"$log" 2>&1 || rc=$?
    else
        rc=100
    fi
    [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    if [ "$rc" != 0 ]; then
        tail -n 30 "$log" >&2; rm -f "$log"
        die "apt-get failed (rc=$rc)"
    fi
    rm -f "$log"
fi

# ------------------------------------------------------------------ checks
NODE=$(hostname -s 2>/dev/null || true)
[ -n "$NODE" ] || die "hostname -s is empty; slurmctld must match SlurmctldHost to the short hostname"
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$CTLD_PORT" "$SLURMD_PORT"; do
    port_busy "$p" && die "port $p on 127.0.0.1 is already in use (another slurmctld/slurmd?); set SLURM_CI_CTLD_PORT / SLURM_CI_SLURMD_PORT"
done
# munged insists that every directory above its socket is world-executable.
chmod 0755 "$DIR" || die "cannot chmod 0755 $DIR"
p=$(dirname "$DIR")
while [ "$p" != / ]; do
    [ "$(( 0$(stat -c %a "$p") & 1 ))" = 1 ] || die "munged needs o+x on every parent of $DIR/munge; $p is $(stat -c %a "$p")"
    p=$(dirname "$p")
done

NCPU_REAL=$(nproc)
CPUS=${SLURM_CI_CPUS:-$NCPU_REAL}
MEM_TOTAL_MB=$(awk '/^MemTotal:/ {print int($2/1024)}' /proc/meminfo)
MEM_MB=${SLURM_CI_MEM_MB:-$(( MEM_TOTAL_MB * 8 / 10 ))}
if [ "$CPUS" = "$NCPU_REAL" ]; then
    # Use the topology slurmd itself detects, so nothing is "overridden".
    TOPO=$(slurmd -C 2>/dev/null | head -n1 | tr ' ' '\n' | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=' | tr '\n' ' ' || true)
    [ -n "$TOPO" ] || TOPO="CPUs=$CPUS"
else
    TOPO="CPUs=$CPUS"
fi

# ------------------------------------------------------------------ layout
umask 022
rm -rf "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/munge" "$DIR/pids"
mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/munge" "$DIR/pids"
chmod 0755 "$DIR" "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/munge" "$DIR/pids"

# A fresh key per cluster; munged only needs it to be 0600 and owned by its user.
if ! mungekey --create --keyfile="$DIR/munge/munge.key" >/dev/null 2>&1; then
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none \
        || die "cannot create munge key"
fi
chmod 0600 "$DIR/munge/munge.key"

SCHED_LINE=""
[ -n "$SCHED_PARAMS" ] && SCHED_LINE="SchedulerParameters=$SCHED_PARAMS"
DEP_LINE=""
[ -n "$DEP_PARAMS" ] && DEP_LINE="DependencyParameters=$DEP_PARAMS"

cat > "$DIR/slurm.conf" <<EOF
# generated by slurm-up.sh - private single-node test cluster
ClusterName=ci
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/slurmd-%n
SlurmctldPidFile=$DIR/state/slurmctld.pid
SlurmdPidFile=$DIR/spool/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
# no cgroups, no accounting: works in containers/VMs without systemd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
$SCHED_LINE
$DEP_LINE
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=$MIN_JOB_AGE
MaxArraySize=$MAX_ARRAY_SIZE
MaxJobCount=200000
SlurmdParameters=config_overrides
NodeName=$NODE NodeAddr=127.0.0.1 ${TOPO% } RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
export SLURM_CONF=$DIR/slurm.conf
printf 'export SLURM_CONF=%s\n' "$SLURM_CONF" > "$DIR/env.sh"

# ------------------------------------------------------------------ start
STARTED=()
cleanup_on_error() {
    local rc=$?
    if [ "$rc" != 0 ] && [ "${#STARTED[@]}" -gt 0 ]; then
        echo "slurm-up: stopping the daemons started so far" >&2
        "$HERE/slurm-down.sh" "$DIR" >&2 || true
    fi
}
trap cleanup_on_error EXIT

# Start a foreground daemon (-D/-F, so $! is the daemon itself) detached from
# our stdin/stdout/stderr, so a CI runner waiting for EOF on its pipes does
# not hang on it.
start_daemon() { # name logfile cmd...
    local name=$1 out=$2; shift 2
    "$@" </dev/null >"$out" 2>&1 &
    local pid=$!
    echo "$pid" > "$DIR/pids/$name.pid"
    STARTED+=("$name")
    say "started $name pid $pid"
}

show_logs() { # name: tail the daemon's stdout/stderr and its log file
    local f
    for f in "$DIR/log/$1.out" "$DIR/log/$1.log"; do
        [ -s "$f" ] || continue
        echo "slurm-up: --- last lines of $f" >&2
        tail -n 20 "$f" >&2
    done
}

# wait_for name description test-command...
wait_for() {
    local name=$1 what=$2; shift 2
    local pid; pid=$(cat "$DIR/pids/$name.pid")
    local deadline=$(( $(date +%s) + TIMEOUT ))
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            show_logs "$name"
            die "$name (pid $pid) exited during startup"
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            show_logs "$name"
            die "timed out after ${TIMEOUT}s waiting for $what"
        fi
        sleep 0.2
    done
}

MSOCK=$DIR/munge/munge.socket
munge_ok() { munge -S "$MSOCK" -n | unmunge -S "$MSOCK"; }
start_daemon munged "$DIR/log/munged.out" \
    munged --foreground --force --socket="$MSOCK" --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/munge/munged.pid" --seed-file="$DIR/munge/munged.seed" \
    --log-file="$DIR/log/munged.log"
wait_for munged "munged to answer on its socket" munge_ok

start_daemon slurmctld "$DIR/log/slurmctld.out" slurmctld -D -f "$SLURM_CONF"
ctld_ok() { scontrol ping | grep -q 'is UP'; }
wait_for slurmctld "slurmctld to answer scontrol ping" ctld_ok

start_daemon slurmd "$DIR/log/slurmd.out" slurmd -D -f "$SLURM_CONF" -N "$NODE"
node_ok() { sinfo -h -n "$NODE" -o %t | grep -qx idle; }
wait_for slurmd "node $NODE to become idle in sinfo" node_ok

if [ "${SLURM_CI_SMOKE:-1}" != 0 ]; then
    say "smoke test: srun true"
    timeout "$TIMEOUT" srun -N1 -n1 -t 1 -Q true >/dev/null 2>&1 \
        || { show_logs slurmctld; show_logs slurmd; die "smoke test 'srun true' failed"; }
fi

trap - EXIT
echo "export SLURM_CONF=$SLURM_CONF"
echo "# stop with: $HERE/slurm-down.sh $DIR"
