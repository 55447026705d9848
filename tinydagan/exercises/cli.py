"""``python -m tinydagan.exercises new WS`` / ``grade WS``: the student's two commands."""
import argparse
import pathlib
import sys

from . import __doc__ as PACKAGE_DOC
from .grading import PASSED, format_results, grade_workspace
from .tasks import TASKS, task_named
from .workspace import WorkspaceNotEmpty, write_workspace

__all__ = ["main", "build_parser"]

WORKFLOW = """\
workflow:
  1. python -m tinydagan.exercises new WS      write WS/<task>.py for every task, and WS/README.md
  2. edit the files, in the README's order     replace each 'raise NotImplementedError'
  3. python -m tinydagan.exercises grade WS    a table: task, passed / failed / not started, seconds

Each task's file is graded alone, against the library, whose own version of that task is
hidden while grading. 'new WS --solutions' writes the teacher's key.

tasks (about {total} minutes):
{tasks}"""


def build_parser():
    tasks = "\n".join(f"  {i:2d}. {t.name:<22} {t.minutes:3d} min  {t.summary}" for i, t in enumerate(TASKS, 1))
    parser = argparse.ArgumentParser(
        prog="python -m tinydagan.exercises", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=PACKAGE_DOC.split("\n")[0],
        epilog=WORKFLOW.format(total=sum(t.minutes for t in TASKS), tasks=tasks))
    sub = parser.add_subparsers(dest="command", metavar="command", required=True)
    p = sub.add_parser("new", help="write a workspace: one file per task, and README.md",
                       description="Write WS/<task>.py for every task (a signature, a docstring with the "
                                   "formula and the shapes, and raise NotImplementedError) and WS/README.md.")
    p.add_argument("workspace", metavar="WS", help="the folder to write (new, or empty)")
    p.add_argument("--solutions", action="store_true", help="write the library's solutions (the teacher's key)")
    p.add_argument("--force", action="store_true", help="overwrite the task files of a folder that is not empty")
    p = sub.add_parser("grade", help="grade a workspace: task, result, seconds (exit code 0 if all pass)",
                       description="Grade each task's file alone against the library. Exit code 0 only "
                                   "if every task graded passed.")
    p.add_argument("workspace", metavar="WS", help="the folder 'new' wrote")
    p.add_argument("--task", action="append", metavar="NAME", choices=[t.name for t in TASKS],
                   help="grade only this task (repeatable); default: all, in order")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "new":
        try:
            written = write_workspace(args.workspace, solutions=args.solutions, force=args.force)
        except WorkspaceNotEmpty as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        grade = f"python -m tinydagan.exercises grade {args.workspace}"
        print(f"wrote {len(written) - 1} solutions and README.md to {args.workspace}/ (the "
              f"answer key: {grade} gives full marks)" if args.solutions else
              f"wrote {len(written) - 1} tasks and README.md to {args.workspace}/; next: edit "
              f"them, then {grade}")
        return 0
    if not pathlib.Path(args.workspace).is_dir():
        print(f"error: {args.workspace} is not a folder; write one with: python -m tinydagan.exercises new "
              f"{args.workspace}", file=sys.stderr)
        return 2
    tasks = [task_named(name) for name in args.task] if args.task else list(TASKS)
    results = grade_workspace(args.workspace, tasks)
    print(format_results(results))
    return 0 if all(r.status == PASSED for r in results) else 1
