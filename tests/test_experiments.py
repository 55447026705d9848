"""The comparison grid: the plan and its steps, shards, running and resuming, merging, the
report (paired differences, t-intervals, the paper's numbers) and the command line."""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tinydagan.experiments import (PRESETS, THREAD_VARIABLES, Run, RunFailed, load_results,
                                   make_plan, merge_folders, reusable_runs, run_grid, shard,
                                   steps_for, worker_environment)
from tinydagan.report import PAPER_TABLES, format_report, paired, t_quantile_975
from tinydagan.training import TrainConfig

from training_fixtures import tiny_cifar  # noqa: F401  (a pytest fixture)

QUIET = open(os.devnull, "w")


def tiny_base(root, **changes):
    settings = dict(data_root=str(root), width=0.125, val_per_class=5, batch_size=16, steps=3,
                    eval_every=3, log_every=3, checkpoint_every=3, sample_every=100)
    settings.update(changes)
    return TrainConfig(**settings)


def test_the_steps_rule_grows_with_n_and_doubles_for_joint_gans():
    assert steps_for("C", 50, 1500) == 1500 and steps_for("DAGAN", 50, 1500) == 3000
    assert steps_for("DAGAN_aug", 100, 1500) == 6000            # its own factor: 3 x 2000
    assert steps_for("C", 200, 1500) == 3000                    # 1500 x sqrt(4)
    assert steps_for("C_aug", 100, 1500) == 2000                # 2121 rounded to 250
    assert steps_for("C", 10, 1500) == 1500                     # never fewer than the base
    assert steps_for("VanillaGAN", 500, 1500) == 2 * steps_for("C", 500, 1500)


def test_the_steps_rule_doubles_from_500_per_class_on():
    assert steps_for("C", 499, 1500) == 4750                    # 1500 x sqrt(9.98), rounded
    assert steps_for("C", 500, 1500) == 9500                    # 2 x 4750
    assert steps_for("DAGAN", 500, 1500) == 19000 and steps_for("DAGAN_aug", 500, 1500) == 28500
    assert steps_for("C", 1000, 1500) == 2 * 6750               # 1500 x sqrt(20) = 6708


def test_the_plan_is_every_cell_and_seed_with_fixed_steps_overriding_the_rule():
    base = TrainConfig(steps=1500)
    plan = make_plan(base, ["C", "DAGAN"], [50, 200], [0, 1])
    assert len(plan) == 8 and plan[0] == Run("C", 50, 0, 1500) and plan[3] == Run("DAGAN", 200, 0, 6000)
    assert [r.data_seed for r in plan] == [0] * 4 + [1] * 4        # a finished seed is complete
    fixed = make_plan(base, ["C", "DAGAN"], [50, 200], [0], steps=100, steps_gan=150)
    assert [r.steps for r in fixed] == [100, 150, 100, 150]
    with pytest.raises(ValueError, match="GAN is not a classifier"):
        make_plan(base, ["C", "GAN"], [50], [0])


def test_shards_partition_the_plan():
    plan = make_plan(TrainConfig(), PRESETS["trends"]["methods"], [50, 100, 200, 500], [0, 1, 2])
    parts = [shard(plan, i, 5) for i in range(1, 6)]
    assert sorted((r for p in parts for r in p), key=str) == sorted(plan, key=str)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    for bad in [(0, 3), (4, 3), (1, 0)]:
        with pytest.raises(ValueError, match="1 <= I <= N"):
            shard(plan, *bad)


def test_paired_interval_uses_the_t_quantile():
    assert t_quantile_975(1) == 12.706 and t_quantile_975(9) == 2.262 and t_quantile_975(100) == 1.96
    d = paired([1.0, 2.0, 3.0])
    half = 4.303 * 1.0 / np.sqrt(3)
    assert d["mean"] == 2.0 and d["positive"] == 3
    np.testing.assert_allclose([d["low"], d["high"]], [2 - half, 2 + half])
    assert paired([1.5])["low"] is None


def test_report_pairs_methods_on_the_same_seed_beside_the_paper():
    runs = [{"method": m, "per_class": 50, "data_seed": s, "test_accuracy": a, "seconds": 60}
            for m, s, a in [("C", 0, 30.0), ("C", 1, 20.0), ("DAGAN", 0, 33.0), ("DAGAN", 1, 21.0)]]
    text = format_report({"settings": {"dataset": "cifar10", "image_size": 16, "width": 0.5},
                          "version": {}, "runs": runs})
    half = 12.706 * np.std([3, 1], ddof=1) / np.sqrt(2)
    assert (f"| DAGAN | 2 | 27.00 +- 8.49 | +2.00 | [{2 - half:+.2f}, {2 + half:+.2f}] | 2/2 | "
            f"39.3 | +2.1 |") in text
    assert "| C | 2 | 25.00 +- 7.07 | - | - | - | 37.2 | - |" in text
    assert PAPER_TABLES["svhn"]["DAGAN"][50] == 49.7


@pytest.mark.slow
def test_a_tiny_grid_runs_resumes_and_its_merged_shards_equal_it(tiny_cifar, tmp_path):
    base = tiny_base(tiny_cifar)
    plan = make_plan(base, ["C", "DAGAN"], [5, 10], [0, 1], steps=3, steps_gan=4)
    serial = run_grid(base, plan, str(tmp_path / "serial"), out=QUIET)
    assert len(serial["runs"]) == 8
    files = set(os.listdir(tmp_path / "serial"))
    assert {"results.json", "results.md", "accuracy.png", "C_n5_data0", "DAGAN_n10_data1"} <= files
    entry = serial["runs"][1]
    assert (entry["method"], entry["per_class"], entry["data_seed"], entry["steps"]) == ("DAGAN", 5, 0, 4)
    assert len(entry["per_class_accuracy"]) == 10 and 0 <= entry["test_accuracy"] <= 100
    assert serial["settings"]["width"] == 0.125 and "version" in serial["version"]

    # run again: every run is finished, nothing trains, the numbers are the same
    again = run_grid(base, plan, str(tmp_path / "serial"), out=QUIET)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert strip(again["runs"]) == strip(serial["runs"])

    # two shards on "two machines", merged, equal the serial grid
    for i in (1, 2):
        run_grid(base, shard(plan, i, 2), str(tmp_path / f"shard{i}"), out=QUIET)
    merged = merge_folders([str(tmp_path / "shard2"), str(tmp_path / "shard1"),
                            str(tmp_path / "shard1")], str(tmp_path / "merged"))  # a duplicate too
    assert strip(merged["runs"]) == strip(serial["runs"])
    assert json.load(open(tmp_path / "merged" / "results.json"))["runs"] == merged["runs"]
    report = (tmp_path / "merged" / "results.md").read_text()
    assert report.count(" images per class\n") == 2 and "**T1: DAGAN beats C" in report

    # a shard run with other settings, or a different result for the same run, is refused
    other = tiny_base(tiny_cifar, lr=1e-3)
    run_grid(other, shard(plan, 1, 4), str(tmp_path / "other"), out=QUIET)
    with pytest.raises(ValueError, match="other settings.*differing: lr"):
        merge_folders([str(tmp_path / "shard1"), str(tmp_path / "other")], str(tmp_path / "m2"))
    bad = json.load(open(tmp_path / "shard2" / "results.json"))
    bad["runs"][0]["test_accuracy"] += 1
    (tmp_path / "conflict").mkdir()
    (tmp_path / "conflict" / "results.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="different results in"):
        merge_folders([str(tmp_path / "shard2"), str(tmp_path / "conflict")], str(tmp_path / "m3"))


def test_a_grid_continues_on_another_machine_from_its_committed_results_json(tiny_cifar, tmp_path):
    base = tiny_base(tiny_cifar)
    plan = make_plan(base, ["C", "DAGAN"], [5], [0, 1], steps=3, steps_gan=4)
    serial = run_grid(base, plan, str(tmp_path / "serial"), out=QUIET)
    # the first machine finished data seed 0 only; just its results.json travels
    run_grid(base, plan[:2], str(tmp_path / "first"), out=QUIET)
    committed = tmp_path / "trends.json"
    committed.write_text((tmp_path / "first" / "results.json").read_text())
    reuse = reusable_runs(base, plan, load_results(str(committed)), str(committed))
    assert sorted(reuse) == [0, 1]
    log = io.StringIO()
    second = run_grid(base, plan, str(tmp_path / "second"), out=log, reuse=reuse)
    assert log.getvalue().count("finished elsewhere") == 2
    assert sorted(os.listdir(tmp_path / "second")) == sorted(
        ["results.json", "results.md", "accuracy.png", "C_n5_data1", "DAGAN_n5_data1"])  # only seed 1 trained
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert strip(second["runs"]) == strip(serial["runs"])
    # a run with other steps is not the same run; other settings are refused by name
    assert reusable_runs(base, make_plan(base, ["C"], [5], [0], steps=5),
                         load_results(str(committed)), "x") == {}
    with pytest.raises(ValueError, match="other settings than this grid.*differing: lr"):
        reusable_runs(tiny_base(tiny_cifar, lr=1e-3), plan, load_results(str(committed)), "x")


def test_merge_orders_methods_as_the_methods_table_not_by_name(tmp_path):
    entry = {"per_class": 50, "data_seed": 0, "seed": 0, "steps": 10, "test_accuracy": 30.0,
             "val_accuracy": 30.0, "best_step": 10, "test_accuracy_final_step": 30.0,
             "per_class_accuracy": [30.0] * 10, "seconds": 1.0}
    names = ["SemiGAN", "DAGAN_aug", "C_aug", "VanillaGAN", "DAGAN", "C"]   # any order
    for i, name in enumerate(names):
        folder = tmp_path / f"shard{i}"
        folder.mkdir()
        runs = [{**entry, "method": name}, {**entry, "method": name, "data_seed": 1}]
        (folder / "results.json").write_text(json.dumps(
            {"settings": {"width": 0.5}, "version": {}, "runs": runs}))
    merged = merge_folders([str(tmp_path / f"shard{i}") for i in range(6)],
                           str(tmp_path / "merged"))
    order = ["C", "C_aug", "VanillaGAN", "SemiGAN", "DAGAN", "DAGAN_aug"]
    assert [(r["data_seed"], r["method"]) for r in merged["runs"]] == \
        [(0, m) for m in order] + [(1, m) for m in order]
    report = (tmp_path / "merged" / "results.md").read_text()
    rows = [line.split(" | ")[0][2:] for line in report.splitlines()
            if line.startswith("| ") and not line.startswith(("| method", "|---"))]
    assert rows[:6] == order


def test_merge_refuses_a_folder_without_results(tmp_path):
    with pytest.raises(ValueError, match="has no results.json"):
        merge_folders([str(tmp_path)], str(tmp_path / "out"))
    (tmp_path / "results.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected 'settings' and 'runs'"):
        merge_folders([str(tmp_path)], str(tmp_path / "out"))


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tinydagan", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def test_cli_dry_run_prints_the_plan_with_an_estimate(tmp_path):
    r = _cli("compare", "--preset", "quick", "--width", "0.125", "--dry-run", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "  1. C             50 per class  data_seed 0     750 steps  ~" in r.stdout
    assert "DAGAN" in r.stdout and "2000 steps" in r.stdout
    assert "2 runs, about" in r.stdout and "nothing was trained" in r.stdout
    assert os.listdir(tmp_path) == []                              # nothing written


def test_a_dry_run_leaves_out_the_runs_finished_in_its_out_folder(tiny_cifar, tmp_path):
    tiny = ["--methods", "C", "--per-class", "5", "--steps", "3", "--width", "0.125",
            "--val-per-class", "5", "--batch-size", "16", "--eval-every", "3",
            "--data-root", str(tiny_cifar), "--out", str(tmp_path / "grid")]
    r = _cli("compare", *tiny, "--data-seeds", "0", "1")
    assert r.returncode == 0, r.stderr
    r = _cli("compare", *tiny, "--data-seeds", "0", "1", "2", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "2 of 3 runs finished earlier in" in r.stdout
    planned = [line for line in r.stdout.splitlines() if "per class  data_seed" in line]
    assert len(planned) == 1 and "data_seed 2" in planned[0]
    r = _cli("compare", *tiny, "--data-seeds", "0", "1", "2", "--dry-run", "--fresh")
    assert "finished earlier" not in r.stdout and "3 runs, about" in r.stdout


def test_cli_flags_override_the_preset_and_errors_are_one_line(tmp_path):
    r = _cli("compare", "--preset", "trends", "--methods", "C", "--per-class", "50", "100",
             "--data-seeds", "3", "--shard", "2/2", "--dry-run", "--width", "0.125")
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if "per class" in line]
    assert len(lines) == 1 and "C" in lines[0] and "100 per class" in lines[0] and "data_seed 3" in lines[0]
    for args, message in [(["--shard", "3"], "--shard expects I/N"),
                          (["--shard", "3/2"], "1 <= I <= N"),
                          (["--per-class", "50", "0"], "--per-class must be >= 1, got 0")]:
        r = _cli("compare", "--dry-run", *args)
        assert r.returncode == 1 and message in r.stderr, r.stderr
    r = _cli("compare", "--preset", "huge")
    assert r.returncode == 2 and "invalid choice: 'huge'" in r.stderr
    r = _cli("merge", str(tmp_path), "--out", str(tmp_path / "m"))
    assert r.returncode == 1 and "has no results.json" in r.stderr
    r = _cli("compare", "--continue-from", str(tmp_path / "trends.json"), "--dry-run")
    assert r.returncode == 1 and "compare: " in r.stderr and "trends.json does not exist" in r.stderr


@pytest.mark.slow
def test_jobs_train_runs_in_parallel_processes_equal_to_serial(tiny_cifar, tmp_path):
    base = tiny_base(tiny_cifar)
    plan = make_plan(base, ["C", "DAGAN"], [5], [0, 1], steps=3, steps_gan=4)
    serial = run_grid(base, plan, str(tmp_path / "serial"), out=QUIET)
    log = io.StringIO()
    parallel = run_grid(base, plan, str(tmp_path / "jobs"), out=log, jobs=2)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert strip(parallel["runs"]) == strip(serial["runs"])          # same runs, plan order
    assert log.getvalue().count("started; log:") == 4 and "finished: test accuracy" in log.getvalue()
    assert "step" in (tmp_path / "jobs" / "DAGAN_n5_data1" / "log.txt").read_text()


def test_each_of_j_jobs_gets_its_share_of_the_cpus():
    env = worker_environment(2, cpus=8)
    assert all(env[name] == "4" for name in THREAD_VARIABLES)
    assert worker_environment(4, cpus=2)["OMP_NUM_THREADS"] == "1"        # never 0


@pytest.mark.slow
def test_a_failed_job_is_one_error_naming_its_log(tiny_cifar, tmp_path):
    base = tiny_base(tiny_cifar)
    plan = make_plan(base, ["C"], [5], [0, 1], steps=3)
    (tmp_path / "out" / "C_n5_data0").mkdir(parents=True)
    (tmp_path / "out" / "C_n5_data0" / "checkpoint.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(RunFailed, match=r"run C_n5_data0 failed \(exit code 1\).*log.txt"):
        run_grid(base, plan, str(tmp_path / "out"), out=QUIET, jobs=2)
    log = (tmp_path / "out" / "C_n5_data0" / "log.txt").read_text()
    assert "is not a readable .npz" in log and "Traceback" not in log


def test_a_size_the_data_cannot_give_is_refused_before_any_run(tiny_cifar, tmp_path):
    base = tiny_base(tiny_cifar)
    plan = make_plan(base, ["C"], [5, 100], [0], steps=3)     # the fixture has 40 per class
    for jobs in (1, 2):
        with pytest.raises(ValueError, match=r"--per-class 100 \+ --val-per-class 5 = 105 training "
                                             r"images per class are needed, but class '.*' has only 40"):
            run_grid(base, plan, str(tmp_path / f"out{jobs}"), out=QUIET, jobs=jobs)
        assert os.listdir(tmp_path / f"out{jobs}") == []          # nothing trained


def test_cli_unknown_method_and_missing_data_are_one_line_errors(tmp_path):
    r = _cli("compare", "--methods", "C", "GANN", "--dry-run")
    assert r.returncode == 2 and "invalid choice: 'GANN'" in r.stderr and "Traceback" not in r.stderr
    r = _cli("compare", "--data-root", str(tmp_path / "nowhere"), "--methods", "C", "--data-seeds", "0",
             "--out", str(tmp_path / "out"), env={"TINYDAGAN_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "download cifar10" in r.stderr, r.stderr


@pytest.mark.slow
def test_svhn_goes_through_the_same_command_from_the_official_mat_files(tmp_path):
    from data_fixtures import write_svhn
    write_svhn(tmp_path / "data", np.random.default_rng(0), n=200)   # train_32x32.mat, test_32x32.mat
    flags = ["--dataset", "svhn", "--data-root", str(tmp_path / "data"), "--methods", "C", "DAGAN_aug",
             "--per-class", "5", "--data-seeds", "0", "--steps", "3", "--steps-gan", "4",
             "--width", "0.125", "--val-per-class", "5", "--batch-size", "16", "--eval-every", "3",
             "--log-every", "3", "--checkpoint-every", "3", "--sample-every", "100",
             "--out", str(tmp_path / "out")]
    r = _cli("compare", *flags, env={"TINYDAGAN_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 0, r.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["settings"]["dataset"] == "svhn" and len(results["runs"]) == 2
    report = (tmp_path / "out" / "results.md").read_text()
    assert "Table 4" in report and "SVHN" in report
    assert (tmp_path / "out" / "accuracy.png").exists()
    # the paper's SVHN numbers come from its table; none were produced on this machine
    assert "| C | 1 |" in report


TRENDS_SEARCH = os.path.join(os.path.dirname(__file__), "..", "examples", "trends_search.py")


@pytest.mark.slow
def test_trends_search_compares_a_changed_setting_with_the_grid_on_validation_only(tiny_cifar,
                                                                                   tmp_path):
    small = ["--data-root", str(tiny_cifar), "--per-class", "20", "--data-seeds", "0", "1",
             "--width", "0.125", "--val-per-class", "5", "--batch-size", "16", "--lr", "0.002",
             "--steps", "30", "--steps-gan", "30", "--eval-every", "10", "--log-every", "10",
             "--checkpoint-every", "10", "--sample-every", "100"]
    grid = _cli("compare", "--preset", "trends", "--methods", "C", "DAGAN",
                "--out", str(tmp_path / "grid"), *small)
    assert grid.returncode == 0, grid.stderr
    grid_runs = {(e["method"], e["data_seed"]): e["val_accuracy"]
                 for e in json.load(open(tmp_path / "grid" / "results.json"))["runs"]}
    summary = tmp_path / "search.json"
    where = ["--grid", str(tmp_path / "grid" / "results.json"), "--summary", str(summary),
             "--out", str(tmp_path / "search")]

    def search(*args):
        return subprocess.run([sys.executable, TRENDS_SEARCH, *args], capture_output=True,
                              text=True, timeout=300)

    run = search("fm_n50", *where, "--", *small)
    assert run.returncode == 0, run.stderr
    assert "test accuracy" not in run.stdout.lower()             # validation only
    [line] = json.load(open(summary))
    mine = {e["data_seed"]: e for e in
            json.load(open(tmp_path / "search" / "fm_n50" / "results.json"))["runs"]}
    assert sorted(mine) == line["seeds"] == [0, 1] and mine[0]["method"] == "DAGAN"
    assert json.load(open(tmp_path / "search" / "fm_n50" / "DAGAN_n20_data0" / "result.json")
                     )["config"]["g_loss"] == "feature_matching"
    gains = [mine[s]["val_accuracy"] - grid_runs["DAGAN", s] for s in (0, 1)]
    assert line["gain_over_grid_method"] == paired(gains)
    assert line["rival"] == "C" and line["val_best"]["grid C"] == [grid_runs["C", 0],
                                                                    grid_runs["C", 1]]
    assert line["gain_over_grid_rival"] == paired([mine[s]["val_accuracy"] - grid_runs["C", s]
                                                   for s in (0, 1)])

    again = search("fm_n50", *where, "--", *small)                 # kept, not retrained
    assert again.returncode == 0 and "fm_n50: finished earlier" in again.stdout
    other = search("lc2_n50", *where, "--", *small, "--dropout", "0.3")
    assert other.returncode != 0 and "differing: dropout" in other.stderr
    assert not (tmp_path / "search" / "lc2_n50").exists()          # refused before training
    aug = search("pad1_n100", *where, "--", *small)                # the grid has no DAGAN_aug
    assert aug.returncode != 0 and "none of DAGAN_aug data seed 0" in aug.stderr
    assert not (tmp_path / "search" / "pad1_n100").exists()
    assert search("nope", *where).returncode == 2
