"""Write a workspace: one file per task (stubs, or the solutions) and a README listing them."""
import pathlib
import textwrap

from .markers import imports_needed, solution_source, stub_source
from .tasks import TASKS

__all__ = ["write_workspace", "task_file_text", "readme_text", "WorkspaceNotEmpty"]


class WorkspaceNotEmpty(FileExistsError):
    """The folder given to ``new`` already holds files (and --force was not given)."""


def task_file_text(task, number, workspace, solutions=False):
    """The text of ``WS/<task>.py``: a docstring saying what to do, the imports, the functions."""
    functions = ", ".join(task.functions)
    write = (f"Key:   {functions}, as the library has them ({task.location})." if solutions else
             f"Write: {functions} (replace each 'raise NotImplementedError' with your code).")
    header = "\n".join([
        f'"""Task {number} of {len(TASKS)}, about {task.minutes} minutes: {task.name}.', "",
        textwrap.fill(f"What:  {task.summary}.", 90, subsequent_indent="       "),
        textwrap.fill(write, 90, subsequent_indent="       "),
        "Check:", "",
        f"    python -m tinydagan.exercises grade {workspace} --task {task.name}", "",
        "(only this file is imported; everything else comes from the library).",
        '"""', ""])
    imports = imports_needed(task.blocks)
    body = solution_source(task.blocks) if solutions else stub_source(task.blocks)
    return header + (imports + "\n\n\n" if imports else "\n\n") + body


def readme_text(workspace, solutions=False):
    """WS/README.md: the workflow and the tasks in order, with minutes."""
    rows = [f"| {i} | [{t.name}]({t.filename}) | {t.summary.replace('|', chr(92) + '|')} | {t.minutes} |"
            for i, t in enumerate(TASKS, 1)]
    kind = ("This folder holds the solutions (the teacher's key), written from the library's own code."
            if solutions else "Each file holds the functions of one task: a signature, a docstring with "
            "the formula and the shapes, and `raise NotImplementedError`. Replace that line with your code.")
    return "\n".join([
        "# tinydagan exercises", "",
        kind, "",
        "Grade one task, or all of them:", "",
        "```bash",
        f"python -m tinydagan.exercises grade {workspace} --task elementwise_backward",
        f"python -m tinydagan.exercises grade {workspace}",
        "```", "",
        "Each task is graded alone: its file is imported, everything else comes from the library, "
        "and the library's own version of what you write is hidden while it is graded. Do them "
        "in order; later tasks build on the ideas of earlier ones.", "",
        "| # | task | what | minutes |", "|---|---|---|---|", *rows,
        f"| | | total | {sum(t.minutes for t in TASKS)} |", ""])


def write_workspace(workspace, solutions=False, force=False):
    """Write the task files and README.md into ``workspace`` (created if missing).

    Refuses a folder that already holds files, unless ``force`` (which overwrites the task
    files and the README, and leaves any other file alone). Returns the paths written.
    """
    workspace = pathlib.Path(workspace)
    if workspace.exists() and not workspace.is_dir():
        raise WorkspaceNotEmpty(f"{workspace} exists and is not a folder")
    if workspace.is_dir() and any(workspace.iterdir()) and not force:
        raise WorkspaceNotEmpty(f"{workspace} already exists and is not empty (use --force to overwrite its task files)")
    workspace.mkdir(parents=True, exist_ok=True)
    written = []
    for number, task in enumerate(TASKS, 1):
        path = workspace / task.filename
        path.write_text(task_file_text(task, number, workspace, solutions), encoding="utf-8")
        written.append(path)
    readme = workspace / "README.md"
    readme.write_text(readme_text(workspace, solutions), encoding="utf-8")
    return written + [readme]
