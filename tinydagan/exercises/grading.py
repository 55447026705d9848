"""Grade a workspace: each task's file alone, against the library with its solution hidden.

For one task, ``grade_task``

1. keeps a private reference to every library function of the task (the graders import
   them before anything is hidden), and finds every place the library exposes them:
   the defining module, each module that re-exports the same object
   (``tinydagan.functional.log_softmax``), and the task's ``alternatives`` (other functions
   that compute the same thing, such as the Numba kernels);
2. loads ``WS/<task>.py`` from its path under a module name of its own, with those places
   replaced by functions that raise "the library's solution is hidden while grading", so a
   file that imports the solution gets the stand-in;
3. runs the task's grader, which calls the student's functions (the library stays hidden
   during each call, so a call into it from inside the student's code fails the same way)
   and compares them with the references on small random inputs;
4. puts everything back.

Nothing else of the workspace is imported: one unfinished task never fails another.
"""
import ast
import importlib
import itertools
import pathlib
import sys
import time
import traceback
import types
import warnings
from dataclasses import dataclass

import numpy as np

from .checks import Mismatch
from .markers import function_names, is_stub

__all__ = ["Result", "grade_task", "grade_workspace", "format_results", "HiddenSolution", "Hidden",
           "places_to_hide"]

PASSED, FAILED, NOT_STARTED = "passed", "failed", "not started"
_counter = itertools.count()


class HiddenSolution(RuntimeError):
    """Raised by the stand-in of a library function while its task is graded."""


@dataclass
class Result:
    task: str
    status: str          # "passed", "failed" or "not started"
    seconds: float
    message: str = ""


def _stand_in(qualified_name, task):
    def hidden(*args, **kwargs):
        raise HiddenSolution(f"{qualified_name} is the library's solution, hidden while grading "
                             f"'{task}': write it yourself")
    hidden.__name__ = hidden.__qualname__ = qualified_name.rpartition(".")[2]
    return hidden


def places_to_hide(task):
    """[(module, attribute name, qualified name)] where the library exposes the task's solution."""
    originals = [getattr(importlib.import_module(block.module), name)
                 for block in task.blocks for name in function_names([block])]
    places = []
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("tinydagan") or module_name.startswith("tinydagan.exercises") or module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if any(value is original for original in originals):
                places.append((module, attribute, f"{module_name}.{attribute}"))
    for qualified in task.alternatives:
        module_name, _, attribute = qualified.rpartition(".")
        places.append((importlib.import_module(module_name), attribute, qualified))
    return places


class Hidden:
    """``with Hidden(task):`` every place of ``places_to_hide(task)`` holds a stand-in that
    raises HiddenSolution; on leaving, the originals are back, also in any library module
    imported for the first time inside the block (which may have copied a stand-in)."""

    def __init__(self, task):
        self.task = task
        self.places = places_to_hide(task)
        self.originals = [getattr(module, attribute) for module, attribute, _ in self.places]
        self.stand_ins = [_stand_in(qualified, task.name) for _, _, qualified in self.places]

    def __enter__(self):
        self.modules_before = set(sys.modules)
        for (module, attribute, _), stand_in in zip(self.places, self.stand_ins):
            setattr(module, attribute, stand_in)
        return self

    def __exit__(self, *exception):
        for (module, attribute, _), original in zip(self.places, self.originals):
            setattr(module, attribute, original)
        back = {id(s): o for s, o in zip(self.stand_ins, self.originals)}
        for name in set(sys.modules) - self.modules_before:
            module = sys.modules[name]
            if name.startswith("tinydagan") and module is not None:
                for attribute, value in list(vars(module).items()):
                    if id(value) in back:
                        setattr(module, attribute, back[id(value)])
        return False


class StudentCode:
    """The student's functions of one task; each call runs with the library's solution hidden,
    and any error it raises becomes a Mismatch that says what happened."""

    def __init__(self, task, module, path, hidden):
        self._task, self._module, self._path, self._hidden = task, module, path, hidden

    def __getattr__(self, name):
        function = getattr(self._module, name, None)
        if not callable(function):
            raise Mismatch(f"{self._path.name} defines no function {name}()")

        def call(*args, **kwargs):
            with self._hidden:
                try:
                    return function(*args, **kwargs)
                except Mismatch:
                    raise
                except NotImplementedError:
                    raise Mismatch(f"{name}() is not written yet (it raises NotImplementedError)",
                                   takes_hints=False) from None
                except HiddenSolution as error:
                    raise Mismatch(f"{name}() called the library's own solution: {error}",
                                   "the grader hides the library's version of what you write; use only "
                                   "the helpers the file's header imports.", takes_hints=False) from None
                except RecursionError:
                    raise Mismatch(f"{name}() went deeper than Python's recursion limit (1000 calls)",
                                   "walk a deep structure with an explicit stack (a list) instead of "
                                   "recursion.", takes_hints=False) from None
                except Exception as error:
                    raise Mismatch(f"{name}() raised {type(error).__name__}: {error}"
                                   f"{_where(error, self._path)}") from None
        return call


def _where(error, path):
    """' (WS/task.py, line 12)' for the innermost frame of the student's file, if any."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if pathlib.Path(f.filename) == path]
    return f" ({path.name}, line {frames[-1].lineno}: {frames[-1].line})" if frames else ""


def _load(task, path, hidden):
    """The task file as a fresh module under a name of its own (never put in sys.modules),
    compiled from its text each time (no cached bytecode that could be older than an edit)."""
    module = types.ModuleType(f"tinydagan_exercise_{task.name}_{next(_counter)}")
    module.__file__ = str(path)
    with hidden:
        try:
            exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), vars(module))
        except Exception as error:
            detail = f"line {error.lineno}: {error.msg}" if isinstance(error, SyntaxError) else \
                f"{type(error).__name__}: {error}{_where(error, path)}"
            raise Mismatch(f"{path.name} could not be imported ({detail})", takes_hints=False) from None
    return module


def _not_started(task, path):
    """True when every function of the task in the file is still the stub."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError:
        return False
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    return all(name in functions and is_stub(functions[name]) for name in task.functions)


def grade_task(task, workspace):
    """Grade ``workspace/<task.name>.py``: a Result with the status, seconds and message."""
    path = pathlib.Path(workspace).resolve() / task.filename
    start = time.perf_counter()
    if not path.exists():
        return Result(task.name, NOT_STARTED, 0.0, f"{path} does not exist")
    if _not_started(task, path):
        return Result(task.name, NOT_STARTED, time.perf_counter() - start)
    hidden = Hidden(task)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)    # NaN and infinity are checked for
            task.grader(StudentCode(task, _load(task, path, hidden), path, hidden))
    except Mismatch as mismatch:
        return Result(task.name, FAILED, time.perf_counter() - start, str(mismatch))
    except Exception as error:  # what the student's code returned broke the check itself
        return Result(task.name, FAILED, time.perf_counter() - start,
                      f"the result could not be checked: {type(error).__name__}: {error} "
                      f"(are the types and shapes the docstring's?)")
    return Result(task.name, PASSED, time.perf_counter() - start)


def grade_workspace(workspace, tasks):
    return [grade_task(task, workspace) for task in tasks]


def format_results(results):
    """The table (task, result, seconds), a total line, then each failure's message."""
    width = max([len("task")] + [len(r.task) for r in results])
    lines = [f"{'task':<{width}}  {'result':<11}  {'seconds':>7}"]
    lines += [f"{r.task:<{width}}  {r.status:<11}  {r.seconds:7.2f}" for r in results]
    passed = sum(r.status == PASSED for r in results)
    lines.append(f"{passed} of {len(results)} passed")
    for r in results:
        if r.status == FAILED or r.message:
            lines += ["", f"{r.task}: {r.status}", "  " + r.message.replace("\n", "\n  ")]
    return "\n".join(lines)
