"""The exercise kit (tinydagan/exercises): stubs and solutions written from the library's
markers, each task graded alone with the library's solution hidden, and the hints a wrong
answer gets."""
import inspect
import subprocess
import sys

import numpy as np
import pytest

import tinydagan as td
from tinydagan import exercises, ops
from tinydagan.exercises import TASKS, grade_task, grade_workspace, write_workspace
from tinydagan.exercises.cli import main
from tinydagan.exercises.grading import places_to_hide
from tinydagan.exercises.markers import blocks_by_task, find_blocks
from tinydagan.ops import elementwise


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    """A workspace holding the solutions (the teacher's key)."""
    workspace = tmp_path_factory.mktemp("key")
    write_workspace(workspace, solutions=True, force=True)
    return workspace


@pytest.fixture
def stubs(tmp_path):
    write_workspace(tmp_path / "ws")
    return tmp_path / "ws"


def statuses(results):
    return {r.task: r.status for r in results}


# ----------------------------------------------------------------------------- the task table and the markers

def test_at_least_twelve_tasks_in_order_each_with_minutes_and_a_marked_library_solution():
    names = [t.name for t in TASKS]
    assert len(names) >= 12 and len(set(names)) == len(names)
    assert names.index("elementwise_backward") < names.index("backward") < names.index("conv2d_forward") \
        < names.index("batch_norm") < names.index("adam") < names.index("dagan_losses")
    assert set(blocks_by_task()) == set(names)          # every marker is a task, every task is marked
    for task in TASKS:
        assert task.minutes > 0 and task.functions and task.location.startswith("tinydagan/")


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_the_solution_is_the_library_source_and_the_stub_keeps_signatures_and_docstrings(task, key, stubs):
    """Nothing is written twice: the key's functions are the library's, character for character."""
    solution, stub = (key / task.filename).read_text(), (stubs / task.filename).read_text()
    for block in task.blocks:
        module = sys.modules[block.module]
        for name in exercises.markers.function_names([block]):
            function = getattr(module, name)
            assert inspect.getsource(function) in solution
            assert f"def {name}(" in stub and inspect.getdoc(function).splitlines()[0] in stub
            assert f'raise NotImplementedError("{name} is not written yet")' in stub
    compile(stub, task.filename, "exec")


def test_markers_must_be_closed_and_hold_only_documented_functions(tmp_path):
    path = tmp_path / "lib.py"
    path.write_text("# --- exercise: x ---\ndef f():\n    pass\n")
    with pytest.raises(ValueError, match="never closed"):
        find_blocks(path)
    path.write_text("# --- exercise: x ---\nA = 1\n# --- end exercise ---\n")
    with pytest.raises(ValueError, match="only functions"):
        exercises.markers.function_names(find_blocks(path))


# ----------------------------------------------------------------------------- full marks, no marks

def test_the_key_gets_full_marks_and_exit_code_0(key, capsys):
    results = grade_workspace(key, TASKS)
    assert all(r.status == "passed" for r in results), [(r.task, r.message) for r in results if r.status != "passed"]
    assert main(["grade", str(key)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["task", "result", "seconds"] and f"{len(TASKS)} of {len(TASKS)} passed" in out


def test_each_task_grades_in_under_5_seconds(key):
    for task in TASKS:
        result = grade_task(task, key)
        assert result.status == "passed" and result.seconds < 5, (task.name, result.seconds)


def test_fresh_stubs_are_all_not_started_and_exit_code_1(stubs, capsys):
    assert set(statuses(grade_workspace(stubs, TASKS)).values()) == {"not started"}
    assert main(["grade", str(stubs)]) == 1
    assert f"0 of {len(TASKS)} passed" in capsys.readouterr().out


def test_one_finished_task_among_stubs_passes_alone(stubs, key):
    (stubs / "backward.py").write_text((key / "backward.py").read_text())
    got = statuses(grade_workspace(stubs, TASKS))
    assert got.pop("backward") == "passed" and set(got.values()) == {"not started"}


def test_a_half_written_task_fails_naming_the_missing_function(stubs, key):
    solution = (key / "elementwise_backward.py").read_text()
    stub = (stubs / "elementwise_backward.py").read_text()
    start = stub.index("def mul_backward")
    (stubs / "elementwise_backward.py").write_text(stub[:start] + solution[solution.index("def mul_backward"):
                                                                          solution.index("def div_backward")]
                                                   + stub[stub.index("def div_backward"):])
    result = grade_task(exercises.task_named("elementwise_backward"), stubs)
    assert result.status == "failed" and "div_backward() is not written yet" in result.message


# ----------------------------------------------------------------------------- wrong answers and their hints

WRONG = [  # (task, the line in the key, what the slip makes of it, what the message must say)
    ("backward", "grads[key] = pg if key not in grads else grads[key] + pg", "grads[key] = pg",
     ["x used twice", "a factor of 2 is missing", "accumulate"]),
    ("dagan_losses", "fake_term = -ops.mean(log_prob(logits_fake, y_fake + K))",
     "fake_term = ops.mean(log_prob(logits_fake, y_fake + K))",
     ["dagan_discriminator_loss", "on generated images", "logits_fake.grad", "the sign is flipped"]),
    ("dagan_losses", "l_data = -ops.mean(log_prob_either(logits_real, y_real, y_real + K))",
     "l_data = -ops.mean(log_prob(logits_real, y_real))",
     ["class_consistency_loss", "L_data", "logits_real.grad", "log_prob_either"]),
    ("reductions", "g = expand_reduced(grad, axes, keepdims) / grad.dtype.type(count)",
     "g = expand_reduced(grad, axes, keepdims)",
     ["mean_backward", "central difference of the forward", "3 times the expected value", "divided by"]),
    ("elementwise_backward", "return grad * (1 - out * out)", "return grad * (1 - out)",
     ["tanh_backward", "expected", "got", "in terms of it"]),
    ("log_prob", "return logits[n, np.asarray(index)] - ops.logsumexp(logits, axis=1)",
     "return ops.log(ops.softmax(logits, axis=1)[n, np.asarray(index)])", ["huge logits", "infinity", "never log(softmax"]),
    ("adam", "step_size = lr / (1 - beta1 ** t)\n    denom = np.sqrt(v / (1 - beta2 ** t)) + eps",
     "step_size = lr\n    denom = np.sqrt(v) + eps", ["bias corrections are missing"]),
    ("dropout", "scale = x.dtype.type(1 / (1 - p))", "scale = x.dtype.type(1)", ["scales the kept elements by 1/(1-p)"]),
    ("batch_norm", "var = ops.mean(centred * centred, axis=axes, keepdims=True)",
     "var = ops.mean(centred.detach() * centred.detach(), axis=axes, keepdims=True)",
     ["the gradients", "x.grad", "Tensor ops"]),
    ("conv2d_forward", "j : j + g.sw * (wo - 1) + 1 : g.sw]", "j : j + g.sw * (wo - 1) + 1 : g.sw].copy()", ["a view"]),
    ("conv2d_backward", "patch(grad_xp, i, j, ho, wo, g)[...] += ", "patch(grad_xp, i, j, ho, wo, g)[...] = ",
     ["conv2d_backward_input", "ADD"]),
]


@pytest.mark.parametrize("task_name, right, wrong, says", WRONG, ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)])
def test_a_wrong_solution_fails_only_its_task_with_the_expected_hint(tmp_path, key, task_name, right, wrong, says):
    write_workspace(tmp_path, solutions=True, force=True)
    path = tmp_path / f"{task_name}.py"
    text = path.read_text()
    assert text.count(right) == 1
    path.write_text(text.replace(right, wrong))
    results = grade_workspace(tmp_path, TASKS)
    assert {r.task for r in results if r.status != "passed"} == {task_name}
    message = next(r.message for r in results if r.task == task_name)
    for phrase in says:
        assert phrase in message, message


@pytest.mark.parametrize("task_name, function, cheat", [
    ("elementwise_backward", "mul_backward", "from tinydagan.ops.elementwise import mul_backward"),
    ("elementwise_backward", "mul_backward",                 # imported when called, not when loaded
     "def mul_backward(grad, a, b, needs=(True, True)):\n"
     "    from tinydagan.ops.elementwise import mul_backward\n    return mul_backward(grad, a, b, needs)"),
    ("log_softmax", "log_softmax", "from tinydagan.functional import log_softmax"),      # a re-export
    ("conv2d_forward", "conv2d_forward", "from tinydagan.kernels import conv2d_forward"),  # the dispatcher
    ("conv2d_forward", "conv2d_forward", "from tinydagan.kernels.numba_conv import conv2d_forward"),
    ("backward", "backpropagate", "def backpropagate(root, grad):\n    root.backward(grad)"),  # via Tensor.backward
    ("adam", "adam_update", "def adam_update(param, grad, m, v, t, lr, beta1, beta2, eps):\n"
     "    from tinydagan import nn, optim\n    p = nn.Parameter(param)\n    p.grad = grad\n"
     "    optim.Adam([p], lr, (beta1, beta2), eps).step()"),
])
def test_a_task_file_using_the_library_solution_fails(tmp_path, key, task_name, function, cheat):
    write_workspace(tmp_path, solutions=True, force=True)
    path = tmp_path / f"{task_name}.py"
    text = path.read_text()
    start = text.index(f"def {function}(")
    end = text.find("\ndef ", start + 1)
    path.write_text(text[:start] + cheat + "\n\n" + (text[end:] if end > 0 else ""))
    result = grade_task(exercises.task_named(task_name), tmp_path)
    assert result.status == "failed" and "hidden while grading" in result.message, result.message
    assert elementwise.mul_backward.__module__ == "tinydagan.ops.elementwise"   # the library is back
    x = td.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_hiding_covers_the_defining_module_and_every_re_export():
    places = {qualified for _, _, qualified in places_to_hide(exercises.task_named("log_softmax"))}
    assert {"tinydagan.ops.log_softmax", "tinydagan.functional.log_softmax"} <= places
    places = {qualified for _, _, qualified in places_to_hide(exercises.task_named("unbroadcast"))}
    assert {"tinydagan.ops.elementwise.unbroadcast", "tinydagan.ops.unbroadcast"} <= places


def test_a_broken_file_fails_its_task_only(stubs, key):
    for task in TASKS:
        (stubs / task.filename).write_text((key / task.filename).read_text())
    (stubs / "matmul_backward.py").write_text("def matmul_backward(grad, a, b:\n")
    (stubs / "adam.py").unlink()
    got = statuses(grade_workspace(stubs, TASKS))
    assert got.pop("matmul_backward") == "failed" and got.pop("adam") == "not started"
    assert set(got.values()) == {"passed"}
    assert "could not be imported (line 1" in grade_task(exercises.task_named("matmul_backward"), stubs).message


# ----------------------------------------------------------------------------- the commands

def test_new_refuses_a_folder_that_is_not_empty_unless_forced(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["new", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not empty" in err and "--force" in err
    assert main(["new", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "backward.py").exists()
    readme = (tmp_path / "README.md").read_text()
    assert all(f"[{t.name}]({t.filename})" in readme for t in TASKS) and "total" in readme


def test_help_explains_the_workflow(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "new WS" in out and "edit the files" in out and "grade WS" in out
    assert all(t.name in out for t in TASKS)


def test_the_three_commands_through_subprocess(tmp_path, key):
    """new, edit one file, grade: the student's workflow, as a student runs it."""
    def run(*args):
        return subprocess.run([sys.executable, "-m", "tinydagan.exercises", *args], cwd=tmp_path,
                              capture_output=True, text=True)
    made = run("new", "ws")
    assert made.returncode == 0 and "wrote" in made.stdout, made.stderr
    graded = run("grade", "ws", "--task", "unbroadcast")
    assert graded.returncode == 1 and "not started" in graded.stdout
    (tmp_path / "ws" / "unbroadcast.py").write_text((key / "unbroadcast.py").read_text())
    graded = run("grade", "ws", "--task", "unbroadcast")
    assert graded.returncode == 0 and "passed" in graded.stdout, graded.stdout + graded.stderr
    graded = run("grade", "ws")
    assert graded.returncode == 1 and f"1 of {len(TASKS)} passed" in graded.stdout
    again = run("new", "ws")
    assert again.returncode == 2 and "not empty" in again.stderr


def test_the_main_command_forwards_to_the_exercises(tmp_path, capsys):
    from tinydagan.cli import main as tinydagan_main
    assert tinydagan_main(["exercises", "new", str(tmp_path / "ws")]) == 0
    assert (tmp_path / "ws" / "unbroadcast.py").exists()
    assert tinydagan_main(["exercises", "grade", str(tmp_path / "ws"), "--task", "unbroadcast"]) == 1
    assert "not started" in capsys.readouterr().out
