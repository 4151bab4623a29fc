#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The workflow on a real SLURM: a one-node cluster on this machine (munged, slurmctld and
# slurmd of Debian's slurm-wlm, all in a temporary folder), the small simulated example run
# through the Snakemake SLURM executor with workflow/profiles/slurm, and every result
# compared with a local run of the same inputs. One integration job is scancel'ed while it
# runs and must come back through a retry; a wrong partition must stop with a clear message.
#
#   tests/cluster/slurm_local.sh            # make test-cluster runs this
#   KEEP=1 tests/cluster/slurm_local.sh     # keep the temporary folder (it names it)
#   SLURM_LOCAL_THEN='CMD' tests/cluster/...  # run CMD too while the cluster is up (SLURM_CONF
#                                            # set), e.g. benchmarks/bench_shift.py --slurm
#
# Exit status: 0 passed, or skipped with one line saying why (not root, no apt, the packages
# or the daemons not to be had: the machine, not the project); 1 when a result differs, the
# cancelled job did not recover or a run failed. Only daemons started here are stopped, by PID.
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
T0=$(date +%s)

skip() { echo "slurm_local: skipped: $*"; exit 0; }
fail() { echo "slurm_local: FAILED: $*"; exit 1; }
say() { echo "slurm_local: $* ($(($(date +%s) - T0)) s)"; }

[ "$(id -u)" = 0 ] || skip "needs root (it installs slurm-wlm and munge and runs their daemons)"
[ -x "$PY" ] || skip "no Python at $PY (make setup first)"
"$PY" -c "import snakemake_executor_plugin_slurm, dask_jobqueue" 2>/dev/null \
  || "$PY" -m pip install --quiet snakemake-executor-plugin-slurm dask-jobqueue >/dev/null 2>&1 \
  || skip "snakemake-executor-plugin-slurm not installed and pip could not install it"
"$PY" -c "import snakemake_executor_plugin_slurm, dask_jobqueue" 2>/dev/null \
  || skip "snakemake-executor-plugin-slurm or dask-jobqueue not importable"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || skip "slurm-wlm/munge missing and no apt-get to install them"
  say "installing slurm-wlm and munge (Debian)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends slurm-wlm munge; } >/tmp/slurm_local_apt.log 2>&1 \
    || skip "apt-get could not install slurm-wlm and munge (see /tmp/slurm_local_apt.log)"
fi
BIN="$(dirname "$(command -v sbatch)")"

WORK="$(mktemp -d /tmp/halos-slurm.XXXXXX)"
chmod 755 "$WORK"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  if [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$WORK/slurm.conf" ]; then
    rm -f /etc/slurm/slurm.conf
  fi
  if [ -n "${KEEP:-}" ]; then echo "slurm_local: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap "exit 143" INT TERM

# --- the cluster: munged and SLURM on free loopback ports, everything under $WORK ----------
mkdir -p "$WORK"/{munge,spool,state,log,run}
chown munge:munge "$WORK/munge" 2>/dev/null
chmod 700 "$WORK/munge"
dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1 count=1024 status=none
chown munge:munge "$WORK/munge/munge.key" 2>/dev/null
chmod 400 "$WORK/munge/munge.key"
SOCKET="$WORK/munge/munge.socket"
munged --force --key-file="$WORK/munge/munge.key" --socket="$SOCKET" \
  --pid-file="$WORK/munge/munged.pid" --seed-file="$WORK/munge/munged.seed" \
  --log-file="$WORK/log/munged.log" >/dev/null 2>&1 || skip "munged did not start ($(tail -1 "$WORK/log/munged.log" 2>/dev/null))"
for _ in $(seq 50); do [ -s "$WORK/munge/munged.pid" ] && break; sleep 0.1; done
PIDS+=("$(cat "$WORK/munge/munged.pid")")

read -r CTLD_PORT SLURMD_PORT < <("$PY" -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')
NODE="$(hostname -s)"
CPUS="$(nproc)"
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
export SLURM_CONF="$WORK/slurm.conf"
# No accounting database: job states come from squeue (the profile's status command), so
# finished jobs must stay known to slurmctld for a while (MinJobAge).
cat >"$SLURM_CONF" <<EOF
ClusterName=halostest
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/run/slurmctld.pid
SlurmdPidFile=$WORK/run/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=1
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MinJobAge=3600
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MpiDefault=none
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=halos Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

# Jobs read /etc/slurm/slurm.conf (the executor clears SLURM_* inside a job, SLURM_CONF too):
# link it there while this runs, unless a SLURM is configured on this machine already.
if [ -L /etc/slurm/slurm.conf ] && [[ "$(readlink /etc/slurm/slurm.conf)" == /tmp/halos-slurm.* ]] \
  && [ ! -e /etc/slurm/slurm.conf ]; then
  rm -f /etc/slurm/slurm.conf # left by a run that was killed
fi
[ -e /etc/slurm/slurm.conf ] && skip "/etc/slurm/slurm.conf exists: a SLURM is configured here, not touched"
mkdir -p /etc/slurm && ln -s "$SLURM_CONF" /etc/slurm/slurm.conf

slurmctld -f "$SLURM_CONF" >"$WORK/log/slurmctld.out" 2>&1 \
  || skip "slurmctld did not start: $(tail -1 "$WORK/log/slurmctld.log" 2>/dev/null)"
for _ in $(seq 50); do [ -s "$WORK/run/slurmctld.pid" ] && break; sleep 0.1; done
[ -s "$WORK/run/slurmctld.pid" ] && PIDS+=("$(cat "$WORK/run/slurmctld.pid")")
slurmd -f "$SLURM_CONF" -N "$NODE" >"$WORK/log/slurmd.out" 2>&1 \
  || skip "slurmd did not start: $(tail -1 "$WORK/log/slurmd.log" 2>/dev/null)"
for _ in $(seq 50); do [ -s "$WORK/run/slurmd.pid" ] && break; sleep 0.1; done
[ -s "$WORK/run/slurmd.pid" ] && PIDS+=("$(cat "$WORK/run/slurmd.pid")")
for _ in $(seq 60); do
  sinfo -h -o %T 2>/dev/null | grep -qx idle && break
  sleep 0.5
done
sinfo -h -o %T 2>/dev/null | grep -qx idle \
  || skip "the node did not come up: $(tail -1 "$WORK/log/slurmd.log" 2>/dev/null)"
JOB=$(sbatch --parsable -o /dev/null --wrap true 2>&1) || skip "sbatch does not work here: $JOB"
say "one-node SLURM up on $NODE ($CPUS CPUs, $MEM_MB MB; ports $CTLD_PORT/$SLURMD_PORT)"

# --- the example, once locally and once on SLURM -------------------------------------------
"$PY" -m halos_analysis simulate "$WORK/local/example_data/generated" --frames 10 --seed 7 \
  >"$WORK/log/simulate.log" 2>&1 || fail "halos simulate: $(tail -1 "$WORK/log/simulate.log")"
mkdir -p "$WORK/local/config"
cp "$ROOT/config/config.yaml" "$ROOT/config/samples.tsv" "$WORK/local/config/"
cp -a "$WORK/local" "$WORK/cluster"
cp -a "$WORK/local" "$WORK/account" # for the wrong setting

"$PY" -m halos_analysis run --cores 2 --directory "$WORK/local" >"$WORK/log/local.log" 2>&1 \
  || fail "local run: $(tail -3 "$WORK/log/local.log")"
say "local run done"

# The SLURM run: the shipped profile, as a user runs it (halos run --profile slurm), with the
# partition of this cluster set once (the profile reads it), job states from squeue (no
# accounting here), integrations on the node's cores and status checks every few seconds.
export HALOS_SLURM_PARTITION=halos
SLURM_ARGS=(--profile slurm --directory "$WORK/cluster" --slurm-status-command squeue
  --set-threads "integrate=$CPUS"
  --slurm-init-seconds-before-status-checks 2 --seconds-between-status-checks 2)
TIMEOUT=${SLURM_TEST_TIMEOUT:-900}
timeout "$TIMEOUT" "$PY" -m halos_analysis run "${SLURM_ARGS[@]}" >"$WORK/log/cluster.log" 2>&1 &
RUN_PID=$!

# Cancel the first integration job once it runs: Snakemake sees it fail and submits it again
# (retries in the profile; the next attempt asks for more memory). The plugin names the rule,
# or the group, in the job's comment (%k).
CANCELLED=""
for _ in $(seq 600); do
  kill -0 "$RUN_PID" 2>/dev/null || break
  CANCELLED=$(squeue -h -t RUNNING -o '%i %k' 2>/dev/null | awk '$2 ~ /^rule_(frames|integrate)/ {print $1; exit}')
  if [ -n "$CANCELLED" ]; then scancel "$CANCELLED"; say "scancel'ed SLURM job $CANCELLED"; break; fi
  sleep 0.5
done
wait "$RUN_PID"
RC=$?
[ "$RC" = 124 ] && fail "the SLURM run did not finish in $TIMEOUT s (log: $(tail -3 "$WORK/log/cluster.log"))"
[ "$RC" = 0 ] || fail "the SLURM run failed ($RC): $(grep -m3 -i error "$WORK/log/cluster.log")"
say "SLURM run done"
[ -n "$CANCELLED" ] || fail "no integration job seen running to cancel"
grep -q "$CANCELLED" "$WORK/log/cluster.log" || fail "the cancelled job $CANCELLED is not in the log"
grep -qiE "Trying to restart|restart" "$WORK/log/cluster.log" \
  || fail "the cancelled job $CANCELLED was not retried"
N_SLURM=$(grep -c "has been submitted with SLURM jobid" "$WORK/log/cluster.log")
say "$N_SLURM SLURM submissions; cancelled job $CANCELLED recovered"

"$PY" "$HERE/compare_results.py" "$WORK/local/results" "$WORK/cluster/results" \
  || fail "SLURM results differ from the local run's"

# Dask workers as SLURM jobs (dask-jobqueue): the same curves as local threads.
(cd "$WORK/cluster" && "$PY" "$HERE/dask_slurm_check.py" results/.halos/frames/bsa_pilatus.json \
  example_data/generated/pilatus2m.poni example_data/generated/pilatus2m_mask.npy halos) \
  || fail "Dask on SLURM (dask-jobqueue) did not give the curves of local threads"
say "dask-jobqueue SLURMCluster checked"

# A wrong setting of the user's: one line naming it, at once, not a hang. (A wrong account
# is found only where SLURM keeps accounts, with slurmdbd; this one has none, so it is a
# wrong partition here. halos run checks both before it starts Snakemake.)
HALOS_SLURM_PARTITION=no_such_partition timeout 120 "$PY" -m halos_analysis run \
  --profile slurm --directory "$WORK/account" --slurm-status-command squeue \
  --set-threads "integrate=$CPUS" --slurm-init-seconds-before-status-checks 2 \
  >"$WORK/log/account.log" 2>&1
RC=$?
[ "$RC" = 124 ] && fail "a wrong partition hangs (log: $(tail -3 "$WORK/log/account.log"))"
[ "$RC" != 0 ] || fail "a wrong partition was accepted"
grep -q "HALOS_SLURM_PARTITION.*no_such_partition" "$WORK/log/account.log" \
  || fail "a wrong partition is not named: $(tail -2 "$WORK/log/account.log")"
say "wrong partition refused: $(grep -m1 "no_such_partition" "$WORK/log/account.log" | cut -c1-160)"

say "passed"
if [ -n "${SLURM_LOCAL_THEN:-}" ]; then
  say "running: $SLURM_LOCAL_THEN"
  bash -c "$SLURM_LOCAL_THEN"
fi
