"""Exercises: write the library's key pieces yourself, one file per task, and have them graded.

Three commands::

    python -m tinydagan.exercises new my_work        # 1. a workspace: one stub file per task + README.md
    #                                                   2. edit my_work/<task>.py, in the README's order
    python -m tinydagan.exercises grade my_work      # 3. the table: task, passed / failed / not started, seconds

``grade my_work --task backward`` grades one task; the exit code is 0 only when every task
graded passed. A failure says which check, which element, the expected and the received
value, and a hint where one fits ("a factor of 2 is missing", "the sign is flipped", which
term of a loss is wrong). ``new my_work --solutions`` writes the teacher's key instead.

How it works, in one file each:

- ``markers.py``: the library is the answer key. Each task's code is marked in the
  library's own source (``# --- exercise: <task> ---`` ... ``# --- end exercise ---``), and
  both the stub and the solution are written from there, so they cannot drift from it.
- ``tasks.py``: the tasks in order, with their minutes and graders.
- ``grading.py``: each task's file is imported alone, from its path; everything else comes
  from the library, whose own version of the task is hidden while it is graded, so an
  unfinished task never fails another and importing the solution does not pass.
- ``checks.py``: the comparisons and their hints; ``grade_*.py``: one grader per task.
"""
from .grading import Result, format_results, grade_task, grade_workspace
from .tasks import TASKS, Task, task_named
from .workspace import WorkspaceNotEmpty, write_workspace

__all__ = ["TASKS", "Task", "task_named", "write_workspace", "WorkspaceNotEmpty", "grade_task",
           "grade_workspace", "format_results", "Result", "main"]


def main(argv=None):
    from .cli import main as cli_main
    return cli_main(argv)
