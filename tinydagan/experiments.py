"""The comparison as a grid: methods x images per class x data seeds, on the *same* subsets.

Which n images per class you draw moves accuracy by several points (about 3 for C at 50
per class in our runs, docs/results.md), more than most gaps between methods. So every
method is trained on the same ``data_seed`` subsets, and the report gives, besides each
cell's mean +- std, the *paired* difference (method - baseline) per data seed.

    plan = make_plan(base, ["C", "DAGAN"], [50, 100], [0, 1, 2])     # one Run per cell and seed
    results = run_grid(base, plan, "runs/compare")                    # resumable, run by run
    merge_folders(["runs/shard1", "runs/shard2"], "runs/all")         # shards pooled

What ``run_grid`` writes to its folder:
    <method>_n<per_class>_data<seed>/   one folder per run (checkpoint, result.json, samples)
    results.json   {"settings": ..., "runs": [...]}, rewritten after every finished run
    results.md, accuracy.png   the report (``report.py``; the trends verdicts: ``trends.py``)

Steps per run follow ``steps_for``: a plain classifier gets ``base.steps`` at 50 images per
class and more as n grows (the labelled set is larger, so it takes longer to fit: the
square root of the growth, doubled from 500 per class on); a method
that trains a generator jointly gets its ``steps_factor`` times that. ``--steps`` and
``--steps-gan`` replace the rule with fixed numbers.

Spreading a grid: ``shard(plan, i, n)`` deals every n-th run to part i (``--shard I/N``: a
seat of a class, or a task of a Slurm job array, examples/slurm/), and ``merge_folders``
pools the parts, equal to one machine running all of it. ``run_grid(..., jobs=J)``
(``--jobs J``) trains J runs at once on one machine, each in a process of its own.
"""
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from . import __version__
from .progress import format_seconds
from .files import open_regular
from .serialization import prepare_folder, write_json
from .training.config import TrainConfig
from .training.methods import METHODS, VanillaGAN, get_method
from .training.run_data import check_class_sizes, load_splits, splits_fingerprint
from .training.trainer import train

__all__ = ["Run", "PRESETS", "steps_rule", "DOUBLE_STEPS_FROM", "steps_for", "make_plan", "shard",
           "run_grid", "merge_folders",
           "grid_settings", "reusable_runs", "run_config", "finished_result", "finished_runs",
           "load_results", "estimate_seconds", "run_seconds",
           "code_version", "run_parallel", "RunFailed", "worker_environment", "THREAD_VARIABLES"]

# Each preset is a set of compare settings; flags given on the command line override them.
PRESETS = {
    # the classroom run: C vs DAGAN on one subset, about 10 minutes on a 2-core laptop; the
    # setting of examples/classroom_search.py that did best on validation (docs/results.md)
    "quick": dict(methods=["C", "DAGAN"], per_class=[50], data_seeds=[0], steps=750,
                  steps_gan=2000, batch_size=32, val_per_class=200),
    # the paper's trends at classroom size: all six methods, four sizes, three subsets; Vanilla
    # GAN's ten per-class GANs get 500 steps each (at 1500 they were half the grid's time)
    "trends": dict(methods=["C", "C_aug", "VanillaGAN", "SemiGAN", "DAGAN", "DAGAN_aug"],
                   per_class=[50, 100, 200, 500], data_seeds=[0, 1, 2], per_class_gan_steps=500),
    # the paper's grid and networks, for a cluster
    "paper": dict(methods=["C", "C_aug", "VanillaGAN", "SemiGAN", "DAGAN", "DAGAN_aug"],
                  per_class=[50, 100, 200, 500, 1000], data_seeds=[0, 1, 2], image_size=32,
                  width=1.0),
}


@dataclass(frozen=True)
class Run:
    """One training run of the grid."""
    method: str
    per_class: int
    data_seed: int
    steps: int

    @property
    def key(self):
        """What identifies a run in a grid (and in a merge): method, n, data seed."""
        return self.method, self.per_class, self.data_seed

    @property
    def folder(self):
        return f"{self.method}_n{self.per_class}_data{self.data_seed}"


# From this many labelled images per class on, the square-root rule gives twice its steps:
# at 500 per class C and C_aug were still improving on validation at the rule's last step on
# every data seed (docs/results.md, "Steps, chosen on validation").
DOUBLE_STEPS_FROM = 500


def steps_rule(base_steps):
    """``steps_for`` in words, for help texts."""
    return (f"{base_steps} at 50 per class, x sqrt(n / 50) above, x 2 again from "
            f"{DOUBLE_STEPS_FROM} per class on")


def steps_for(method, per_class, base_steps):
    """The rule: ``base_steps`` x sqrt(n / 50) for a plain classifier (never fewer than
    ``base_steps``; rounded to 250), twice that from ``DOUBLE_STEPS_FROM`` images per class
    on, times the method's ``steps_factor`` (2 for a method that trains a generator
    jointly)."""
    steps = base_steps * max(1.0, math.sqrt(per_class / 50))
    steps = max(base_steps, int(round(steps / 250)) * 250)
    if per_class >= DOUBLE_STEPS_FROM:
        steps *= 2
    return steps * get_method(method).steps_factor


def make_plan(base, methods, per_class, data_seeds, steps=None, steps_gan=None):
    """Every method x n x data seed, data seed outermost (a finished seed is a complete
    comparison). ``steps``: fixed classifier steps for every n (default: the rule on
    ``base.steps``); ``steps_gan``: fixed steps of the methods that train a generator
    jointly (default: their ``steps_factor`` x the classifier's)."""
    for method in methods:
        if not get_method(method).classifier:
            raise ValueError(f"compare: {method} is not a classifier; it cannot be scored")
    for name, values, least in [("--per-class", per_class, 1), ("--data-seeds", data_seeds, 0),
                                ("--steps", [steps], 1), ("--steps-gan", [steps_gan], 1)]:
        for value in values:
            if value is not None and value < least:  # None: not given (the rule decides)
                raise ValueError(f"compare: {name} must be >= {least}, got {value}")

    def run_steps(method, n):
        m = get_method(method)
        if m.joint_generator and steps_gan is not None:
            return steps_gan
        if steps is not None:                      # fixed for every n
            return steps * m.steps_factor
        return steps_for(method, n, base.steps)

    return [Run(method, n, seed, run_steps(method, n))
            for seed in data_seeds for n in per_class for method in methods]


def shard(plan, index, count):
    """Shard ``index`` of ``count`` (1-based): every count-th run from the index-th, so each
    shard gets a similar mix of methods and sizes. The shards together are the plan."""
    if not (isinstance(index, int) and isinstance(count, int) and 1 <= index <= count):
        raise ValueError(f"--shard I/N needs 1 <= I <= N, got {index}/{count}")
    return plan[index - 1::count]


def code_version():
    """The library version and, when run from a git checkout, its commit."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=5,
                                cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"version": __version__, "commit": commit or None}


def grid_settings(base):
    """The settings every run of a grid shares (what a merge checks): the config minus what
    varies per run and where things are written."""
    skip = {"method", "per_class", "data_seed", "steps", "out_dir", "log_every", "sample_every",
            "checkpoint_every", "only_class"}
    return {k: v for k, v in asdict(base).items() if k not in skip}


def run_seconds(result, measured=None):
    """A run's training time: its result's ``train_seconds`` (every session, what the method
    trained first included) where known, else ``measured`` (this session's wall time), else
    the last session's own training time (a lower bound)."""
    if result.get("train_seconds") is not None:
        return result["train_seconds"]
    return measured if measured is not None else result.get("train_seconds_this_session", 0.0)


def _entry(run, result, seconds, base):
    return {"method": run.method, "per_class": run.per_class, "data_seed": run.data_seed,
            "seed": base.seed, "steps": run.steps, "test_accuracy": result["test_accuracy"],
            "val_accuracy": result["val_accuracy"], "best_step": result["best_step"],
            "test_accuracy_final_step": result["test_accuracy_final_step"],
            "per_class_accuracy": result["per_class"], "seconds": round(seconds, 1)}


def finished_result(run_dir, cfg, data_fingerprint):
    """The result.json of a finished run with these settings on these images
    (``splits_fingerprint``), or None."""
    path = os.path.join(run_dir, "result.json")
    if not os.path.exists(path):
        return None
    try:
        with open_regular(path, "result file", text=True) as f:
            result = json.load(f)
        saved = TrainConfig(**result["config"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    same = (saved.identity() == cfg.identity() and result.get("steps") == cfg.steps
            and result.get("data_fingerprint") == data_fingerprint)
    return result if same and "test_accuracy" in result else None


def finished_runs(base, plan, out_dir, fingerprint):
    """{plan index: result} of the runs of ``plan`` already finished in ``out_dir`` with these
    settings on these images (``finished_result``)."""
    found = {}
    for i, run in enumerate(plan):
        cfg = run_config(base, run, out_dir)
        result = finished_result(cfg.out_dir, cfg, fingerprint)
        if result is not None:
            found[i] = result
    return found


def write_results(out_dir, settings, runs, version):
    """results.json, results.md and accuracy.png of ``runs`` (atomically)."""
    from .report import write_report
    results = {"settings": settings, "version": version, "runs": runs}
    write_json(os.path.join(out_dir, "results.json"), results)
    write_report(results, out_dir)
    return results


def run_config(base, run, out_dir):
    """The TrainConfig of ``run``: ``base`` with the run's method, n, data seed and steps,
    written to ``out_dir/<run.folder>``."""
    return base.replace(method=run.method, per_class=run.per_class, data_seed=run.data_seed,
                        steps=run.steps, out_dir=os.path.join(out_dir, run.folder))


def _per_class_gan_steps(run, base):
    """Steps of the GANs a run trains before its own steps: Vanilla GAN's one per class (ten
    classes: CIFAR-10 and SVHN), 0 for the other methods."""
    return 10 * base.per_class_gan_steps if isinstance(get_method(run.method), VanillaGAN) else 0


def _cost(run, base):
    """A run's cost in units of classifier steps (a GAN step does about 3x the work)."""
    steps = run.steps * (3 if get_method(run.method).generator else 1)
    return steps + 3 * _per_class_gan_steps(run, base)


class _Progress:
    """'run i of N' lines with the grid's elapsed time and ETA (from the cost still to do)."""

    def __init__(self, plan, out, base):
        self.out, self.n, self.started, self.base = out, len(plan), time.perf_counter(), base
        self.total, self.done = float(sum(self._cost(run) for run in plan)), 0.0

    def _cost(self, run):
        return _cost(run, self.base)

    def line(self, i, run, text):
        elapsed = time.perf_counter() - self.started
        eta = (f", ETA {format_seconds(elapsed / self.done * (self.total - self.done))}"
               if self.done else "")
        print(f"== run {i + 1}/{self.n}: {run.method}, {run.per_class} per class, data_seed "
              f"{run.data_seed} {text} [{format_seconds(elapsed)} elapsed{eta}]",
              file=self.out, flush=True)

    def finished(self, run, skipped=False):
        if skipped:                        # nothing to wait for: out of the ETA
            self.total -= self._cost(run)
        else:
            self.done += self._cost(run)


def _settings_diff(a, b):
    """The names of the settings two grids do not share, sorted."""
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def reusable_runs(base, plan, results, source):
    """The entries of an earlier grid's ``results`` (a results.json, for example one committed
    on another machine) that are runs of ``plan`` with these settings: {plan index: entry}.
    Refuses results run with other settings, naming them."""
    diff = _settings_diff(grid_settings(base), results["settings"])
    if diff:
        raise ValueError(f"compare: {source} was run with other settings than this grid "
                         f"(differing: {', '.join(diff)})")
    keyed = {(e["method"], e["per_class"], e["data_seed"], e["steps"]): e for e in results["runs"]}
    found = {i: keyed.get(run.key + (run.steps,)) for i, run in enumerate(plan)}
    return {i: entry for i, entry in found.items() if entry is not None}


def run_grid(base, plan, out_dir, out=None, fresh=False, jobs=1, reuse=None):
    """Train every run of ``plan`` (skipping finished ones, resuming interrupted ones from
    their checkpoints) and write results.json after each. ``jobs`` > 1 trains that many runs
    at once, each in its own process (``run_parallel``). ``reuse``: {plan index: entry} of
    runs finished elsewhere (``reusable_runs``), taken as they are. Returns the results dict;
    its runs are in plan order whatever ``jobs`` is."""
    out = out or sys.stdout
    settings, version = grid_settings(base), code_version()
    reuse = reuse or {}
    prepare_folder(out_dir)
    entries, progress = {}, _Progress(plan, out, base)
    splits = load_splits(base) if plan else None
    fingerprint = splits_fingerprint(splits) if plan else None   # a result on other images is not reused
    done = {} if fresh else finished_runs(base, plan, out_dir, fingerprint)
    todo = []
    for i, run in enumerate(plan):              # finished runs first: nothing to train
        cfg = run_config(base, run, out_dir)
        if i in reuse:
            progress.line(i, run, "(finished elsewhere: taken from the earlier results)")
            progress.finished(run, skipped=True)
            entries[i] = reuse[i]
            continue
        result = done.get(i)
        if result is None:
            todo.append((i, run, cfg))
            continue
        progress.line(i, run, f"(finished earlier) -> {cfg.out_dir}")
        progress.finished(run, skipped=True)
        entries[i] = _entry(run, result, run_seconds(result), base)

    def record(i, run, result, seconds):
        progress.finished(run)
        entries[i] = _entry(run, result, run_seconds(result, seconds), base)
        write_results(out_dir, settings, [entries[k] for k in sorted(entries)], version)

    if todo:                                    # a size the data cannot give fails before any run
        check_class_sizes(splits["train"], max(run.per_class for _, run, _ in todo),
                          base.val_per_class)
    if jobs > 1 and len(todo) > 1:
        run_parallel(todo, jobs, progress, record, fresh, fingerprint)
    else:
        for i, run, cfg in todo:
            progress.line(i, run, f"({run.steps} steps) -> {cfg.out_dir}")
            t0 = time.perf_counter()
            result = train(cfg, splits, out, fresh)
            record(i, run, result, time.perf_counter() - t0)
    return write_results(out_dir, settings, [entries[k] for k in sorted(entries)], version)


class RunFailed(Exception):
    """A run of a ``--jobs`` grid ended with an error (its log says which)."""


# Thread pools of the numerical libraries, each told its size through the environment before
# it loads (setting them after ``import numpy`` has no effect).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


def worker_environment(jobs, cpus=None):
    """The environment of one of ``jobs`` concurrent runs: this machine's CPUs shared out,
    at least one thread each."""
    threads = max(1, (cpus or os.cpu_count() or 1) // jobs)
    return {**os.environ, **{name: str(threads) for name in THREAD_VARIABLES}}


def run_parallel(todo, jobs, progress, record, fresh, data_fingerprint):
    """Train ``todo`` [(plan index, Run, config)] ``jobs`` at a time, each run in a process of
    its own (``python -m tinydagan.experiments CONFIG``) whose output goes to the run's
    ``log.txt``. The parent only starts processes and collects their result.json."""
    env = worker_environment(jobs)
    waiting, running = list(todo), {}
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                i, run, cfg = waiting.pop(0)
                prepare_folder(cfg.out_dir)
                log = open(os.path.join(cfg.out_dir, "log.txt"), "a")
                command = [sys.executable, "-m", "tinydagan.experiments", cfg.to_json()]
                proc = subprocess.Popen(command + (["--fresh"] if fresh else []), env=env,
                                        stdout=log, stderr=subprocess.STDOUT)
                running[proc] = (i, run, cfg, log, time.perf_counter())
                progress.line(i, run, f"({run.steps} steps, started; log: "
                                      f"{os.path.join(cfg.out_dir, 'log.txt')})")
            time.sleep(0.2)
            for proc in [p for p in running if p.poll() is not None]:
                i, run, cfg, log, t0 = running.pop(proc)
                log.close()
                result = finished_result(cfg.out_dir, cfg, data_fingerprint)
                if proc.returncode != 0 or result is None:
                    raise RunFailed(f"run {run.folder} failed (exit code "
                                       f"{proc.returncode}); its output is in "
                                       f"{os.path.join(cfg.out_dir, 'log.txt')}")
                record(i, run, result, time.perf_counter() - t0)
                progress.line(i, run, f"finished: test accuracy {result['test_accuracy']:.2f}%")
    finally:          # Ctrl-C or a failure: the others stop at a consistent checkpoint
        for proc, (_, _, _, log, _) in running.items():
            proc.terminate() if proc.poll() is None else None
        for proc, (_, _, _, log, _) in running.items():
            proc.wait()
            log.close()


def _worker(argv):
    """One run of a ``--jobs`` grid: ``python -m tinydagan.experiments CONFIG_JSON [--fresh]``."""
    from .training.trainer import TrainingStopped
    cfg = TrainConfig.from_json(argv[0])
    try:
        train(cfg, fresh="--fresh" in argv[1:])
    except (ValueError, FileNotFoundError, TrainingStopped) as e:
        print(f"tinydagan compare: error: {e}", flush=True)
        sys.exit(1)
    except KeyboardInterrupt:           # Ctrl-C reaches every process of the terminal
        print("interrupted; the checkpoint in this folder resumes the run", flush=True)
        sys.exit(130)


def load_results(folder, command="merge"):
    """The results.json of a compare folder (or that file itself, given by its path);
    ``command`` starts the error messages."""
    path = folder if folder.endswith(".json") else os.path.join(folder, "results.json")
    try:
        with open_regular(path, "results file", text=True) as f:
            results = json.load(f)
    except FileNotFoundError:
        found = "does not exist" if folder.endswith(".json") else "has no results.json"
        raise ValueError(f"{command}: {folder} {found} (expected a compare --out folder or "
                         f"its results.json)")
    except (OSError, ValueError) as e:
        raise ValueError(f"{command}: {path} is not readable JSON ({e})")
    if not isinstance(results, dict) or not isinstance(results.get("runs"), list) \
            or not isinstance(results.get("settings"), dict):
        raise ValueError(f"{command}: {path} is not a results.json of tinydagan compare "
                         f"(expected 'settings' and 'runs')")
    return results


def _same_run(a, b):
    """Two entries of one run agree (all but the time it took)."""
    return {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}


def merge_folders(folders, out_dir):
    """Pool the results.json of several compare folders (shards) into ``out_dir``.

    Refuses folders whose settings differ (naming the settings), drops exact duplicates of
    a run, refuses two different results for the same run. Runs are ordered by data seed,
    then n, then method in the order of the methods table (C, C_aug, ..., DAGAN_aug: the
    paper's, and the report's rows)."""
    if not folders:
        raise ValueError("merge: give at least one folder")
    loaded = [(f, load_results(f)) for f in folders]
    first_folder, first = loaded[0]
    for folder, results in loaded[1:]:
        diff = _settings_diff(first["settings"], results["settings"])
        if diff:
            raise ValueError(f"merge: {folder} was run with other settings than {first_folder} "
                             f"(differing: {', '.join(diff)})")
    by_key = {}
    for folder, results in loaded:
        for entry in results["runs"]:
            key = (entry["method"], entry["per_class"], entry["data_seed"])
            if key in by_key and not _same_run(by_key[key][1], entry):
                raise ValueError(f"merge: {key[0]}, {key[1]} per class, data_seed {key[2]} has "
                                 f"different results in {by_key[key][0]} and {folder}")
            by_key.setdefault(key, (folder, entry))
    order = {name: i for i, name in enumerate(METHODS)}
    runs = [by_key[k][1] for k in sorted(by_key, key=lambda k: (k[2], k[1], order[k[0]]))]
    prepare_folder(out_dir)
    return write_results(out_dir, first["settings"], runs, first.get("version"))


def estimate_seconds(base, plan, repeats=3, out=None):
    """Seconds each run of ``plan`` should take here, from timing ``repeats`` steps of each
    method on random data at the grid's size (plus Vanilla GAN's per-class GANs).
    Returns [seconds per run]."""
    import numpy as np
    from .optim import EMA, Adam

    names = list(dict.fromkeys(r.method for r in plan))
    vanilla = any(isinstance(get_method(n), VanillaGAN) for n in names)
    per_step = {}
    for name in names + (["GAN"] if vanilla else []):
        method = get_method(name)
        cfg = base.replace(method=name)
        rng = np.random.default_rng(0)
        D, G = method.build_models(cfg, 10, rng)
        opt_d = Adam(D.parameters(), cfg.lr, (cfg.beta1, 0.999))
        opt_g = Adam(G.parameters(), cfg.lr, (cfg.beta1, 0.999)) if G is not None else None
        ema = EMA(D, cfg.ema_decay)
        x = rng.uniform(-1, 1, (cfg.batch_size, 3, cfg.image_size, cfg.image_size)).astype(np.float32)
        y = rng.integers(0, 10, cfg.batch_size)
        times = []
        for i in range(repeats + 1):                  # the first step compiles / warms up
            t0 = time.perf_counter()
            method.train_step(cfg, D, G, opt_d, opt_g, x, y, 10, rng)
            ema.update()
            if i:
                times.append(time.perf_counter() - t0)
        per_step[name] = float(np.median(times))
    seconds = []
    for r in plan:
        s = r.steps * per_step[r.method] + _per_class_gan_steps(r, base) * per_step.get("GAN", 0)
        seconds.append(s * 1.07)      # a run's evaluation, EMA, checkpoints: ~7% (performance.md)
    return seconds


if __name__ == "__main__":
    _worker(sys.argv[1:])
