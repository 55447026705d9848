"""Find the exercises in the library's own source, and write a task's file from them.

The library is the answer key. Each piece of code a student writes is marked where it
lives, between two comment lines at the left margin::

    # --- exercise: elementwise_backward ---
    def mul_backward(grad, a, b, needs=(True, True)):
        \"\"\"The docstring: what, in which shapes, with which formula.\"\"\"
        ...
    # --- end exercise ---

A block holds whole top-level functions (and comments), each with a docstring. One task
may have several blocks, in one file or several; the task file lists them in the order of
the library's file names and lines.

From the blocks of a task this module writes two versions of ``WS/<task>.py``:

- the **stub**: each function's ``def`` line and docstring, then
  ``raise NotImplementedError(...)``;
- the **solution**: the blocks exactly as the library has them.

Both start with the imports the blocks need, found by looking up each name the blocks use
but do not define in the library module the block comes from. So neither can drift from
the library: editing the library edits the exercise.
"""
import ast
import builtins
import functools
import importlib
import pathlib
import re
import types
from dataclasses import dataclass

import tinydagan

__all__ = ["Block", "find_blocks", "blocks_by_task", "function_names", "stub_source",
           "solution_source", "imports_needed", "is_stub", "PACKAGE_DIR"]

PACKAGE_DIR = pathlib.Path(tinydagan.__file__).parent
START = re.compile(r"^# --- exercise: (\w+) ---$")
END = "# --- end exercise ---"


@dataclass(frozen=True)
class Block:
    """The code of one marked region: which task, which library module, the source text."""
    task: str
    module: str          # e.g. "tinydagan.ops.elementwise"
    path: pathlib.Path
    first_line: int      # the line after the start marker (1-based)
    source: str          # the lines between the markers


def _module_name(path):
    """tinydagan/ops/elementwise.py -> "tinydagan.ops.elementwise" (a file elsewhere: its stem)."""
    if not path.resolve().is_relative_to(PACKAGE_DIR.parent.resolve()):
        return path.stem
    parts = path.resolve().relative_to(PACKAGE_DIR.parent.resolve()).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def find_blocks(path):
    """Every marked block of one library file, in line order."""
    path = pathlib.Path(path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    blocks, task, start = [], None, None
    for number, line in enumerate(lines, 1):
        text = line.rstrip("\n")
        match = START.match(text)
        if match:
            if task is not None:
                raise ValueError(f"{path}:{number}: exercise '{match[1]}' starts inside exercise '{task}'")
            task, start = match[1], number + 1
        elif text == END:
            if task is None:
                raise ValueError(f"{path}:{number}: '{END}' without a start marker")
            blocks.append(Block(task, _module_name(path), path, start, "".join(lines[start - 1:number - 1])))
            task = None
    if task is not None:
        raise ValueError(f"{path}: exercise '{task}' is never closed with '{END}'")
    return blocks


@functools.lru_cache(maxsize=None)
def blocks_by_task():
    """{task: [Block, ...]} over every library file (the exercises package excluded)."""
    tasks = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "exercises" in path.relative_to(PACKAGE_DIR).parts:
            continue
        for block in find_blocks(path):
            tasks.setdefault(block.task, []).append(block)
    return tasks


def _functions(block):
    """The top-level function definitions of a block (anything else is an error)."""
    tree = ast.parse(block.source)
    functions = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            raise ValueError(f"{block.path}:{block.first_line + node.lineno - 1}: an exercise block "
                             f"may hold only functions, found {type(node).__name__}")
        if ast.get_docstring(node) is None:
            raise ValueError(f"{block.path}:{block.first_line + node.lineno - 1}: "
                             f"{node.name} needs a docstring (the stub keeps it)")
        functions.append(node)
    return functions


def function_names(blocks):
    """The names of the functions a student writes, in order."""
    return [node.name for block in blocks for node in _functions(block)]


def _stub(block):
    """The block with each function body replaced by ``raise NotImplementedError``."""
    lines = block.source.splitlines(keepends=True)
    parts = []
    for node in _functions(block):
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        docstring_end = node.body[0].end_lineno
        parts.append("".join(lines[first - 1:docstring_end])
                     + f'    raise NotImplementedError("{node.name} is not written yet")\n')
    return "\n\n".join(parts)


def _names_used_and_bound(source):
    used, bound = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            (used if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.Lambda)):
            if isinstance(node, ast.FunctionDef):
                bound.add(node.name)
            args = node.args
            bound.update(a.arg for a in args.posonlyargs + args.args + args.kwonlyargs)
            bound.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return used, bound


def imports_needed(blocks):
    """The import lines a task file needs: every name the blocks use but do not define,
    imported from where the library has it (``import numpy as np``, ``from tinydagan.ops
    import logsumexp``, ...)."""
    plain, library = set(), set()
    defined = set()
    for block in blocks:
        defined |= _names_used_and_bound(block.source)[1]
    for block in blocks:
        namespace = vars(importlib.import_module(block.module))
        used, _ = _names_used_and_bound(block.source)
        for name in sorted(used - defined - set(dir(builtins))):
            if name not in namespace:
                raise LookupError(f"{block.module} uses '{name}', which it does not define")
            value = namespace[name]
            if isinstance(value, types.ModuleType):
                parent, _, leaf = value.__name__.rpartition(".")
                if leaf == name and parent:
                    library.add(f"from {parent} import {name}")
                else:
                    plain.add(f"import {value.__name__}" + ("" if value.__name__ == name else f" as {name}"))
            else:
                home = getattr(value, "__module__", None)
                if home is None or getattr(importlib.import_module(home), name, None) is not value:
                    home = block.module
                library.add(f"from {home} import {name}")
    lines = sorted(plain)
    if library:
        lines += [""] if lines else []
        lines += _merge_from_imports(sorted(library))
    return "\n".join(lines)


def _merge_from_imports(lines):
    """``from m import a`` + ``from m import b`` -> ``from m import a, b``."""
    names = {}
    for line in lines:
        _, module, _, name = line.split(" ")
        names.setdefault(module, []).append(name)
    return [f"from {module} import {', '.join(sorted(ns))}" for module, ns in sorted(names.items())]


def stub_source(blocks):
    """The functions of a task, each raising NotImplementedError (what the student starts from)."""
    return "\n\n".join(_stub(block) for block in blocks)


def solution_source(blocks):
    """The functions of a task as the library has them (the teacher's key)."""
    return "\n\n".join(block.source.strip("\n") + "\n" for block in blocks)


def is_stub(function_node):
    """True when an ``ast.FunctionDef``'s body is only its docstring and a
    ``raise NotImplementedError(...)``: the task has not been started."""
    body = function_node.body[1:] if ast.get_docstring(function_node) is not None else function_node.body
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc
    target = exc.func if isinstance(exc, ast.Call) else exc
    return isinstance(target, ast.Name) and target.id == "NotImplementedError"
