#!/usr/bin/env python3
"""Checks that operators can rely on atende's metrics: the list in docs/operations.md and the
Grafana dashboard that ships with atende (deploy/grafana/atende.json).

- Every metric atende's code registers (`counter!`, `gauge!`, `histogram!` in src/) is
  documented in docs/operations.md.
- The dashboard is one Grafana imports: unique panel ids, panels inside the 24-column grid and
  not overlapping, every query on the `${datasource}` Prometheus variable.
- Every `atende_*` metric a query reads is one atende documents in docs/operations.md (so a
  renamed or removed metric breaks CI, not the operator's dashboard).
- Every query is valid PromQL: promtool evaluates each one (on no data) as a unit test.

Usage: python3 tests/ops/check_metrics.py   (from the repository root; needs promtool)
"""
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
DASHBOARD = ROOT / "deploy/grafana/atende.json"
DOCS = ROOT / "docs/operations.md"
# Metrics that are not atende's own: Prometheus's `up`, and the backup timestamp that
# `atende backup --metrics-file` writes for node_exporter (documented with the backup).
FOREIGN = {"up", "atende_backup_last_success_timestamp_seconds"}


def fail(msg):
    print(f"check_metrics: {msg}", file=sys.stderr)
    sys.exit(1)


def registered():
    """The metric names the code registers, with the file that does."""
    found = {}
    pattern = re.compile(r'\b(?:counter|gauge|histogram)!\(\s*"(atende_[a-z0-9_]+)"')
    for path in sorted(SRC.rglob("*.rs")):
        for name in pattern.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, path.relative_to(ROOT))
    return found


def main():
    documented = set(re.findall(r"`(atende_[a-z0-9_]+)[`{]", DOCS.read_text(encoding="utf-8")))
    code = registered()
    if not code:
        fail("found no metric in src/ (has the registration macro changed?)")
    missing = sorted(f"{n} ({f})" for n, f in code.items() if n not in documented)
    if missing:
        fail("metrics the code registers but docs/operations.md does not list:\n  " + "\n  ".join(missing))
    dash = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = dash.get("panels") or fail("no panels")
    ids = [p["id"] for p in panels]
    if len(ids) != len(set(ids)):
        fail(f"duplicate panel ids: {ids}")
    cells = {}
    for p in panels:
        g = p["gridPos"]
        if g["x"] < 0 or g["w"] <= 0 or g["x"] + g["w"] > 24 or g["h"] <= 0:
            fail(f"panel {p['title']!r} is outside the 24-column grid: {g}")
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    fail(f"panels {cells[(x, y)]!r} and {p['title']!r} overlap at {(x, y)}")
                cells[(x, y)] = p["title"]
    exprs = []
    for p in panels:
        if p["datasource"].get("uid") != "${datasource}":
            fail(f"panel {p['title']!r} does not use the datasource variable")
        for t in p.get("targets") or fail(f"panel {p['title']!r} has no query"):
            expr = t["expr"]
            exprs.append(expr)
            for name in re.findall(r"\b(atende_[a-z0-9_]+|up)\b", expr):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                if base not in documented and base not in FOREIGN:
                    fail(f"panel {p['title']!r} reads {name}, which docs/operations.md does not list")
    # Each query evaluated by promtool on no data: a syntax error fails the "test".
    tests = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [],
                "promql_expr_test": [{"expr": e, "eval_time": "0m", "exp_samples": []} for e in exprs],
            }
        ],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        json.dump(tests, f)  # JSON is YAML
    run = subprocess.run(["promtool", "test", "rules", f.name], capture_output=True, text=True)
    Path(f.name).unlink()
    if run.returncode != 0:
        fail(f"promtool refused a query:\n{run.stdout}{run.stderr}")
    print(f"metrics: {len(code)} registered in src/, all documented; deploy/grafana/atende.json: "
          f"{len(panels)} panels, {len(exprs)} queries valid PromQL on documented metrics")


if __name__ == "__main__":
    main()
