"""The Slurm example for real: a tiny grid submitted as a job array plus a merge job to the
single-node cluster that ``examples/slurm/local_cluster.sh`` starts (``.ci/run`` starts it),
whose merged result must equal a serial run of the same grid.

Skipped, with the reason, where no Slurm cluster answers; ``.ci/run`` sets
TINYDAGAN_REQUIRE_SLURM=1 after starting one, and then a missing cluster is a failure.
"""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training_fixtures import tiny_cifar  # noqa: F401  (a pytest fixture)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "slurm"
GRID = ["--methods", "C", "DAGAN", "--per-class", "5", "--data-seeds", "0", "1", "--steps", "3",
        "--steps-gan", "4", "--width", "0.125", "--val-per-class", "5", "--batch-size", "16",
        "--eval-every", "3", "--log-every", "3", "--checkpoint-every", "3", "--sample-every", "100"]


def slurm_answers():
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return False
    try:
        r = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and any(s in r.stdout for s in ("idle", "mixed", "alloc"))


def test_the_scripts_refuse_bad_usage():
    r = subprocess.run(["bash", str(EXAMPLES / "submit.sh"), "zero", "out"], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "usage: submit.sh N OUT" in r.stderr
    r = subprocess.run(["bash", str(EXAMPLES / "grid.sbatch"), "2", "out"], capture_output=True,
                       text=True, env={k: v for k, v in os.environ.items()
                                       if k != "SLURM_ARRAY_TASK_ID"})
    assert r.returncode == 2 and "usage: sbatch --array=1-N" in r.stderr


@pytest.mark.slow
def test_a_job_array_and_its_merge_equal_a_serial_run(tiny_cifar, tmp_path):
    if not slurm_answers():
        if os.environ.get("TINYDAGAN_REQUIRE_SLURM") == "1":
            pytest.fail("TINYDAGAN_REQUIRE_SLURM=1 but no Slurm cluster answers sinfo")
        pytest.skip("no Slurm cluster answers (start one: sudo bash examples/slurm/local_cluster.sh)")
    flags = GRID + ["--data-root", str(tiny_cifar)]
    env = {**os.environ, "GRID_SBATCH_OPTIONS": "--cpus-per-task=1 --mem=1G"}
    r = subprocess.run(["bash", str(EXAMPLES / "submit.sh"), "3", str(tmp_path / "cluster"), *flags],
                       capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    jobs = r.stdout.split("job array ")[1].split()[0], r.stdout.split("merge: job ")[1].split()[0]
    deadline = time.time() + 600
    while time.time() < deadline:
        q = subprocess.run(["squeue", "-h", "-j", ",".join(jobs), "-o", "%i %T %r"],
                           capture_output=True, text=True, timeout=20)
        if not q.stdout.strip():
            break
        assert "DependencyNeverSatisfied" not in q.stdout, _logs(tmp_path)
        time.sleep(1)
    else:
        subprocess.run(["scancel", *jobs])
        pytest.fail("the Slurm jobs did not finish in 10 minutes:\n" + _logs(tmp_path))
    merged = tmp_path / "cluster" / "merged" / "results.json"
    assert merged.exists(), _logs(tmp_path)
    assert sorted(os.listdir(tmp_path / "cluster")) == ["merged", "shard-1", "shard-2", "shard-3"]

    serial = subprocess.run([sys.executable, "-m", "tinydagan", "compare", *flags, "--out",
                             str(tmp_path / "serial")], capture_output=True, text=True, timeout=300)
    assert serial.returncode == 0, serial.stderr
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    a = json.loads(merged.read_text())
    b = json.loads((tmp_path / "serial" / "results.json").read_text())
    assert a["settings"] == b["settings"] and len(a["runs"]) == 4
    # the merge orders by data seed, n, method; the serial plan has the same order here
    assert strip(a["runs"]) == strip(b["runs"])


def _logs(folder):
    return "\n".join(f"--- {p.name}\n{p.read_text()}" for p in sorted(Path(folder).glob("*.out")))
