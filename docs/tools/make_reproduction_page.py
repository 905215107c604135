"""Write a Reproduction page from a ``resdyn reproduce`` run (results.json + figures).

Usage (from the repository root)::

    .venv/bin/python docs/tools/make_reproduction_page.py results/mnist5k
    .venv/bin/python docs/tools/make_reproduction_page.py results/fashion_full \\
        --page reproduction_fashion --title "Reproduction on Fashion-MNIST" \\
        --remarks docs/tools/reproduction_fashion_remarks.rst

The first form writes ``docs/reproduction.rst`` from ``docs/tools/reproduction.rst.in`` (the
main page: how to run, profiles, choices, verdicts, one full report). The second writes
``docs/<page>.rst`` from ``docs/tools/reproduction_run.rst.in``: the report of a further run,
with optional hand-written remarks placed above its table. Figures go to
``docs/_static/<page>/``. Every number on either page comes from the run's ``results.json``.
"""

import argparse
import json
import shutil
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]


def cell(s):
    """One table cell: no line breaks, no rst markup characters."""
    return str(s).replace("\n", " ").replace("*", "\\*").replace("|", "\\|")


def duration(seconds):
    """'1 h 32 min', '9 min 18 s'."""
    s = int(round(seconds))
    h, m, s = s // 3600, (s % 3600) // 60, s % 60
    return f"{h} h {m} min" if h else f"{m} min {s} s"


def fields(run, res, page):
    """Template fields shared by both page kinds."""
    from analysis.reproduce import FIGURES

    static = DOCS / "_static" / page
    static.mkdir(parents=True, exist_ok=True)
    for key, rel in res["figures"].items():
        shutil.copy(run / rel, static / f"{key}.png")
    rows = [
        "   * - ``%s``\n     - %s\n     - %s\n     - %s\n     - %s\n     - **%s**"
        % (c["id"], cell(c["claim"]), cell(c["source"]), cell(c["paper"]), cell(c["ours"]),
           c["verdict"])
        for c in res["claims"]
    ]
    figures = "\n".join(
        f"{t}\n{'~' * len(t)}\n\n.. image:: _static/{page}/{k}.png\n   :alt: {t}\n   :width: 100%\n"
        for k, t in FIGURES.items() if k in res["figures"]
    )
    return dict(
        profile=res["profile"], dataset=res["dataset"], n_train=res["n_train"],
        n_test=res["n_test"], run_time=res["run_time_s"],
        run_time_text=duration(res["run_time_s"]),
        reuse=(f"reused its checkpoints and {len(res['reused_stages'])} finished stages of an "
               "earlier run (whose times they keep) and" if res.get("reused_stages")
               else "reused its checkpoints and" if res["reused_checkpoints"]
               else f"trained every network ({res['training_workers']} at a time, one torch "
               "thread each) and" if res.get("training_workers", 1) > 1
               else "trained every network and"),
        test_error=", ".join(f"{k} {100 * v:.2f} %" for k, v in res["test_error"].items())
        + ("; scikit-learn on the same split (default settings): "
           + ", ".join(f"{k} {100 * v:.2f} %" for k, v in res["baselines"].items())
           if res.get("baselines") else ""),
        banner=(f".. note::\n\n   {cell(res['banner'].replace('**', ''))}\n"
                if res.get("banner") else ""),
        counts=", ".join(f"{n} {k}" for k, n in res["verdict_counts"].items()),
        table="\n".join(rows),
        rules="\n".join(f"``{c['id']}``\n   {cell(c['rule'])}\n" for c in res["claims"]),
        figures=figures,
        settings=", ".join(f"{k}={v}" for k, v in res["settings"].items()),
        stages=("Time by stage: " + ", ".join(f"{k} {duration(v)}"
                                              for k, v in res["stage_times_s"].items()) + "."
                if res.get("stage_times_s") else ""),
    )


def main(run_dir, page="reproduction", title=None, remarks=None):
    run = Path(run_dir)
    res = json.loads((run / "results.json").read_text())
    f = fields(run, res, page)
    if page == "reproduction":
        template = (DOCS / "tools" / "reproduction.rst.in").read_text()
    else:
        template = (DOCS / "tools" / "reproduction_run.rst.in").read_text()
        title = title or f"Reproduction: {res['profile']} run on {res['dataset']}"
        quick = {"full": "", "quick": " --quick"}.get(res["profile"], f" --profile {res['profile']}")
        f.update(
            title=title, title_rule="=" * len(title),
            command=f"resdyn reproduce{quick} --dataset {res['dataset']} --out {run}",
            remarks=Path(remarks).read_text().strip() if remarks else "",
        )
    out = DOCS / f"{page}.rst"
    out.write_text(template.format(**f))
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--page", default="reproduction")
    ap.add_argument("--title")
    ap.add_argument("--remarks", help="an rst file placed above the claims table")
    a = ap.parse_args()
    print(main(a.run_dir, a.page, a.title, a.remarks))
