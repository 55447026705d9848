"""Train finished runs on to more steps and print their validation curves.

Is a method still improving when its run ends? A checkpoint continues a run exactly (the
numbers equal those of a straight run of the longer length), so a finished run of a grid can
be copied and trained on, and its validation accuracy read at every ``eval_every`` steps:

    TINYDAGAN_DATA=../shared/data python examples/extend_runs.py \
        runs/trends/DAGAN_aug_n50_data0:6000 runs/trends/C_aug_n50_data0:3000

Each ``RUN_FOLDER:STEPS`` is copied to ``runs/extended/<folder>_to<STEPS>/`` (its checkpoint,
and Vanilla GAN's per-class GANs) and trained there to STEPS with the settings in its
result.json; the grid's folder is not touched. An interrupted extension resumes. Only
validation figures are printed: choose steps on them. (The trainer's own lines go to the
copy's log.txt: it also scores the test set at the end, a figure for reporting, not for
choosing.)
"""
import argparse
import json
import os
import shutil

from tinydagan.training import TrainConfig, train


def extend(folder, steps, out_root):
    """Copy ``folder`` to ``out_root/<name>_to<steps>`` and train it on to ``steps``.
    Returns [(step, validation accuracy)], the best step and its validation accuracy."""
    result_path = os.path.join(folder, "result.json")
    if not os.path.exists(os.path.join(folder, "checkpoint.npz")) or not os.path.exists(result_path):
        raise SystemExit(f"extend_runs: {folder} is not a finished run (expected its "
                         f"checkpoint.npz and result.json)")
    with open(result_path) as f:
        config = json.load(f)["config"]
    if steps <= config["steps"]:
        raise SystemExit(f"extend_runs: {folder} already has {config['steps']} steps; ask "
                         f"for more, got {steps}")
    dst = os.path.join(out_root, f"{os.path.basename(os.path.normpath(folder))}_to{steps}")
    os.makedirs(dst, exist_ok=True)
    if not os.path.exists(os.path.join(dst, "checkpoint.npz")):     # else: resume the copy
        for name in os.listdir(folder):
            if name.startswith("gan_class"):          # Vanilla GAN's per-class GANs
                shutil.copytree(os.path.join(folder, name), os.path.join(dst, name),
                                dirs_exist_ok=True)
        shutil.copy(os.path.join(folder, "checkpoint.npz"), dst)
    log = os.path.join(dst, "log.txt")       # the trainer's lines, its test score among them
    print(f"{os.path.basename(os.path.normpath(folder))}: {config['steps']} -> {steps} steps; "
          f"progress in {log}", flush=True)
    with open(log, "a") as out:
        result = train(TrainConfig(**{**config, "steps": steps, "out_dir": dst}), out=out)
    curve = [(r["step"], r["val_acc"]) for r in result["history"] if "val_acc" in r]
    return curve, result["best_step"], result["val_accuracy"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Example:\n  python examples/extend_runs.py "
                                       "runs/trends/DAGAN_aug_n50_data0:6000")
    p.add_argument("runs", nargs="+", metavar="RUN_FOLDER:STEPS",
                   help="a finished run's folder and the steps to train it to")
    p.add_argument("--out", default="runs/extended", help="where the copies go "
                                                          "(default: runs/extended)")
    args = p.parse_args()
    specs = []
    for spec in args.runs:                    # all checked before the first long run
        folder, _, steps = spec.rpartition(":")
        if not folder or not steps.isdigit():
            raise SystemExit(f"extend_runs: expected RUN_FOLDER:STEPS, got {spec!r}")
        specs.append((folder, int(steps)))
    summary = []
    for folder, steps in specs:
        curve, best_step, best_val = extend(folder, steps, args.out)
        summary.append(f"{os.path.basename(os.path.normpath(folder))} to {steps}: best "
                       f"validation {best_val:.1f}% at step {best_step}; validation by step: "
                       + ", ".join(f"{s} {a:.1f}" for s, a in curve))
    print("\n".join(summary))


if __name__ == "__main__":
    main()
