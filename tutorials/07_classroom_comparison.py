"""Tutorial 07: the classroom comparison: reading mean +- std and a paired interval, and
sharing one grid of runs between the laptops of a class.

Run:  python tutorials/07_classroom_comparison.py          (about a minute; needs no dataset)
      python tutorials/07_classroom_comparison.py --fast   (tiny runs: does it run?)
      The ``# %%`` lines split it into cells: it also opens as a notebook (VS Code, Jupyter).

Is DAGAN better than C? One run of each cannot say: which 50 images per class you happen to
draw moves accuracy by several points, more than the gap between most methods. So the
comparison is a GRID: every method trained on the same few labelled subsets (data seeds),
and the report pairs the methods subset by subset. A class shares the grid: each laptop runs
its part (a shard), the teacher merges the folders.

What you will see
1. Made-up accuracies to learn the statistics on: mean +- std, the paired difference and its
   95% t-interval (tinydagan/report.py: paired, t_quantile_975).
2. A real, tiny grid (C and DAGAN x 3 data seeds on a synthetic image folder):
   experiments.make_plan.
3. Three "seats" each running their shard (experiments.shard, run_grid) into out/07/seat_k.
4. The teacher's merge (experiments.merge_folders) and its report, results.md, read line by
   line and recomputed by hand.
5. What the merge refuses.
The runs are far too short to compare the methods: they exercise the machinery, and the
interval will say so.
"""
# %% Setup
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from shapes import write_shapes_folder                # tutorials/shapes.py, beside this file
from tinydagan import report
from tinydagan.experiments import make_plan, merge_folders, run_grid, shard
from tinydagan.training import TrainConfig

FAST = os.environ.get("TINYDAGAN_TUTORIAL_FAST") == "1" or "--fast" in sys.argv[1:]
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()   # a notebook has no __file__
OUT = HERE / "out" / "07"
OUT.mkdir(parents=True, exist_ok=True)
np.set_printoptions(precision=2, suppress=True)


def section(title):
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


# %% 1. Reading mean +- std and a paired interval (made-up numbers)
section("1. Reading mean +- std and a paired interval (made-up numbers)")
# Simulated, not measured: 5 labelled subsets. The subset's luck (std 3 points) moves BOTH
# methods alike; the method adds 1 point; each run adds its own noise (std 0.5).
rng = np.random.default_rng(7)
k = 5
luck = rng.normal(0, 3.0, k)
acc_c = 30.0 + luck + rng.normal(0, 0.5, k)
acc_d = 31.0 + luck + rng.normal(0, 0.5, k)
print(f"{'data seed':>9s} {'C':>7s} {'DAGAN':>7s} {'DAGAN - C':>10s}")
for s in range(k):
    print(f"{s:9d} {acc_c[s]:7.2f} {acc_d[s]:7.2f} {acc_d[s] - acc_c[s]:+10.2f}")
print(f"mean +- std:  C {acc_c.mean():.2f} +- {acc_c.std(ddof=1):.2f}   "
      f"DAGAN {acc_d.mean():.2f} +- {acc_d.std(ddof=1):.2f}   (std over the {k} subsets, ddof=1)")
print("The two ranges overlap almost entirely: judged this way, nothing can be said.")
d = report.paired(acc_d - acc_c)
t = report.t_quantile_975(k - 1)
print(f"paired: the differences have mean {d['mean']:+.2f} and std {d['std']:.2f}, because the")
print("subset's luck cancels in each difference. Their 95% interval is")
print(f"  mean +- t(0.975, k-1) * std / sqrt(k) = {d['mean']:+.2f} +- {t:.3f} * {d['std']:.2f} / sqrt({k})"
      f" = [{d['low']:+.2f}, {d['high']:+.2f}]")
print(f"  and DAGAN is ahead on {d['positive']}/{d['k']} subsets. An interval that excludes 0 is a "
      "difference this grid can see.")
print("How wide the interval is with fewer subsets (same std of the differences):")
for seeds in (2, 3, 5, 10):
    half = report.t_quantile_975(seeds - 1) * d["std"] / np.sqrt(seeds)
    print(f"  k = {seeds:2d}: t = {report.t_quantile_975(seeds - 1):6.3f}, interval mean +- {half:.2f}")
print("With 2 subsets t is 12.7: two seeds give an interval too wide to mean much. And one run")
print("of each method has no interval at all: report.paired returns low = high = None.")

# %% 2. A tiny grid
section("2. A tiny grid")
images_per_class = 30 if FAST else 100
folder = write_shapes_folder(str(OUT / "shapes"), images_per_class, np.random.default_rng(0))
steps = 2 if FAST else 60
# One TrainConfig holds what every run shares; the plan says what differs per run.
base = TrainConfig(dataset="folder", data_root=folder, image_size=16, width=0.125 if FAST else 0.25,
                   per_class=5 if FAST else 10, val_per_class=5 if FAST else 10, batch_size=32,
                   eval_every=max(1, steps // 2), log_every=max(1, steps // 2), sample_every=10 ** 6,
                   collapse_after=10 ** 6)
plan = make_plan(base, ["C", "DAGAN"], [base.per_class], [0, 1, 2], steps=steps)
print(f"a synthetic folder of {images_per_class} images per shape: {folder}")
print(f"the plan: {len(plan)} runs, data seed outermost (a finished seed is a complete comparison):")
for i, run in enumerate(plan, 1):
    print(f"  {i}. {run.method:5s} {run.per_class} per class, data_seed {run.data_seed}, {run.steps} steps "
          f"-> folder {run.folder}")
print("DAGAN gets twice C's steps: a method that trains a generator alongside gets its steps_factor.")
if FAST:
    print("[fast mode: tiny runs; the numbers below mean nothing]")

# %% 3. Three seats, one shard each
section("3. Three seats, one shard each")
seats = 3
seat_folders = [str(OUT / f"seat_{i}") for i in range(1, seats + 1)]
for i in range(1, seats + 1):
    part = shard(plan, i, seats)
    print(f"seat {i}/{seats} gets runs " + ", ".join(f"{r.method} data_seed {r.data_seed}" for r in part))
print("(every third run from the i-th: each seat gets a mix of methods and subsets)")
print("In class each seat types   python -m tinydagan compare --preset quick --data-seeds 0 1 2 "
      "--shard i/3 --out runs/seat_i")
print("Here the three seats run one after the other, each with its own output folder:")
t0 = time.perf_counter()
for i, folder_i in enumerate(seat_folders, 1):
    print(f"\n-- seat {i} --")
    run_grid(base, shard(plan, i, seats), folder_i, fresh=True)
print(f"\nall seats: {time.perf_counter() - t0:.0f} s")

# %% 4. The teacher merges
section("4. The teacher merges")
class_folder = str(OUT / "class")
print(f"python -m tinydagan merge {' '.join(seat_folders)} --out {class_folder}   is, in Python:")
merged = merge_folders(seat_folders, class_folder)
print(f"{len(merged['runs'])} runs pooled into {class_folder}: results.json, results.md, accuracy.png")
print("\n----- results.md " + "-" * 50)
print(open(os.path.join(class_folder, "results.md")).read().rstrip())
print("-" * 67)
# The same numbers by hand, from results.json:
runs = json.load(open(os.path.join(class_folder, "results.json")))["runs"]
acc = {(r["method"], r["data_seed"]): r["test_accuracy"] for r in runs}
c = np.array([acc["C", s] for s in (0, 1, 2)])
g = np.array([acc["DAGAN", s] for s in (0, 1, 2)])
mine = report.paired(g - c)
print(f"by hand: C {c} -> {c.mean():.2f} +- {c.std(ddof=1):.2f}; DAGAN {g} -> {g.mean():.2f} +- "
      f"{g.std(ddof=1):.2f}")
print(f"         DAGAN - C per seed {g - c} -> {mine['mean']:+.2f}, interval "
      f"[{mine['low']:+.2f}, {mine['high']:+.2f}], positive {mine['positive']}/{mine['k']}")
verdict = ("excludes 0: a difference this grid can see" if mine["low"] > 0 or mine["high"] < 0
           else "includes 0: this grid cannot tell the two methods apart")
print(f"The interval {verdict}.")
print("The 'paper' columns are empty: the paper reports no numbers for a folder of shapes. For")
print("CIFAR-10 they hold its Table 3 (32x32, full width), a scale to compare trends, not numbers.")

# %% 5. What the merge refuses
section("5. What the merge refuses")
twice = merge_folders(seat_folders + seat_folders[:1], str(OUT / "class_again"))
print(f"seat 1 given twice: still {len(twice['runs'])} runs (an exact duplicate of a run is dropped)")
other = OUT / "seat_other_width"                     # a seat that ran the grid at another width
shutil.rmtree(other, ignore_errors=True)
other.mkdir()
results_1 = json.load(open(os.path.join(seat_folders[0], "results.json")))
results_1["settings"]["width"] = 0.5
(other / "results.json").write_text(json.dumps(results_1))
try:
    merge_folders([seat_folders[1], str(other)], str(OUT / "class_refused"))
except ValueError as err:
    print("a seat that ran other settings:", err)
print("So every seat must run the same command: same preset and flags, same code, and the data")
print("given by TINYDAGAN_DATA (a --data-root path is a setting, and paths differ from laptop to")
print("laptop).")

# %% Summary
section("Summary")
print("""- Report a comparison as mean +- std per method AND the paired difference per data seed,
  with its 95% t-interval mean +- t(0.975, k-1) * std / sqrt(k) and how many seeds it wins.
- Pairing removes the subset's luck, which is larger than most gaps between methods; more
  seeds shrink the interval (t falls fast from k = 2 to k = 5).
- A grid is make_plan (methods x n x data seeds); shard(plan, i, N) deals every N-th run to
  seat i; run_grid trains a part and writes results.json; merge_folders pools the parts,
  refusing other settings and conflicting results.
- Short runs on a toy folder test the machinery; only long runs on several seeds measure.""")
section("Exercises")
print("""1. (10 min) In section 1, set the method's gain to 0 (acc_d = 30 + ...). How often, over
   20 values of the rng's seed, does the interval exclude 0? What should the answer be?
2. (10 min) In section 1, give every run noise std 3 instead of 0.5 (the subsets' luck then
   no longer dominates). How do the paired and the unpaired view compare now?
3. (10 min) Run the quick preset's plan through make_plan and shard for a class of 4 seats:
   which seats get work, and how long does each wait? What flag fixes it?
4. (15 min) Rerun this tutorial with steps = 300 (about 5x longer). Does the interval in
   section 4 shrink, move, or both?
No graded task goes with this lesson.""")
