"""``tinydagan augment``: does DAGAN help on *your* images? Train it, write its images, say.

    tinydagan augment --data my_images --per-class 100 --out runs/augment

(Classic augmentation, crop + flip, is ``tinydagan/data/augment.py``; this module is GAN
augmentation as a command.) It answers the question practitioners ask of GAN augmentation,
"does it help on my data?", with the library's own pieces, in five steps:

1. **The split** (``folder_split`` / ``dataset_split``). An image folder holds out a test
   split, a fifth of its smallest class from every class (``run_data.load_splits``: the
   same images for every data seed). From the rest, every run draws per data seed a
   validation split (to choose its step) and a labelled subset. The subset is *balanced*:
   every class gives as many images as the smallest one has left, so both methods, and
   DAGAN's generator (which draws every class equally often), see each class equally, as in
   the paper; larger classes keep images that no run trains on, and the split says how
   many. CIFAR-10 and SVHN use their official test sets.
2. **The comparison**: C and DAGAN (C_aug and DAGAN_aug too with ``with_aug``) on the same
   subsets, one per data seed, as a grid of ``experiments`` (``make_plan``, ``run_grid``) in
   ``OUT/runs/``: resumable, a finished run is skipped.
3. **The classification accuracy score (CAS)** of each data seed's generator (Ravuri &
   Vinyals 2019): a C trained on generated images only, as many per class as the real
   subset, scored on the real test split (``OUT/runs/CAS_n<n>_data<seed>_gen<G's steps>/``).
   Near C's accuracy on real images: the samples carry their class; near chance: they do
   not. It needs no Inception network, so it runs on a CPU.
4. **The images**: ``per_class`` PNGs per class from the first data seed's generator into
   ``OUT/<class>/`` (``sample.py``), a grid ``OUT/samples.png``, the generator itself in
   ``OUT/generator.npz`` (``tinydagan sample`` draws more from it).
5. **The report**, ``OUT/report.md`` and ``OUT/report.json``: test accuracies per data seed,
   the paired gain with its 95% interval, one sentence (``report.verdict``: helped, hurt, no
   measurable difference), the CAS.
"""
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

from . import data as tdata
from .data.image_folder import list_image_folder
from .experiments import (Run, code_version, estimate_seconds, finished_result, grid_settings,
                          make_plan, run_config, run_grid, run_seconds)
from .progress import format_seconds
from .report import paired, verdict, verdict_sentence
from .sample import GENERATOR_FILE, draw, load_generator, save_sample_grid, write_images
from .serialization import load_npz, prepare_folder, save_npz, write_json, write_text
from .training.config import TrainConfig
from .training.run_data import folder_test_per_class, splits_fingerprint
from .training.trainer import train

__all__ = ["SplitPlan", "Augmentation", "data_source", "folder_split", "dataset_split",
           "augment", "estimate", "format_augment_report", "OWN_NAMES", "RUNS_FOLDER"]

RUNS_FOLDER = "runs"
# What augment writes at the top of OUT, beside one folder per class.
OWN_NAMES = (RUNS_FOLDER, "report.md", "report.json", GENERATOR_FILE, "samples.png")


def data_source(text):
    """``--data``: "cifar10" / "svhn" -> (that dataset, None); anything else is an image
    folder -> ("folder", the path)."""
    return (text, None) if text in ("cifar10", "svhn") else ("folder", text)


@dataclass(frozen=True)
class SplitPlan:
    """How the images of every class are used (numbers per class, classes in label order).

    pool            images left for training after the test hold-out
    test            test images
    val_per_class   validation images each run draws from the pool (per data seed)
    per_class       labelled images each run draws from the rest (per data seed)
    """
    data: str
    classes: tuple
    pool: tuple
    test: tuple
    val_per_class: int
    per_class: int
    folder: bool

    @property
    def unused(self):
        """Images of the pool that no run trains on or validates with."""
        return sum(p - self.val_per_class - self.per_class for p in self.pool)

    def describe(self):
        """The split in plain lines (printed before training, and in report.md)."""
        counts = ", ".join(f"{c} {p + t}" for c, p, t in zip(self.classes, self.pool, self.test))
        if self.folder:
            lines = [f"data: the image folder {self.data}: {len(self.classes)} classes ({counts} "
                     f"images)",
                     f"test split: {self.test[0]} images per class (a fifth of the smallest class, "
                     f"drawn once: the same images for every data seed)"]
        else:
            sizes = (f"{min(self.pool)}" if min(self.pool) == max(self.pool)
                     else f"{min(self.pool)} to {max(self.pool)}")
            lines = [f"data: {self.data}: {len(self.classes)} classes, {sizes} training images "
                     f"per class",
                     f"test split: the official test set ({sum(self.test)} images)"]
        lines.append(f"each data seed draws {self.val_per_class} validation images per class (to "
                     f"choose each run's step) and a balanced labelled subset of {self.per_class} "
                     f"per class (what C and DAGAN train on) from the "
                     f"{'rest' if self.folder else 'training images'}")
        if self.folder:
            smallest = self.classes[int(np.argmin(self.pool))]
            lines.append(
                f"classes of different sizes: every run trains on {self.per_class} images of "
                f"each class (all that the smallest class, '{smallest}', has left), so no class "
                f"outweighs another; {self.unused} images of larger classes are not trained on"
                if self.unused else "every class has the same number of images: all are used")
        return lines


def _checked(plan, given_val, given_per_class):
    """``plan``, or one ValueError with the numbers of the class that cannot give it."""
    if plan.val_per_class < 0:
        raise ValueError(f"--val-per-class must be >= 0, got {plan.val_per_class}")
    if given_per_class and plan.per_class < 1:
        raise ValueError(f"--labelled-per-class must be >= 1, got {plan.per_class}")
    k = int(np.argmin(plan.pool))
    name, pool, test = plan.classes[k], plan.pool[k], plan.test[k]
    held = (f"class '{name}' has {pool + test} images: {test} held out for the test split and "
            if plan.folder else f"class '{name}' has {pool} training images: ")
    if plan.per_class < 1:      # the default per_class: all the smallest class has left
        fix = "add images to it" + (", or lower --val-per-class" if given_val else "")
        raise ValueError(f"{held}{plan.val_per_class} for validation leave none to train on; "
                         f"every class needs at least {test + plan.val_per_class + 1} images "
                         f"({fix})")
    if plan.per_class + plan.val_per_class > pool:
        what = "--labelled-per-class" if given_per_class else "the labelled subset"
        raise ValueError(f"{what} {plan.per_class} + --val-per-class {plan.val_per_class} = "
                         f"{plan.per_class + plan.val_per_class} images per class are needed, "
                         f"but {held}{pool} are left for training")
    return plan


def folder_split(root, val_per_class=None, per_class=None):
    """The SplitPlan of an image folder, from its file list alone (no pixel is decoded, so a
    folder too small is refused before anything is loaded). Defaults: as many validation
    images as test images (at most 100), and every image the smallest class has left."""
    classes, items = list_image_folder(root)
    counts = np.bincount([label for _, label in items], minlength=len(classes))
    taken = [c for c in classes if c in OWN_NAMES]
    if taken:
        raise ValueError(f"the class folder '{taken[0]}' of {root} has the name of a file augment "
                         f"writes beside the class folders of --out ({', '.join(OWN_NAMES)}); "
                         f"rename it")
    test = folder_test_per_class(counts)
    pool = [int(c) - test for c in counts]
    val = min(100, test) if val_per_class is None else val_per_class
    n = min(pool) - val if per_class is None else per_class
    plan = SplitPlan(str(root), classes, tuple(pool), (test,) * len(classes), val, n, True)
    return _checked(plan, val_per_class is not None, per_class is not None)


def dataset_split(name, splits, val_per_class=None, per_class=None):
    """The SplitPlan of CIFAR-10 or SVHN (``splits``: their ``load_splits``). Defaults:
    TrainConfig's (100 validation and 50 labelled images per class)."""
    train, test = splits["train"], splits["test"]
    defaults = TrainConfig()
    pool = np.bincount(train.labels, minlength=train.num_classes)
    plan = SplitPlan(name, train.classes, tuple(int(p) for p in pool),
                     tuple(int(t) for t in np.bincount(test.labels, minlength=test.num_classes)),
                     defaults.val_per_class if val_per_class is None else val_per_class,
                     defaults.per_class if per_class is None else per_class, False)
    return _checked(plan, val_per_class is not None, per_class is not None)


@dataclass(frozen=True)
class Augmentation:
    """What one ``tinydagan augment`` asks for. ``base``: every run's settings (the data, the
    split's ``per_class`` and ``val_per_class``, size, width, seed, ...)."""
    base: TrainConfig
    out_dir: str
    per_class: int                   # generated images written per class
    data_seeds: tuple = (0, 1, 2)
    steps: Optional[int] = None      # C's steps (default: experiments' rule on base.steps)
    steps_gan: Optional[int] = None  # DAGAN's and DAGAN_aug's (default: 2 x / 3 x C's)
    with_aug: bool = False
    sample_seed: int = 0

    def __post_init__(self):
        if self.base.dataset == "folder":   # generated images must never become real ones
            folder, out = (os.path.realpath(p) for p in (self.base.data_root, self.out_dir))
            if out == folder or out.startswith(folder + os.sep):
                raise ValueError(f"--out {self.out_dir} is inside the image folder "
                                 f"{self.base.data_root}: the next run would read the generated "
                                 f"images as real ones; choose an --out outside it")
        if len(self.data_seeds) < 2 or len(set(self.data_seeds)) != len(self.data_seeds):
            raise ValueError(f"--data-seeds needs at least two different seeds (the verdict comes "
                             f"from a 95% interval over them), got {list(self.data_seeds)}")
        for name, value, least in [("--per-class", self.per_class, 1),
                                   ("--steps", self.steps, 1), ("--steps-gan", self.steps_gan, 1),
                                   ("--sample-seed", self.sample_seed, 0),
                                   *(("--data-seeds", s, 0) for s in self.data_seeds)]:
            if value is not None and value < least:   # None: not given (the default decides)
                raise ValueError(f"{name} must be >= {least}, got {value}")

    @property
    def pairs(self):
        """(method, its baseline) compared: DAGAN vs C, and DAGAN_aug vs C_aug."""
        return [("DAGAN", "C")] + ([("DAGAN_aug", "C_aug")] if self.with_aug else [])

    @property
    def methods(self):
        """Every method trained, baselines first: C, DAGAN (, C_aug, DAGAN_aug)."""
        return [m for pair in self.pairs for m in reversed(pair)]

    @property
    def runs_dir(self):
        return os.path.join(self.out_dir, RUNS_FOLDER)

    def plan(self):
        """The grid: every method of ``pairs`` on every data seed."""
        return make_plan(self.base, self.methods, [self.base.per_class], list(self.data_seeds),
                         steps=self.steps, steps_gan=self.steps_gan)

    def cas_config(self, plan, data_seed):
        """The CAS run of ``data_seed``: C's settings and steps, no validation split (its
        training images are all generated; the final weights are scored). Its folder names
        the generator's steps: a DAGAN run extended to more steps has another generator, so
        its CAS is another run (never resumed from the old generator's checkpoint)."""
        c, dagan = (next(r for r in plan if r.method == m and r.data_seed == data_seed)
                    for m in ("C", "DAGAN"))
        folder = f"CAS_n{c.per_class}_data{data_seed}_gen{dagan.steps}"
        return self.base.replace(method="C", data_seed=data_seed, steps=c.steps, val_per_class=0,
                                 out_dir=os.path.join(self.runs_dir, folder))


def estimate(job, splits, fresh=False):
    """(seconds, runs still to train, CAS runs still to train) on this machine
    (``experiments.estimate_seconds``); finished runs are not counted."""
    plan, fingerprint = job.plan(), splits_fingerprint(splits)
    configs = [run_config(job.base, r, job.runs_dir) for r in plan]
    todo = [r for r, cfg in zip(plan, configs)
            if fresh or finished_result(cfg.out_dir, cfg, fingerprint) is None]
    # a CAS run's images exist only once its DAGAN run has finished: counted as finished
    # here if it has a result at all (an estimate, not a promise)
    cas_configs = [job.cas_config(plan, s) for s in job.data_seeds]
    cas = [Run("C", cfg.per_class, cfg.data_seed, cfg.steps) for cfg in cas_configs
           if fresh or not os.path.exists(os.path.join(cfg.out_dir, "result.json"))]
    seconds = sum(estimate_seconds(job.base, todo + cas)) if todo or cas else 0.0
    return seconds, todo, cas


def _cas(job, plan, data_seed, test, out, fresh):
    """The CAS run of ``data_seed`` (trained, or its earlier result): its result dict."""
    dagan = next(r for r in plan if r.method == "DAGAN" and r.data_seed == data_seed)
    saved = load_generator(os.path.join(job.runs_dir, dagan.folder, GENERATOR_FILE))
    x, y = draw(saved, job.base.per_class, job.base.seed)        # as many as the real subset
    splits = {"train": tdata.Split(x, y, saved.classes), "test": test}
    cfg = job.cas_config(plan, data_seed)
    result = None if fresh else finished_result(cfg.out_dir, cfg, splits_fingerprint(splits))
    if result is None:
        print(f"== CAS, data_seed {data_seed}: C trained on {job.base.per_class} images per class "
              f"generated by {dagan.folder} only ({cfg.steps} steps) -> {cfg.out_dir}",
              file=out, flush=True)
        result = train(cfg, splits, out, fresh)
    return result


def augment(job, split, splits, out=None, fresh=False, jobs=1):
    """Run ``job`` end to end (steps 2-5 of the module docstring; ``split``, ``splits``: step
    1); returns the report dict (also in ``OUT/report.json``)."""
    out = out or sys.stdout
    started = time.perf_counter()
    prepare_folder(job.out_dir)
    plan = job.plan()
    results = run_grid(job.base, plan, job.runs_dir, out, fresh, jobs)
    cas = {s: _cas(job, plan, s, splits["test"], out, fresh) for s in job.data_seeds}

    first = next(r for r in plan if r.method == "DAGAN" and r.data_seed == job.data_seeds[0])
    source = os.path.join(job.runs_dir, first.folder, GENERATOR_FILE)
    saved = load_generator(source)
    save_npz(os.path.join(job.out_dir, GENERATOR_FILE), load_npz(source))
    images, labels = draw(saved, job.per_class, job.sample_seed)
    write_images(job.out_dir, images, labels, saved.classes, job.sample_seed)
    save_sample_grid(os.path.join(job.out_dir, "samples.png"), images, labels, saved.classes)

    report = _report(job, split, results, cas, first.folder, time.perf_counter() - started)
    write_json(os.path.join(job.out_dir, "report.json"), report)
    write_text(os.path.join(job.out_dir, "report.md"), format_augment_report(report))
    print("\n" + "\n".join(c["sentence"] for c in report["comparisons"]), file=out)
    cas = report["cas"]
    print(f"CAS: {cas['mean']:.2f}% (C on real images: {cas['real_mean']:.2f}%, chance "
          f"{cas['chance']:.1f}%). Report: {os.path.join(job.out_dir, 'report.md')}", file=out,
          flush=True)
    return report


def _report(job, split, results, cas, generator_run, seconds):
    """The report dict: what report.json holds and report.md shows."""
    accuracy = {(r["method"], r["data_seed"]): r["test_accuracy"] for r in results["runs"]}
    comparisons = []
    for method, baseline in job.pairs:
        rows = [{"data_seed": s, baseline: accuracy[baseline, s], method: accuracy[method, s],
                 "gain": accuracy[method, s] - accuracy[baseline, s]} for s in job.data_seeds]
        d = paired([row["gain"] for row in rows])
        comparisons.append({"method": method, "baseline": baseline, "per_seed": rows,
                            "paired": d, "verdict": verdict(d),
                            "sentence": verdict_sentence(method, baseline, d)})
    scores = [cas[s]["test_accuracy"] for s in job.data_seeds]
    real = [accuracy["C", s] for s in job.data_seeds]
    cas_runs = [{"method": "CAS", "data_seed": s, "steps": cas[s]["steps"],
                 "test_accuracy": cas[s]["test_accuracy"],
                 "per_class_accuracy": cas[s]["per_class"],
                 "seconds": run_seconds(cas[s])} for s in job.data_seeds]
    settings = {**grid_settings(job.base), "data_seeds": list(job.data_seeds),
                "steps": {r["method"]: r["steps"] for r in results["runs"]},
                "per_class_generated": job.per_class, "sample_seed": job.sample_seed}
    return {"data": split.data, "split": {**asdict(split), "unused": split.unused,
                                          "description": split.describe()},
            "settings": settings, "comparisons": comparisons,
            "cas": {"per_seed": [{"data_seed": s, "cas": c, "C_real": r}
                                 for s, c, r in zip(job.data_seeds, scores, real)],
                    "mean": float(np.mean(scores)), "std": float(np.std(scores, ddof=1)),
                    "real_mean": float(np.mean(real)), "chance": 100.0 / len(split.classes),
                    "per_class": job.base.per_class},
            "written": {"images": f"<class>/s{job.sample_seed}_*.png",
                        "per_class": job.per_class, "grid": "samples.png",
                        "generator": GENERATOR_FILE, "generator_from": generator_run},
            "runs": results["runs"] + cas_runs, "seconds_this_session": round(seconds, 1),
            "version": code_version()}


def format_augment_report(report):
    """report.md as a str."""
    s, cas, w, split = report["settings"], report["cas"], report["written"], report["split"]
    lines = [f"# Does DAGAN help on {report['data']}?", ""]
    lines += [f"**{c['sentence']}**" for c in report["comparisons"]]
    lines += ["", "## The data", ""] + [f"- {line}" for line in split["description"]]
    for c in report["comparisons"]:
        m, b = c["method"], c["baseline"]
        lines += ["", f"## Test accuracy (%): {m} against {b}", "",
                  f"| data seed | {b} | {m} | gain |", "|---|---|---|---|"]
        lines += [f"| {r['data_seed']} | {r[b]:.2f} | {r[m]:.2f} | {r['gain']:+.2f} |"
                  for r in c["per_seed"]]
        d = c["paired"]
        lines += ["", f"Paired gain: {d['mean']:+.2f} +- {d['std']:.2f} points (mean +- std over "
                      f"{d['k']} data seeds), 95% t-interval [{d['low']:+.2f}, {d['high']:+.2f}], "
                      f"positive on {d['positive']} of {d['k']}: **{c['verdict']}**."]
    lines += ["", "## How class-faithful the samples are (CAS)", "",
              f"A C trained on {cas['per_class']} generated images per class only (from each data "
              f"seed's DAGAN generator, last step), tested on the real test split: "
              f"**{cas['mean']:.2f} +- {cas['std']:.2f}%**, against {cas['real_mean']:.2f}% for C "
              f"trained on {cas['per_class']} real images per class (chance: "
              f"{cas['chance']:.1f}%). Near C's accuracy, the samples carry their class as well "
              f"as real images do; near chance, a classifier cannot tell their class.", "",
              "| data seed | CAS | C on real images |", "|---|---|---|"]
    lines += [f"| {r['data_seed']} | {r['cas']:.2f} | {r['C_real']:.2f} |" for r in cas["per_seed"]]
    lines += ["", "## What was written", "",
              f"- `{w['images']}`: {w['per_class']} generated images per class (seed "
              f"{s['sample_seed']}), drawn from `{w['generator']}`, the generator of "
              f"`{RUNS_FOLDER}/{w['generator_from']}`; `{w['grid']}` shows the first ten of each",
              f"- `{w['generator']}`: `tinydagan sample --model OUT --per-class M --out DIR` draws "
              f"more without training (another `--seed`, other images)",
              f"- `{RUNS_FOLDER}/`: every run (checkpoint, result.json) and the grid's "
              f"results.json; re-running the same command skips finished runs",
              "", "## How to read it", "",
              "- The gain is paired: per data seed, both methods train on the same labelled "
              "subset and are tested on the same test split, so the subset's luck cancels. The "
              "interval covers how the gain varies between subsets; it does not cover which "
              "images the test split holds (the same for every seed).",
              f"- Settings: {s['image_size']}x{s['image_size']} images, width {s['width']}, "
              + ", ".join(f"{m} {n} steps" for m, n in s["steps"].items())
              + f", batch {s['batch_size']}, seed {s['seed']}, data seeds "
              + " ".join(map(str, s["data_seeds"])) + ".",
              f"- {sum(split['test'])} test images: one image is {100 / sum(split['test']):.2f} "
              f"points of accuracy.",
              f"- {len(report['runs'])} runs, "
              f"{format_seconds(sum(r['seconds'] for r in report['runs']))} of training in all "
              f"(each counted in the session that finished it); tinydagan "
              f"{report['version'].get('version')}, commit {report['version'].get('commit')}."]
    return "\n".join(lines) + "\n"
