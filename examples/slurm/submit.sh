#!/usr/bin/env bash
# Submit a compare grid to Slurm as N array tasks, and a merge job that runs after all succeed.
#
#     bash examples/slurm/submit.sh N OUT [compare flags ...]
#     bash examples/slurm/submit.sh 12 runs/paper --preset paper --data-root /scratch/data
#
# Results: OUT/merged/results.json, results.md, accuracy.png. Each task's log is
# tinydagan-grid-<job>_<task>.out in the folder you submit from. Extra sbatch options for
# both jobs (a partition, an account, fewer CPUs) go in GRID_SBATCH_OPTIONS, for example
#     GRID_SBATCH_OPTIONS="--partition=short --cpus-per-task=1" bash examples/slurm/submit.sh ...
set -euo pipefail
if [ $# -lt 2 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: submit.sh N OUT [compare flags ...]  (N: number of array tasks, >= 1)" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
n="$1"; out="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2
# shellcheck disable=SC2086  # GRID_SBATCH_OPTIONS is a list of options
array=$(sbatch --parsable ${GRID_SBATCH_OPTIONS:-} --array="1-${n}" "$here/grid.sbatch" "$n" "$out" "$@")
array="${array%%;*}"
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${GRID_SBATCH_OPTIONS:-} --dependency="afterok:${array}" \
        "$here/merge.sbatch" "$out")
merge="${merge%%;*}"
echo "grid: job array ${array} (${n} tasks), merge: job ${merge} after they all succeed"
echo "results: ${out}/merged/ (watch with: squeue -j ${array},${merge})"
