"""The results published in docs/ are runs of today's code, and the page shows them as they are.

docs/results/*.json are merged ``results.json`` files of the commands docs/results.md names.
A later change to a default setting or to the steps rule would silently turn them into results
of another recipe (and ``--continue-from`` would refuse to continue the grid); a hand-edited
table in docs/results.md would drift from the file it quotes. These tests catch both.
"""
import json
import os
import re

import pytest

from tinydagan.cli import build_parser, compare_grid
from tinydagan.experiments import PRESETS, load_results, reusable_runs
from tinydagan.report import cells

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "docs", "results")
PAGE = os.path.join(ROOT, "docs", "results.md")

# each published file and the compare command line that made it (docs/results.md)
PUBLISHED = {
    "trends.json": ["compare", "--preset", "trends"],
    "quick_test.json": ["compare", "--preset", "quick", "--data-seeds"]
                       + [str(s) for s in range(100, 110)],
}


def _grid(argv):
    return compare_grid(build_parser().parse_args(argv))


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_every_published_run_is_a_run_of_the_command_the_page_names(name):
    base, plan = _grid(PUBLISHED[name])
    results = load_results(os.path.join(RESULTS, name))
    reused = reusable_runs(base, plan, results, name)       # refuses other settings, by name
    assert len(reused) == len(results["runs"]), (
        f"{name}: {len(results['runs']) - len(reused)} runs are not in the plan of "
        f"{' '.join(PUBLISHED[name])} (other steps, sizes or seeds)")
    keys = [(e["method"], e["per_class"], e["data_seed"]) for e in results["runs"]]
    assert len(set(keys)) == len(keys), f"{name} holds a run twice"


def test_a_changed_default_is_caught():
    base, plan = _grid(PUBLISHED["trends.json"])
    results = load_results(os.path.join(RESULTS, "trends.json"))
    results["settings"]["noise_std"] = 0.1
    with pytest.raises(ValueError, match="noise_std"):
        reusable_runs(base, plan, results, "trends.json")
    results = load_results(os.path.join(RESULTS, "trends.json"))
    results["runs"][0]["steps"] += 250                       # a run of another length
    assert len(reusable_runs(base, plan, results, "trends.json")) == len(results["runs"]) - 1


def _trends_table(text):
    """{(method, per_class): cell text} from the page's table of the grid's accuracies."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith("| method | 50 per class | paper |"))
    sizes = [int(n) for n in re.findall(r"\| (\d+) per class", lines[start])]
    table = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        method = cells[0].replace(" ", "")                   # "Semi GAN" -> "SemiGAN"
        for n, cell in zip(sizes, cells[1::2]):
            table[(method, n)] = cell
    return table


def test_the_pages_table_quotes_trends_json():
    results = load_results(os.path.join(RESULTS, "trends.json"))
    with open(PAGE, encoding="utf-8") as f:
        text = f.read()
    table = _trends_table(text)
    accuracy, methods, sizes = cells(results)               # {(method, n): {seed: accuracy}}
    assert {m for m, _ in table} == set(methods) and {n for _, n in table} == set(sizes)
    for (method, n), cell in table.items():
        seeds = accuracy.get((method, n), {})
        expected = " / ".join(f"{seeds[s]:.2f}" if s in seeds else "-"
                              for s in PRESETS["trends"]["data_seeds"])
        assert cell == expected, f"{method} at {n} per class: the page says {cell}"
    _, plan = _grid(PUBLISHED["trends.json"])
    unfinished = re.search(r"\*\*(\d+) of the grid.s (\d+) runs are in trends.json", text)
    complete = re.search(r"\*\*All (\d+) runs of the grid are in trends.json", text)
    assert bool(unfinished) != bool(complete), "the page says how many of the grid's runs it has"
    if unfinished:
        assert (int(unfinished[1]), int(unfinished[2])) == (len(results["runs"]), len(plan))
    else:
        assert int(complete[1]) == len(results["runs"]) == len(plan)


def _interval(d):
    return f"{d['mean']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}] {d['positive']}/{d['k']}"


def test_the_pages_search_table_quotes_trends_search_json():
    with open(os.path.join(RESULTS, "trends_search.json")) as f:
        lines = {line["name"]: line for line in json.load(f)}
    with open(PAGE, encoding="utf-8") as f:
        rows = [[c.strip() for c in row.strip().strip("|").split("|")] for row in f
                if re.match(r"\s*\| \w+_n\d+ \|", row)]
    assert {row[0] for row in rows} == set(lines), "the page lists other candidates than the file"
    for name, _, validation, over_method, over_rival in rows:
        line = lines[name]
        expected = "; ".join(" / ".join(f"{v:.1f}" for v in values)
                             for values in line["val_best"].values())
        assert validation == expected, f"{name}: the page says {validation}"
        assert over_method == _interval(line["gain_over_grid_method"]), name
        assert over_rival == _interval(line["gain_over_grid_rival"]), name
