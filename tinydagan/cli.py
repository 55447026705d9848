"""The ``tinydagan`` command (also ``python -m tinydagan``).

    tinydagan compare                       # the classroom comparison: C vs DAGAN, 3 data seeds
    tinydagan train --method DAGAN --steps 6000 --out runs/dagan
    tinydagan data show cifar10 --per-class 8 --out grid.png
    tinydagan <command> --help
"""
import argparse
import dataclasses
import sys

from .training.config import TrainConfig
from .training.methods import METHODS

__all__ = ["main", "build_parser"]


def _add_config_options(parser, skip=(), **overrides):
    parser.add_argument("--fresh", action="store_true",
                        help="start from step 0, deleting the checkpoint in --out (default: resume)")
    defaults = TrainConfig(**overrides)
    for field in dataclasses.fields(TrainConfig):
        if field.name in skip:
            continue
        flag = "--out" if field.name == "out_dir" else "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        kwargs = {"dest": field.name, "default": default,
                  "help": f"{field.metadata['help']} (default: {default})"}
        if isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif field.name == "method":
            kwargs["choices"] = list(METHODS)
        elif field.name in ("data_root", "only_class"):
            kwargs["type"] = str if field.name == "data_root" else int
        else:
            kwargs["type"] = type(default)
        parser.add_argument(flag, **kwargs)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tinydagan",
        description="DAGAN (Zhang & Wu 2019) from scratch: train GAN-augmented classifiers and "
                    "compare them with a plain classifier on small labelled subsets.")
    sub = parser.add_subparsers(dest="command", metavar="command", required=True)

    p = sub.add_parser("compare", help="the classroom comparison (default: C vs DAGAN, 3 data seeds)",
                       description="Train several methods on the same labelled subsets (one per "
                                   "data seed) and report mean +- std test accuracy and the paired "
                                   "difference against the first method. Re-running the same "
                                   "command resumes unfinished runs.")
    p.add_argument("--methods", nargs="+", default=["C", "DAGAN"],
                   choices=[name for name, m in METHODS.items() if m.classifier],
                   help="methods to compare; the first is the baseline (default: C DAGAN)")
    p.add_argument("--data-seeds", nargs="+", type=int, default=[0, 1, 2],
                   help="one labelled subset per data seed (default: 0 1 2)")
    joint = [m for m in METHODS.values() if m.joint_generator]
    p.add_argument("--steps-gan", type=int, default=None,
                   help="steps of the methods that train a generator jointly ("
                        + ", ".join(m.name for m in joint)
                        + f"; default: {joint[0].steps_factor} x --steps)")
    _add_config_options(p, skip=("method", "data_seed", "only_class"), out_dir="runs/compare",
                        steps=1500)

    p = sub.add_parser("train", help="train and evaluate one method",
                       description="Train one method, evaluate it on the test set, and write "
                                   "checkpoint.npz, model.npz, result.json and sample grids to --out. "
                                   "Re-running the same command resumes from the checkpoint.")
    _add_config_options(p, out_dir="runs/train")

    sub.add_parser("data", help="download, check and look at datasets (tinydagan data --help)",
                   add_help=False)
    return parser


def _config(args):
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in vars(args).items() if k in names})


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "data":
        from .data import main as data_main
        return data_main(argv[1:])
    args = build_parser().parse_args(argv)
    from .training.trainer import TrainingStopped, train
    try:
        if args.command == "train":
            train(_config(args), fresh=args.fresh)
        elif args.command == "compare":
            from .experiments import compare
            base = _config(args)
            compare(base, args.methods, args.data_seeds, base.out_dir, args.steps_gan, fresh=args.fresh)
    except (ValueError, FileNotFoundError, TrainingStopped) as e:
        print(f"tinydagan {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; re-run the same command to resume from the last checkpoint", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
