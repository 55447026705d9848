"""The ``tinydagan`` command (also ``python -m tinydagan``).

    tinydagan compare                       # the full comparison: C vs DAGAN, 3 data seeds
    tinydagan train --method DAGAN --steps 6000 --out runs/dagan
    tinydagan augment --data my_images --per-class 100 --out runs/augment   # your own folder
    tinydagan sample --model runs/augment --per-class 500 --out more_images
    tinydagan data show cifar10 --per-class 8 --out grid.png
    tinydagan <command> --help
"""
import argparse
import dataclasses
import os
import sys

from .experiments import PRESETS, steps_rule
from .training.config import TrainConfig, flag
from .sample import GENERATOR_FILE
from .training.methods import METHODS

COMPARE_DEFAULTS = dict(methods=["C", "DAGAN"], per_class=[50], data_seeds=[0, 1, 2], steps=1500,
                        steps_gan=None, out_dir="runs/compare")

__all__ = ["main", "build_parser", "compare_grid"]


def _add_config_options(parser, skip=(), only_given=False, **overrides):
    """One flag per TrainConfig field (help text from the field). ``only_given``: a flag not
    given on the command line is left out of the parsed namespace (so that a preset's value
    can stand unless a flag overrides it)."""
    parser.add_argument("--fresh", action="store_true",
                        help="start from step 0, deleting the checkpoint in --out (default: resume)")
    defaults = TrainConfig(**overrides)
    for field in dataclasses.fields(TrainConfig):
        if field.name in skip:
            continue
        default = getattr(defaults, field.name)
        kwargs = {"dest": field.name, "default": argparse.SUPPRESS if only_given else default,
                  "help": f"{field.metadata['help']} (default: {default})"}
        if isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif field.name == "method":
            kwargs["choices"] = list(METHODS)
        elif field.name in ("data_root", "only_class", "crop_padding"):
            kwargs["type"] = str if field.name == "data_root" else int
        else:
            kwargs["type"] = type(default)
        parser.add_argument(flag(field.name), **kwargs)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tinydagan",
        description="DAGAN (Zhang & Wu 2019) from scratch: train GAN-augmented classifiers and "
                    "compare them with a plain classifier on small labelled subsets.")
    sub = parser.add_subparsers(dest="command", metavar="command", required=True)

    p = sub.add_parser("compare", help="the comparison grid: methods x images per class x data seeds",
                       description="Train several methods on the same labelled subsets (one per data "
                                   "seed and size) and report mean +- std test accuracy and the paired "
                                   "difference against the first method, beside the paper's table. "
                                   "Re-running the same command skips finished runs and resumes "
                                   "unfinished ones. Settings: TrainConfig's defaults, then the "
                                   "preset's, then the flags given.")
    p.add_argument("--preset", choices=sorted(PRESETS), default=argparse.SUPPRESS,
                   help="; ".join(f"{k}: {_describe(v)}" for k, v in PRESETS.items()))
    p.add_argument("--methods", nargs="+", default=argparse.SUPPRESS,
                   choices=[name for name, m in METHODS.items() if m.classifier],
                   help="methods to compare; the first is the baseline (default: C DAGAN)")
    p.add_argument("--per-class", nargs="+", type=int, default=argparse.SUPPRESS, dest="per_class",
                   help="labelled images per class, one grid column each (default: 50)")
    p.add_argument("--data-seeds", nargs="+", type=int, default=argparse.SUPPRESS,
                   help="one labelled subset per data seed (default: 0 1 2)")
    p.add_argument("--steps", type=int, default=argparse.SUPPRESS,
                   help="fixed steps of a plain classifier for every size (default: the rule: "
                        + steps_rule(COMPARE_DEFAULTS["steps"]) + "; docs/results.md)")
    joint = [m for m in METHODS.values() if m.joint_generator]
    p.add_argument("--steps-gan", type=int, default=argparse.SUPPRESS,
                   help="fixed steps of the methods that train a generator jointly ("
                        + ", ".join(m.name for m in joint)
                        + "; default: " + ", ".join(f"{m.name} {m.steps_factor} x"
                                                     for m in joint)
                        + " a classifier's steps)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan (each run, its steps) and its time estimated from a short "
                        "timing of this machine, then stop")
    p.add_argument("--shard", default=None, metavar="I/N",
                   help="run only the I-th of N interleaved parts of the plan (I from 1 to N); "
                        "pool the folders afterwards with 'tinydagan merge'")
    p.add_argument("--continue-from", default=None, metavar="RESULTS",
                   help="a results.json (or compare folder) of this grid finished in part on "
                        "another machine, for example docs/results/trends.json: its runs are "
                        "taken as they are, the others trained (the settings must match)")
    p.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="train J runs at once, each in its own process with this machine's CPUs "
                        "shared out as BLAS / Numba threads (default: 1; docs/performance.md "
                        "measures it)")
    _add_config_options(p, skip=("method", "data_seed", "only_class", "per_class", "steps"),
                        only_given=True, out_dir="runs/compare")

    p = sub.add_parser("merge", help="pool compare folders (shards) into one report",
                       description="Read results.json from each folder (for example the shards of "
                                   "one grid, run on several machines), check that they were run "
                                   "with the same settings, and write one results.json, results.md "
                                   "and accuracy.png to --out.")
    p.add_argument("folders", nargs="+", help="compare --out folders")
    p.add_argument("--out", required=True, help="where to write the merged results")

    p = sub.add_parser("train", help="train and evaluate one method",
                       description="Train one method, evaluate it on the test set, and write "
                                   "checkpoint.npz, model.npz, result.json and sample grids to --out "
                                   "(and generator.npz for DAGAN / DAGAN_aug: 'tinydagan sample' "
                                   "draws from it). Re-running the same command resumes from the "
                                   "checkpoint.")
    _add_config_options(p, out_dir="runs/train")

    p = sub.add_parser("augment", help="train DAGAN on your labelled folder, write generated "
                                       "images per class, and say whether they helped",
                       description=AUGMENT_DESCRIPTION, epilog=AUGMENT_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, metavar="FOLDER|cifar10|svhn",
                   help="an image folder FOLDER/<class>/*.png|jpg|jpeg (grey, RGBA and palette "
                        "images are converted to RGB), or cifar10 / svhn (found through "
                        "$TINYDAGAN_DATA, then datasets/; write ./cifar10 for a folder of that "
                        "name)")
    p.add_argument("--per-class", type=int, default=100, dest="generated_per_class", metavar="N",
                   help="generated PNGs written per class into OUT/<class>/ (default: 100)")
    p.add_argument("--labelled-per-class", type=int, default=None, metavar="L",
                   help="real images per class each run trains on (default: a folder's smallest "
                        "class after its test and validation images; 50 for cifar10 / svhn)")
    p.add_argument("--val-per-class", type=int, default=None, dest="val_given", metavar="V",
                   help="validation images per class, drawn out of the training images to choose "
                        "each run's step (default: a folder's test split size, at most 100; 100 "
                        "for cifar10 / svhn)")
    p.add_argument("--data-seeds", nargs="+", type=int, default=[0, 1, 2],
                   help="one labelled subset per data seed, at least two: the verdict is a 95%% "
                        "interval over them (default: 0 1 2)")
    p.add_argument("--steps", type=int, default=None,
                   help="C's steps (default: the rule of compare: "
                        + steps_rule(COMPARE_DEFAULTS["steps"]) + ")")
    p.add_argument("--steps-gan", type=int, default=None,
                   help="DAGAN's steps, and DAGAN_aug's with --with-aug (default: "
                        f"{METHODS['DAGAN'].steps_factor} x C's for DAGAN, "
                        f"{METHODS['DAGAN_aug'].steps_factor} x for DAGAN_aug)")
    p.add_argument("--with-aug", action="store_true",
                   help="also compare C_aug and DAGAN_aug (classic crop + flip augmentation)")
    p.add_argument("--sample-seed", type=int, default=0,
                   help="seed of the images written to OUT/<class>/ (default: 0)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the split, the runs and their estimated time, then stop")
    p.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="train J runs at once (as compare --jobs; default: 1)")
    _add_config_options(p, skip=("method", "dataset", "data_root", "per_class", "val_per_class",
                                 "steps", "data_seed", "only_class", "per_class_gan_steps",
                                 "gan_samples_per_class"), out_dir="runs/augment")

    p = sub.add_parser("sample", help="draw more images from a saved generator, without training",
                       description="Rebuild the generator that 'tinydagan augment' saved (or a "
                                   "DAGAN run of 'tinydagan train') and write --per-class PNGs of "
                                   "every class into OUT/<class>/s<seed>_<index>.png, with a grid "
                                   "OUT/samples.png. The same --seed draws the same images.")
    p.add_argument("--model", required=True,
                   help=f"an augment --out folder or a run folder holding {GENERATOR_FILE}, or "
                        f"the file itself")
    p.add_argument("--per-class", type=int, default=100, help="images per class (default: 100)")
    p.add_argument("--out", required=True, help="where to write <class>/ folders of PNGs")
    p.add_argument("--seed", type=int, default=1,
                   help="seed of the draw (default: 1; augment wrote its images with "
                        "--sample-seed, 0 unless given: that seed draws the same images again)")

    sub.add_parser("data", help="download, check and look at datasets (tinydagan data --help)",
                   add_help=False)
    sub.add_parser("exercises", help="graded exercises: new WS, grade WS (tinydagan exercises --help)",
                   add_help=False)
    return parser


AUGMENT_DESCRIPTION = """\
Does GAN augmentation help on your images? Train C (a plain classifier) and DAGAN (whose
classifier trains beside a class-conditional generator) on the same labelled subset of
your data, one subset per data seed; test both on images held out of it; write images
that DAGAN's generator draws for every class; and say, in one sentence, whether DAGAN
helped.

The split: an image folder holds out a test split (a fifth of its smallest class, from
every class; the same images for every data seed). From the rest each data seed draws a
validation split (it chooses each run's step, never the test split) and a balanced
labelled subset: every class gives as many images as the smallest class has left, so no
class outweighs another (larger classes keep images no run trains on; the split printed
before training says how many). cifar10 and svhn use their official test sets.
Before training it prints the split and the time the runs should take on this machine;
re-running the same command skips finished runs and resumes an interrupted one."""

AUGMENT_EPILOG = """\
What it writes to --out (OUT):
  OUT/<class>/s0_00000.png ...  N generated images per class (--per-class N)
  OUT/samples.png               the first ten of every class, one row per class
  OUT/generator.npz             the generator (first data seed's DAGAN run): 'tinydagan
                                sample --model OUT --per-class M --out DIR' draws more
  OUT/report.md, report.json    the answer, below
  OUT/runs/                     every training run and the grid's results.json

What the report means:
  test accuracy of C and DAGAN per data seed, and the gain DAGAN - C paired by data seed
  (same images for both) with its 95% t-interval over the seeds. The sentence reads the
  interval: entirely above zero "DAGAN helped", entirely below "DAGAN hurt", containing
  zero "no measurable difference" (more data seeds or images narrow it).
  CAS (classification accuracy score): a C trained on generated images only, as many per
  class as the real subset, tested on the real test split. Close to C's accuracy on real
  images, the samples carry their class; close to chance, they do not. It needs no
  Inception network, so it runs on a CPU.

Example (a few minutes on a laptop; a demonstration, not a measurement):
  tinydagan augment --data my_images --per-class 20 --steps 300 --data-seeds 0 1"""


def _describe(preset):
    return ", ".join(f"{k}={' '.join(map(str, v)) if isinstance(v, list) else v}"
                     for k, v in preset.items())


def _parse_shard(text):
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard expects I/N, for example 2/4, got {text!r}")
    return i, n


def compare_grid(args):
    """The grid a ``compare`` command line asks for: (base TrainConfig, plan). Settings are
    layered TrainConfig < compare defaults < preset < flags."""
    from .experiments import make_plan, shard
    given = vars(args)
    settings = {**COMPARE_DEFAULTS, **PRESETS.get(given.get("preset"), {}),
                **{k: v for k, v in given.items() if k not in ("command", "preset", "fresh",
                                                               "dry_run", "shard", "jobs",
                                                               "continue_from")}}
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    base = TrainConfig(**{k: v for k, v in settings.items() if k in names and k != "per_class"},
                       per_class=settings["per_class"][0])
    fixed_steps = given.get("steps", PRESETS.get(given.get("preset"), {}).get("steps"))
    plan = make_plan(base, settings["methods"], settings["per_class"], settings["data_seeds"],
                     steps=fixed_steps, steps_gan=settings["steps_gan"])
    if args.shard:
        plan = shard(plan, *_parse_shard(args.shard))
    return base, plan


def _compare(args):
    """Plan the grid (``compare_grid``), take the runs finished elsewhere, run the rest."""
    from .experiments import (estimate_seconds, finished_runs, load_results, reusable_runs,
                              run_grid)
    from .training.run_data import load_splits, splits_fingerprint
    from .progress import format_seconds
    base, plan = compare_grid(args)
    reuse = {}
    if args.continue_from:
        reuse = reusable_runs(base, plan, load_results(args.continue_from, "compare"),
                              args.continue_from)
        print(f"{len(reuse)} of {len(plan)} runs finished in {args.continue_from}; "
              f"{len(plan) - len(reuse)} to train", flush=True)
    if args.dry_run:
        done = set()                         # the runs a re-run of this command skips
        if not args.fresh and any(os.path.exists(os.path.join(base.out_dir, run.folder,
                                                              "result.json")) for run in plan):
            fingerprint = splits_fingerprint(load_splits(base))
            done = set(finished_runs(base, plan, base.out_dir, fingerprint)) - set(reuse)
            if done:
                print(f"{len(done)} of {len(plan)} runs finished earlier in {base.out_dir}",
                      flush=True)
        plan = [run for i, run in enumerate(plan) if i not in reuse and i not in done]
        seconds = estimate_seconds(base, plan)
        for i, (run, s) in enumerate(zip(plan, seconds)):
            print(f"{i + 1:3d}. {run.method:10s} {run.per_class:5d} per class  data_seed "
                  f"{run.data_seed}  {run.steps:6d} steps  ~{format_seconds(s)}")
        print(f"{len(plan)} runs, about {format_seconds(sum(seconds))} on this machine "
              f"({base.image_size}x{base.image_size}, width {base.width}); nothing was trained")
        return
    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    run_grid(base, plan, base.out_dir, fresh=args.fresh, jobs=args.jobs, reuse=reuse)


def _augment(args):
    """Settings (TrainConfig < flags), the split (printed, checked before any image is
    decoded for a folder), the estimate, then ``augment.augment``."""
    from .augment import Augmentation, augment, data_source, dataset_split, estimate, folder_split
    from .progress import format_seconds
    from .serialization import prepare_folder
    from .training.run_data import load_splits
    dataset, root = data_source(args.data)
    names = {f.name for f in dataclasses.fields(TrainConfig)} - {"steps"}  # --steps: C's steps
    base = TrainConfig(**{k: v for k, v in vars(args).items() if k in names}, dataset=dataset,
                       data_root=root, steps=COMPARE_DEFAULTS["steps"])
    split = (folder_split(root, args.val_given, args.labelled_per_class)
             if dataset == "folder" else None)
    splits = load_splits(base)       # decodes a folder: an unreadable image is named here
    split = split or dataset_split(dataset, splits, args.val_given, args.labelled_per_class)
    base = base.replace(per_class=split.per_class, val_per_class=split.val_per_class)
    job = Augmentation(base, base.out_dir, args.generated_per_class, tuple(args.data_seeds),
                       args.steps, args.steps_gan, args.with_aug, args.sample_seed)
    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    if not args.dry_run:
        prepare_folder(job.out_dir)  # writable (or one error now, not after the estimate)
    print("\n".join(split.describe()))
    seconds, todo, cas = estimate(job, splits, args.fresh)
    steps = ", ".join(f"{r.method} {r.steps}" for r in job.plan()[:len(job.methods)])
    left = (f"{len(todo) + len(cas)} to train, about {format_seconds(seconds)} on this machine "
            f"({base.image_size}x{base.image_size}, width {base.width})" if todo or cas
            else "all finished earlier")
    print(f"runs: {', '.join(job.methods)} on data seeds "
          f"{' '.join(map(str, job.data_seeds))} ({steps} steps), then one CAS run per data "
          f"seed (C on generated images only): {left}", flush=True)
    if args.dry_run:
        print("nothing was trained (--dry-run)")
        return
    augment(job, split, splits, fresh=args.fresh, jobs=args.jobs)


def _sample(args):
    from .sample import draw, load_generator, save_sample_grid, write_images
    from .serialization import prepare_folder
    saved = load_generator(args.model)
    images, labels = draw(saved, args.per_class, args.seed)
    prepare_folder(args.out)
    write_images(args.out, images, labels, saved.classes, args.seed)
    save_sample_grid(os.path.join(args.out, "samples.png"), images, labels, saved.classes)
    print(f"wrote {args.per_class} images per class of {len(saved.classes)} classes to "
          f"{os.path.join(args.out, '<class>', f's{args.seed}_*.png')} and "
          f"{os.path.join(args.out, 'samples.png')} (generator: {saved.path})")


def _config(args):
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in vars(args).items() if k in names})


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "data":
        from .data import main as data_main
        return data_main(argv[1:])
    if argv and argv[0] == "exercises":
        from .exercises.cli import main as exercises_main
        return exercises_main(argv[1:])
    args = build_parser().parse_args(argv)
    from .experiments import RunFailed
    from .training.trainer import TrainingStopped, train
    try:
        if args.command == "train":
            train(_config(args), fresh=args.fresh)
        elif args.command == "compare":
            _compare(args)
        elif args.command == "augment":
            _augment(args)
        elif args.command == "sample":
            _sample(args)
        elif args.command == "merge":
            from .experiments import merge_folders
            results = merge_folders(args.folders, args.out)
            print(f"merged {len(results['runs'])} runs from {len(args.folders)} folders into {args.out}")
    except (ValueError, OSError, RunFailed, TrainingStopped) as e:  # OSError: a full disk, ...
        print(f"tinydagan {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; re-run the same command to resume from the last checkpoint", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
