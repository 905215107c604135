"""Write docs/reproduction.rst from a ``resdyn reproduce`` run (results.json + figures).

Usage (from the repository root)::

    .venv/bin/python docs/tools/make_reproduction_page.py results/demo

Copies the run's figures into ``docs/_static/reproduction/`` and fills
``docs/tools/reproduction.rst.in`` with the run's claims table, rules and settings, so the
Reproduction page always shows numbers a real run computed.
"""

import json
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]


def cell(s):
    return str(s).replace("\n", " ").replace("*", "\\*").replace("|", "\\|")


def main(run_dir):
    from analysis.reproduce import FIGURES

    run = Path(run_dir)
    res = json.loads((run / "results.json").read_text())
    static = DOCS / "_static" / "reproduction"
    static.mkdir(parents=True, exist_ok=True)
    for key, rel in res["figures"].items():
        shutil.copy(run / rel, static / f"{key}.png")
    rows = [
        "   * - ``%s``\n     - %s\n     - %s\n     - %s\n     - %s\n     - **%s**"
        % (c["id"], cell(c["claim"]), cell(c["source"]), cell(c["paper"]), cell(c["ours"]),
           c["verdict"])
        for c in res["claims"]
    ]
    rules = "\n".join(f"``{c['id']}``\n   {cell(c['rule'])}\n" for c in res["claims"])
    test_error = ", ".join(f"{k} {100 * v:.2f} %" for k, v in res["test_error"].items())
    counts = ", ".join(f"{n} {k}" for k, n in res["verdict_counts"].items())
    figures = "\n".join(
        f"{t}\n{'~' * len(t)}\n\n.. image:: _static/reproduction/{k}.png\n   :alt: {t}\n   :width: 100%\n"
        for k, t in FIGURES.items()
    )
    template = (DOCS / "tools" / "reproduction.rst.in").read_text()
    page = template.format(
        profile=res["profile"], dataset=res["dataset"], n_train=res["n_train"],
        n_test=res["n_test"], run_time=res["run_time_s"],
        reuse="reused its checkpoints and" if res["reused_checkpoints"] else "trained every network and", test_error=test_error, counts=counts,
        table="\n".join(rows), rules=rules, figures=figures,
        settings=", ".join(f"{k}={v}" for k, v in res["settings"].items()),
    )
    (DOCS / "reproduction.rst").write_text(page)
    return DOCS / "reproduction.rst"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_reproduction_page.py RUN_DIR")
    main(sys.argv[1])
