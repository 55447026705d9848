"""Change one setting of the trends grid's recipe and compare, on the validation split only.

Where a trend of the paper does not appear in the grid (docs/results.md), the knobs the paper
leaves open (the L_c weight, the generator's loss, the std of D's input noise, the strength
of the classic augmentation) may be why. This script trains one method of the grid again
with one setting changed, on the grid's own data seeds, and sets its **validation** accuracy
beside that of the grid's runs of the same method and of its rival in the trend on the same
images (C for DAGAN, DAGAN for DAGAN_aug; read from docs/results/trends.json). It never
prints a test accuracy; a change found here would have to be run on the whole grid before
it could change a verdict.

    TINYDAGAN_DATA=../shared/data python examples/trends_search.py              # all
    TINYDAGAN_DATA=../shared/data python examples/trends_search.py fm_n50       # one
    python examples/trends_search.py --list

A candidate is ``compare --preset trends --methods M --per-class N`` plus its flags, trained
under ``runs/trends_search/<name>/`` (an interrupted one resumes). Its summary goes into
``docs/results/trends_search.json``, which is committed: a search continued on another
machine skips the candidates listed there. Flags after ``--`` are added to every
candidate's command line (the tests use them to shrink the runs; the baseline file must then
have been made with the same flags).

The figure compared is each run's best validation accuracy (the one that picks its step for
the test set); the grid's runs and the candidates are validated equally often, so the
optimism of taking a maximum is the same on both sides.
"""
import argparse
import json
import os
import sys
import time

from tinydagan.cli import build_parser, compare_grid
from tinydagan.experiments import grid_settings, run_grid, worker_environment
from tinydagan.report import paired
from tinydagan.serialization import prepare_folder, write_json

# name: (method, images per class, the compare flags that differ from the grid's recipe,
#        the rival it must beat in the paper's trend: C for DAGAN (T1), DAGAN for DAGAN_aug (T2))
CANDIDATES = {
    # Semi GAN, whose G matches D's features of real images in Salimans et al., is ahead of
    # DAGAN at 50 per class on two seeds of three: does DAGAN do better with that G loss?
    "fm_n50":      ("DAGAN", 50, ["--g-loss", "feature_matching"], "C"),
    # L_c asks D to put a generated image of class y into fake class y: twice as much of it
    "lc2_n50":     ("DAGAN", 50, ["--lc-weight", "2"], "C"),
    # and none of it: is L_c what DAGAN gains by over a plain 2K-output GAN?
    "lc0_n50":     ("DAGAN", 50, ["--lc-weight", "0"], "C"),
    # the input noise regularises D, the classifier; 50 images per class may want more of it
    "noise03_n50": ("DAGAN", 50, ["--noise-std", "0.3"], "C"),
    "noise01_n50": ("DAGAN", 50, ["--noise-std", "0.1"], "C"),
    # DAGAN_aug trails DAGAN at 100 and 200 per class, and C_aug gains little over C there:
    # is a shift of up to 2 pixels too much for a 16x16 image? One pixel, and flips only
    "pad1_n100":   ("DAGAN_aug", 100, ["--crop-padding", "1"], "DAGAN"),
    "pad0_n100":   ("DAGAN_aug", 100, ["--crop-padding", "0"], "DAGAN"),
}
ROOT = os.path.join(os.path.dirname(__file__), "..")
GRID = os.path.join(ROOT, "docs", "results", "trends.json")
SUMMARY = os.path.join(ROOT, "docs", "results", "trends_search.json")


def candidate_grid(name, extra=()):
    """(base TrainConfig, plan) of a candidate: the trends preset, its method and size, its
    flags, then ``extra``."""
    method, n, flags, _ = CANDIDATES[name]
    args = build_parser().parse_args(["compare", "--preset", "trends", "--methods", method,
                                      "--per-class", str(n), *flags, *extra])
    return compare_grid(args)


def grid_runs(base, plan, name, grid):
    """The grid's runs a candidate is compared with: {(method, data_seed): entry} at its size
    (``base.per_class``). Refuses a grid whose settings differ from the candidate's in more
    than its own flags, or that lacks a run of the method or its rival on a seed of ``plan``."""
    method, _, flags, rival = CANDIDATES[name]
    n = base.per_class
    changed = {f.lstrip("-").replace("-", "_") for f in flags[::2]}
    mine, theirs = grid_settings(base), grid["settings"]
    diff = sorted(k for k in set(mine) | set(theirs)
                  if mine.get(k) != theirs.get(k) and k not in changed)
    if diff:
        raise SystemExit(f"trends_search: the grid's results were made with other settings "
                         f"than {name} apart from its own flags (differing: {', '.join(diff)})")
    runs = {(e["method"], e["data_seed"]): e for e in grid["runs"] if e["per_class"] == n}
    missing = [f"{m} data seed {r.data_seed}" for r in plan for m in (method, rival)
               if (m, r.data_seed) not in runs]
    if missing:
        raise SystemExit(f"trends_search: {name} is compared with the grid's runs at {n} per "
                         f"class, and the grid has none of {', '.join(missing)}")
    return runs


def summary(name, base, results, by_grid, jobs):
    """The candidate's flags, per-seed validation accuracies beside the grid's runs
    ``by_grid`` (``grid_runs``), and paired gains over the grid's run of the same method and
    over its rival's."""
    method, _, flags, rival = CANDIDATES[name]
    n, mine = base.per_class, {e["data_seed"]: e for e in results["runs"]}
    seeds = sorted(mine)                        # grid_runs checked the grid has them all
    val = lambda e: e["val_accuracy"]
    line = {"name": name, "method": method, "rival": rival, "per_class": n, "flags": flags,
            "seeds": seeds,
            "steps": [mine[s]["steps"] for s in seeds],
            "best_step": [mine[s]["best_step"] for s in seeds],
            "val_best": {name: [val(mine[s]) for s in seeds],
                         f"grid {method}": [val(by_grid[method, s]) for s in seeds],
                         f"grid {rival}": [val(by_grid[rival, s]) for s in seeds]},
            "gain_over_grid_method": paired([val(mine[s]) - val(by_grid[method, s]) for s in seeds]),
            "gain_over_grid_rival": paired([val(mine[s]) - val(by_grid[rival, s]) for s in seeds]),
            "jobs": jobs,
            "threads": (worker_environment(jobs)["OPENBLAS_NUM_THREADS"] if jobs > 1
                        else os.environ.get("OPENBLAS_NUM_THREADS", "default")),
            "seconds": [mine[s]["seconds"] for s in seeds]}
    return line


def load_summaries(path):
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return {line["name"]: line for line in json.load(f)}


def _interval(d):
    ci = f"[{d['low']:+.2f}, {d['high']:+.2f}]" if d["low"] is not None else "[-]"
    return f"{d['mean']:+.2f} {ci} {d['positive']}/{d['k']}"


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Flags after -- go to every candidate's compare command.")
    p.add_argument("names", nargs="*", help=f"candidates to run (default: all): {', '.join(CANDIDATES)}")
    p.add_argument("--out", default=os.path.join("runs", "trends_search"),
                   help="(default: runs/trends_search)")
    p.add_argument("--grid", default=GRID, help="the grid's results.json to compare with "
                                                "(default: docs/results/trends.json)")
    p.add_argument("--summary", default=SUMMARY, help="where the summaries go (default: "
                                                      "docs/results/trends_search.json)")
    p.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="train J runs at once, each with its share of the CPUs (as compare --jobs)")
    p.add_argument("--list", action="store_true", help="list the candidates and stop")
    p.add_argument("--again", action="store_true", help="run candidates the summary file has")
    args = p.parse_args(argv)
    if args.list:
        for name, (m, n, flags, rival) in CANDIDATES.items():
            print(f"{name:12s} {m} at {n} per class with {' '.join(flags)} (rival: {rival})")
        return 0
    unknown = [n for n in args.names if n not in CANDIDATES]
    if unknown:
        print(f"trends_search: unknown candidate(s) {unknown}; expected some of {list(CANDIDATES)}",
              file=sys.stderr)
        return 2
    with open(args.grid) as f:
        grid = json.load(f)
    done = load_summaries(args.summary)
    for name in args.names or CANDIDATES:
        if name in done and not args.again:
            print(f"{name}: finished earlier ({args.summary})")
            continue
        base, plan = candidate_grid(name, extra)
        by_grid = grid_runs(base, plan, name, grid)   # refuses a mismatched grid before training
        folder = os.path.join(args.out, name)
        prepare_folder(folder)
        log = os.path.join(folder, "log.txt")   # the runs' progress, their test scores among it
        print(f"{name}: training {len(plan)} runs; progress and time left in {log}", flush=True)
        t0 = time.perf_counter()
        with open(log, "a") as out:
            results = run_grid(base, plan, folder, out=out, jobs=args.jobs)
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
        done[name] = summary(name, base, results, by_grid, args.jobs)
        write_json(args.summary, [done[k] for k in CANDIDATES if k in done])
    print("\ncandidate    best validation accuracy per data seed: candidate / grid's run of the "
          "method / grid's rival;\n             gain over the grid's method and over the rival, "
          "mean [95% t-interval] positive/k")
    for ln in (done[k] for k in CANDIDATES if k in done):
        v = ln["val_best"]
        seeds = "  ".join(" / ".join(f"{v[k][i]:.1f}" for k in v) for i in range(len(ln["seeds"])))
        print(f"{ln['name']:12s} {seeds}\n{'':12s} over {ln['method']} "
              f"{_interval(ln['gain_over_grid_method'])}   over {ln['rival']} "
              f"{_interval(ln['gain_over_grid_rival'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
