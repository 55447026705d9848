"""Search for the classroom setting, on the validation split only.

The classroom comparison must finish in about ten minutes on a 2-core laptop and show the
effect of DAGAN as clearly as such a run can. This script trains a few candidate settings
(image size, width, images per class, steps, which pair of methods) on the *search* data
seeds and ranks them by the paired gain in **validation** accuracy; it never reads a test
accuracy. The chosen setting is then measured once on the test set, on other data seeds
(``compare --preset quick --data-seeds ...``), and reported in docs/results.md.

    TINYDAGAN_DATA=../shared/data python examples/classroom_search.py            # all
    TINYDAGAN_DATA=../shared/data python examples/classroom_search.py n20_aug    # one
    python examples/classroom_search.py --list

Every candidate is a small grid run by ``run_grid`` under ``runs/search/<name>/``, so an
interrupted search resumes where it stopped. A finished candidate's summary (its settings
and per-seed validation figures) goes into ``docs/results/classroom_search.json``, which is
committed: a search continued on another machine skips the candidates listed there.

Two validation figures per run, both from ``result.json``:
    best   the best validation accuracy over the run (what picks the step for the test),
           a little optimistic, more so for a method validated more often
    last   the validation accuracy at the last step (no choice, so no optimism)
"""
import argparse
import json
import os
import sys
import time

from tinydagan.experiments import make_plan, run_grid, worker_environment
from tinydagan.report import paired
from tinydagan.serialization import write_json
from tinydagan.training import TrainConfig

# name: (baseline, method, images per class, baseline steps, method steps, TrainConfig changes)
CANDIDATES = {
    "n50":          ("C", "DAGAN", 50, 750, 1500, {}),            # the quick preset before the search
    "n20":          ("C", "DAGAN", 20, 750, 1500, {}),
    "n20_aug":      ("C_aug", "DAGAN_aug", 20, 750, 1500, {}),
    # width 0.25 costs a DAGAN step about 0.45x of width 0.5: DAGAN gets 2500 steps in budget
    "n50_w025":     ("C", "DAGAN", 50, 1000, 2500, {"width": 0.25}),
    "n20_w025":     ("C", "DAGAN", 20, 1000, 2500, {"width": 0.25}),
    "n20_aug_w025": ("C_aug", "DAGAN_aug", 20, 1000, 2500, {"width": 0.25}),
    "n10_w025":     ("C", "DAGAN", 10, 1000, 2500, {"width": 0.25}),
    # batch 32 costs a DAGAN iteration 0.56x of batch 64 (benchmarks/train_step.py --batch):
    # width 0.5 with 2000 DAGAN steps in budget
    "n50_b32":      ("C", "DAGAN", 50, 750, 2000, {"batch_size": 32}),
}
SEARCH_SEEDS = [0, 1, 2]     # the final measurement uses other data seeds
COMMON = {"val_per_class": 200}
SUMMARY = os.path.join(os.path.dirname(__file__), "..", "docs", "results", "classroom_search.json")


def run_candidate(name, out_root, jobs=1):
    base_method, method, n, steps, steps_gan, changes = CANDIDATES[name]
    base = TrainConfig(**{**COMMON, **changes, "per_class": n})
    plan = make_plan(base, [base_method, method], [n], SEARCH_SEEDS, steps=steps, steps_gan=steps_gan)
    t0 = time.perf_counter()
    results = run_grid(base, plan, os.path.join(out_root, name), jobs=jobs)
    return results, time.perf_counter() - t0


def last_validation(out_root, name, run):
    """Validation accuracy at the run's last step, from its result.json history."""
    folder = f"{run['method']}_n{run['per_class']}_data{run['data_seed']}"
    with open(os.path.join(out_root, name, folder, "result.json")) as f:
        history = json.load(f)["history"]
    return [r["val_acc"] for r in history if "val_acc" in r][-1]


def summary(name, results, out_root, jobs=1):
    """The candidate's settings, per-seed validation accuracies and paired gains."""
    base_method, method, n, steps, steps_gan, changes = CANDIDATES[name]
    by = {(r["method"], r["data_seed"]): r for r in results["runs"]}
    seeds = sorted({s for m, s in by if m == method and (base_method, s) in by})
    line = {"name": name, "baseline": base_method, "method": method, "per_class": n,
            "steps": steps, "steps_gan": steps_gan, "settings": {**COMMON, **changes},
            "seeds": seeds, "jobs": jobs,
            "threads": (worker_environment(jobs)["OPENBLAS_NUM_THREADS"] if jobs > 1
                        else os.environ.get("OPENBLAS_NUM_THREADS", "default")),
            "seconds_per_seat": sum(r["seconds"] for r in results["runs"]) / max(1, len(seeds))}
    for key, value in (("best", lambda r: r["val_accuracy"]),
                       ("last", lambda r: last_validation(out_root, name, r))):
        line[f"val_{key}"] = {m: [value(by[m, s]) for s in seeds] for m in (base_method, method)}
        line[key] = paired([value(by[method, s]) - value(by[base_method, s]) for s in seeds])
    return line


def load_summaries():
    if not os.path.exists(SUMMARY):
        return {}
    with open(SUMMARY) as f:
        return {line["name"]: line for line in json.load(f)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help=f"candidates to run (default: all): {', '.join(CANDIDATES)}")
    p.add_argument("--out", default=os.path.join("runs", "search"), help="(default: runs/search)")
    p.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="train J runs at once, each with its share of the CPUs (as compare --jobs)")
    p.add_argument("--list", action="store_true", help="list the candidates and stop")
    p.add_argument("--again", action="store_true",
                   help="run candidates even if docs/results/classroom_search.json has them")
    args = p.parse_args(argv)
    if args.list:
        for name, (b, m, n, s, sg, ch) in CANDIDATES.items():
            print(f"{name:14s} {b} {s} steps vs {m} {sg} steps, {n} per class, {ch or 'defaults'}")
        return 0
    unknown = [n for n in args.names if n not in CANDIDATES]
    if unknown:
        print(f"classroom_search: unknown candidate(s) {unknown}; expected some of {list(CANDIDATES)}",
              file=sys.stderr)
        return 2
    done = load_summaries()
    for name in args.names or CANDIDATES:
        if name in done and not args.again:
            print(f"{name}: finished earlier ({SUMMARY})")
            continue
        results, _ = run_candidate(name, args.out, args.jobs)
        done[name] = summary(name, results, args.out, args.jobs)
        write_json(SUMMARY, [done[k] for k in CANDIDATES if k in done])
    lines = [done[k] for k in CANDIDATES if k in done]
    print("\ncandidate       seeds  s/seat   gain in validation accuracy (method - baseline), "
          "mean [95% t-interval] positive/k")
    for ln in lines:
        cells = []
        for key in ("best", "last"):
            d = ln[key]
            ci = f"[{d['low']:+.2f}, {d['high']:+.2f}]" if d["low"] is not None else "[-]"
            cells.append(f"{key} {d['mean']:+.2f} {ci} {d['positive']}/{d['k']}")
        print(f"{ln['name']:15s} {len(ln['seeds']):5d} {ln['seconds_per_seat']:7.0f}   " + "   ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
