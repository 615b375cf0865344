#!/usr/bin/env python3
"""The figures of two benchmark runs side by side (scripts/bench-compare), as a markdown table.

usage: bench-compare.py BEFORE.jsonl AFTER.jsonl BEFORE_NAME AFTER_NAME

A figure is "worse" when its median moved the wrong way by more than both runs' spread (the
larger of the two min–max ranges) and by more than 5%; "better" likewise the right way; else
"same". Rates (…/s) are better higher; times, CPU, memory and file counts better lower.
"""
import json
import sys


def load(path):
    figures = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if line:
                figure = json.loads(line)
                figures[figure["key"]] = figure  # a key measured twice: the later run
    return figures


def higher_is_better(unit):
    return unit.endswith("/s") or unit == "%"


def number(value):
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def verdict(before, after):
    b, a = before["median"], after["median"]
    spread = max(before["max"] - before["min"], after["max"] - after["min"])
    moved = a - b
    if abs(moved) <= spread or (b and abs(moved) / abs(b) <= 0.05):
        return "same"
    better = moved > 0 if higher_is_better(before["unit"]) else moved < 0
    return "better" if better else "**worse**"


def main():
    before, after = load(sys.argv[1]), load(sys.argv[2])
    names = sys.argv[3], sys.argv[4]
    print(f"| figure | unit | before ({names[0]}) | after ({names[1]}) | change | |")
    print("|---|---|---|---|---|---|")
    counts = {}
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        unit = (b or a)["unit"]
        cell = lambda f: (
            f"{number(f['median'])} ({number(f['min'])} – {number(f['max'])})" if f else "not measured"
        )
        if b and a:
            change = f"{(a['median'] - b['median']) / b['median'] * 100:+.0f}%" if b["median"] else "n/a"
            said = verdict(b, a)
        else:
            change, said = "n/a", "n/a"
        counts[said] = counts.get(said, 0) + 1
        print(f"| `{key}` | {unit} | {cell(b)} | {cell(a)} | {change} | {said} |")
    print()
    print(", ".join(f"{n} {said.strip('*')}" for said, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
