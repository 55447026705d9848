#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for trying (and testing) the sbatch examples.
#
#     sudo bash examples/slurm/local_cluster.sh          # install if needed, configure, start
#     sinfo                                             # one node, idle
#
# It installs Debian's slurm-wlm and munge when they are missing (apt-get, root only), writes
# /etc/slurm/slurm.conf for one node with this machine's CPUs and memory, and starts munged,
# slurmctld and slurmd. Running it again restarts them. Exit code 0 only when the node answers.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "local_cluster.sh: run as root (it installs packages and starts daemons)" >&2
  exit 1
fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "installing slurm-wlm and munge (Debian packages)..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/tmp/slurm-install.log 2>&1 \
    || { apt-get update -q >>/tmp/slurm-install.log 2>&1 &&
         DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >>/tmp/slurm-install.log 2>&1; } \
    || { echo "local_cluster.sh: apt-get could not install slurm-wlm and munge (see /tmp/slurm-install.log)" >&2; exit 1; }
fi

# munge: the authentication daemon every Slurm daemon and command talks through
[ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
chown munge:munge /etc/munge/munge.key 2>/dev/null || true
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown -R munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
pkill -x slurmd 2>/dev/null || true
pkill -x slurmctld 2>/dev/null || true
pkill -x munged 2>/dev/null || true
sleep 1
if id munge >/dev/null 2>&1; then
  su -s /bin/sh munge -c "/usr/sbin/munged --force"
else
  /usr/sbin/munged --force
fi

# slurm.conf: one node (this machine) in one default partition, no accounting, no cgroups
node="$(hostname -s)"
cpus="$(nproc)"
mem_mb="$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)"
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat >/etc/slurm/slurm.conf <<CONF
# written by tinydagan's examples/slurm/local_cluster.sh: a single-node test cluster
ClusterName=tinydagan-local
SlurmctldHost=${node}
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=${node} CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=local Nodes=${node} Default=YES MaxTime=INFINITE State=UP
CONF
# cgroup.conf is read even when no cgroup plugin is used, on some versions
[ -f /etc/slurm/cgroup.conf ] || echo "CgroupPlugin=autodetect" >/etc/slurm/cgroup.conf

/usr/sbin/slurmctld
/usr/sbin/slurmd
for _ in $(seq 1 30); do
  if sinfo -h -o "%T" 2>/dev/null | grep -qE "idle|mixed|alloc"; then
    echo "slurm is up: $(sinfo -h -o '%P %D node(s) %c CPUs %T')"
    exit 0
  fi
  sleep 1
done
echo "local_cluster.sh: slurm did not come up; the logs are in /var/log/slurm/" >&2
sinfo >&2 || true
exit 1
