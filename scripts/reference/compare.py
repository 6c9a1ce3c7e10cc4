#!/usr/bin/env python3
"""Compares `bert demo` scores with the PyTorch reference, task by task.

    python3 scripts/reference/compare.py --swift demo-output/demo-results.json [more ...] \
        --pytorch reference.json [more ...] [--markdown]

Each file is one run (one seed). Scores are those of the final epoch on both
sides, in points: accuracy and Pearson correlation x 100, SQuAD F1 as it is.
For every task the script prints each side's runs, their mean and sample
standard deviation, the difference of the means and, with two runs or more a
side, its standard error √(sd₁²/n₁ + sd₂²/n₂). A task passes when the means are
within 1 point; with several seeds a side, the spread between seeds says how
much a single run can move on its own, and the standard error how far the
difference of the means can.
"""

import argparse
import json
import math
import statistics
import sys

ORDER = ["classification", "pair-classification", "pair-regression", "tagging", "qa"]


def points(metric, value):
    return value if metric == "f1" or metric == "exact_match" else value * 100


def swift_scores(paths):
    runs = {}
    for path in paths:
        with open(path) as f:
            document = json.load(f)
        for task in document["tasks"]:
            runs.setdefault(task["task"], []).append(
                (document.get("seed", 42), task["metric"], points(task["metric"], task["score"])))
    return runs


def pytorch_scores(paths):
    runs = {}
    for path in paths:
        with open(path) as f:
            document = json.load(f)
        for name, task in document["tasks"].items():
            final = task["epochs"][-1]["metrics"][task["metric"]]
            runs.setdefault(name, []).append(
                (task["settings"].get("seed"), task["metric"], points(task["metric"], final)))
    return runs


def summary(values):
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else float("nan")
    return mean, spread


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--swift", nargs="+", required=True, help="demo-results.json files")
    parser.add_argument("--pytorch", nargs="+", required=True, help="reference JSON files")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    swift, torch = swift_scores(args.swift), pytorch_scores(args.pytorch)

    rows, failures = [], 0
    for task in ORDER + sorted((set(swift) | set(torch)) - set(ORDER)):
        if task not in swift or task not in torch:
            continue
        metric = swift[task][0][1]
        s_values = [v for _, _, v in swift[task]]
        t_values = [v for _, _, v in torch[task]]
        (s_mean, s_sd), (t_mean, t_sd) = summary(s_values), summary(t_values)
        difference = s_mean - t_mean
        error = math.sqrt(s_sd**2 / len(s_values) + t_sd**2 / len(t_values))  # NaN for one run
        within = abs(difference) <= 1.0
        failures += not within
        rows.append((task, metric, s_values, s_mean, s_sd, t_values, t_mean, t_sd, difference,
                     error, within))

    def runs(values):
        return ", ".join(f"{v:.1f}" for v in values)

    def spread(mean, sd):
        return f"{mean:.1f}" if sd != sd else f"{mean:.1f} ± {sd:.1f}"  # sd is NaN for one run

    def signed(difference, error):
        return f"{difference:+.1f}" if error != error else f"{difference:+.1f} ± {error:.1f}"

    if args.markdown:
        print("| task | metric | Swift runs | Swift mean ± sd | PyTorch runs | PyTorch mean ± sd "
              "| Swift − PyTorch ± standard error |")
        print("|---|---|---|---|---|---|---|")
        for task, metric, sv, sm, ss, tv, tm, ts, d, e, _ in rows:
            print(f"| {task} | {metric} | {runs(sv)} | {spread(sm, ss)} | {runs(tv)} "
                  f"| {spread(tm, ts)} | {signed(d, e)} |")
    else:
        for task, metric, sv, sm, ss, tv, tm, ts, d, e, within in rows:
            print(f"{task:20} {metric:15} swift [{runs(sv)}] mean {sm:.1f} sd {ss:.1f} | "
                  f"pytorch [{runs(tv)}] mean {tm:.1f} sd {ts:.1f} | diff {signed(d, e)} "
                  f"{'within 1 point' if within else 'NOT within 1 point'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
