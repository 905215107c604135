"""Cheap checks of the documentation sources (no Sphinx build).

The site is built with ``-W`` by ``make docs``; these tests catch, in the ordinary test run,
what a build on a machine with a network would hide: MathJax loaded from a CDN, and pages that
point at files a user who clones the repository does not have.
"""

import importlib
import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def conf():
    # conf.py inserts the repository root into sys.path and sets MPLBACKEND; both are harmless
    # in the test process (pytest already has the root on its path, conftest sets Agg).
    return runpy.run_path(str(DOCS / "conf.py"))


def test_mathjax_is_served_from_the_site(conf):
    path = conf["mathjax_path"]
    # Sphinx reads a path without a scheme as relative to the built site's _static folder
    assert "://" not in path and not path.startswith("//"), path
    assert path.startswith("mathjax/"), path
    assert "sphinx.ext.mathjax" in conf["extensions"]


def test_mathjax_files_exist(conf):
    source = conf["MATHJAX_SOURCE"]
    entry = conf["mathjax_path"].removeprefix("mathjax/")
    assert (source / entry).is_file()
    for part in conf["MATHJAX_PARTS"]:
        assert (source / part).exists(), part
    # the TeX extensions that MathJax's autoload fetches on demand, and its licence
    assert (source / "input" / "tex" / "extensions" / "ams.js").is_file()
    assert (source.parent / "LICENSE").is_file()


def test_build_hook_is_registered(conf):
    class App:
        def __init__(self):
            self.events = []

        def connect(self, event, callback):
            self.events.append((event, callback))

    app = App()
    conf["setup"](app)
    assert ("build-finished", conf["_copy_mathjax"]) in app.events


def test_build_hook_copies_mathjax(conf, tmp_path):
    class Builder:
        format = "html"

    class App:
        outdir = tmp_path
        builder = Builder()

    conf["_copy_mathjax"](App(), None)
    target = tmp_path / "_static" / conf["mathjax_path"]
    assert target.is_file()
    assert target.read_bytes() == (conf["MATHJAX_SOURCE"] / target.name).read_bytes()
    assert (tmp_path / "_static" / "mathjax" / "LICENSE").is_file()


# Front pages and the API reference: what a user reads first must not point at files outside
# the repository, nor at the project's issue tracker numbers.
FRONT_PAGES = [
    ROOT / "README.md",
    DOCS / "index.rst",
    DOCS / "getting_started.rst",
    *sorted((DOCS / "api").glob("*.rst")),
    DOCS / "howto" / "analyse_your_network.rst",
]
OUTSIDE = re.compile(
    r"\.\./shared|\bshared/|seeds/|REFERENCE\.md|ARCHITECTURE\.md|PERFORMANCE\.md"
    r"|\bissue\s*#?\d|#\d{1,4}\b|\(helper|\(lead\)",
    re.IGNORECASE,
)


@pytest.mark.parametrize("page", FRONT_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_front_pages_stay_inside_the_repository(page):
    text = page.read_text(encoding="utf-8")
    hits = [
        f"{i}: {line.strip()}"
        for i, line in enumerate(text.splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert not hits, hits


def test_readme_names_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text


# The API pages list their objects by hand, grouped by topic; every public name must be there.
AUTO = re.compile(
    r"^\.\. (?:auto(?:function|class|data|exception)|(?:py:)?data)::\s+(\S+)", re.MULTILINE
)


@pytest.mark.parametrize("package", ["dynsys", "nets", "analysis"])
def test_api_page_documents_every_public_name(package):
    module = importlib.import_module(package)
    text = (DOCS / "api" / f"{package}.rst").read_text(encoding="utf-8")
    documented = {name.removeprefix(f"{package}.") for name in AUTO.findall(text)}
    missing = sorted(set(module.__all__) - documented)
    assert not missing, f"docs/api/{package}.rst lacks {missing}"
