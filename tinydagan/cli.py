"""The ``tinydagan`` command (also ``python -m tinydagan``).

    tinydagan compare                       # the classroom comparison: C vs DAGAN, 3 data seeds
    tinydagan train --method DAGAN --steps 6000 --out runs/dagan
    tinydagan data show cifar10 --per-class 8 --out grid.png
    tinydagan <command> --help
"""
import argparse
import dataclasses
import sys

from .experiments import PRESETS
from .training.config import TrainConfig, flag
from .training.methods import METHODS

COMPARE_DEFAULTS = dict(methods=["C", "DAGAN"], per_class=[50], data_seeds=[0, 1, 2], steps=1500,
                        steps_gan=None, out_dir="runs/compare")

__all__ = ["main", "build_parser"]


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
        elif field.name in ("data_root", "only_class"):
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
                        "1500 at 50 per class, x sqrt(n / 50) above; docs/results.md)")
    joint = [m for m in METHODS.values() if m.joint_generator]
    p.add_argument("--steps-gan", type=int, default=argparse.SUPPRESS,
                   help="fixed steps of the methods that train a generator jointly ("
                        + ", ".join(m.name for m in joint)
                        + f"; default: {joint[0].steps_factor} x a classifier's steps)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan (each run, its steps) and its time estimated from a short "
                        "timing of this machine, then stop")
    p.add_argument("--shard", default=None, metavar="I/N",
                   help="run only the I-th of N interleaved parts of the plan (I from 1 to N); "
                        "pool the folders afterwards with 'tinydagan merge'")
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
                                   "checkpoint.npz, model.npz, result.json and sample grids to --out. "
                                   "Re-running the same command resumes from the checkpoint.")
    _add_config_options(p, out_dir="runs/train")

    sub.add_parser("data", help="download, check and look at datasets (tinydagan data --help)",
                   add_help=False)
    sub.add_parser("exercises", help="graded exercises: new WS, grade WS (tinydagan exercises --help)",
                   add_help=False)
    return parser


def _describe(preset):
    return ", ".join(f"{k}={' '.join(map(str, v)) if isinstance(v, list) else v}"
                     for k, v in preset.items())


def _parse_shard(text):
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard expects I/N, for example 2/4, got {text!r}")
    return i, n


def _compare(args):
    """Layer the settings (TrainConfig < compare defaults < preset < flags), plan, run."""
    from .experiments import estimate_seconds, make_plan, run_grid, shard
    from .progress import format_seconds
    given = vars(args)
    settings = {**COMPARE_DEFAULTS, **PRESETS.get(given.get("preset"), {}),
                **{k: v for k, v in given.items() if k not in ("command", "preset", "fresh",
                                                               "dry_run", "shard", "jobs")}}
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    base = TrainConfig(**{k: v for k, v in settings.items() if k in names and k != "per_class"},
                       per_class=settings["per_class"][0])
    fixed_steps = given.get("steps", PRESETS.get(given.get("preset"), {}).get("steps"))
    plan = make_plan(base, settings["methods"], settings["per_class"], settings["data_seeds"],
                     steps=fixed_steps, steps_gan=settings["steps_gan"])
    if args.shard:
        plan = shard(plan, *_parse_shard(args.shard))
    if args.dry_run:
        seconds = estimate_seconds(base, plan)
        for i, (run, s) in enumerate(zip(plan, seconds)):
            print(f"{i + 1:3d}. {run.method:10s} {run.per_class:5d} per class  data_seed "
                  f"{run.data_seed}  {run.steps:6d} steps  ~{format_seconds(s)}")
        print(f"{len(plan)} runs, about {format_seconds(sum(seconds))} on this machine "
              f"({base.image_size}x{base.image_size}, width {base.width}); nothing was trained")
        return
    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    run_grid(base, plan, base.out_dir, fresh=args.fresh, jobs=args.jobs)


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
