"""Sphinx configuration for resdyn (built offline with warnings as errors)."""

import importlib.util
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("MPLBACKEND", "Agg")

project = "resdyn"
author = "the resdyn developers"
copyright = "2026, the resdyn developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
]

# numpydoc-style docstrings through napoleon; Attributes as :ivar: fields so that frozen
# dataclass fields are not documented twice (once by the docstring, once by autodoc).
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_ivar = True
napoleon_use_rtype = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"members": True}

# MathJax is served from the built site itself, so that equations render without a network
# (a reader who opens docs/_build/html from disk, or a site mirrored behind a firewall). The
# files come from the PyPI package django-static-mathjax (MathJax 3.2.2, Apache-2.0, in the docs
# extra). The SVG output carries its glyphs inside the script, so the page needs no web-font
# files and does not depend on how a browser treats font loads from file:// pages.
MATHJAX_ENTRY = "tex-svg.js"
# What tex-svg.js loads on demand: TeX extensions (autoload), the menu, accessibility and the
# speech rule engine. The other combined bundles and the CHTML fonts are not needed.
MATHJAX_PARTS = (MATHJAX_ENTRY, "a11y", "adaptors", "input", "output/svg", "sre", "ui")


def mathjax_source():
    """The folder of MathJax's browser build (``es5``) inside the installed package."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "the docs serve MathJax locally from the package `django-static-mathjax`; "
            "install the docs extra: pip install -e '.[docs]'"
        )
    es5 = Path(spec.origin).parent / "static" / "mathjax" / "es5"
    if not (es5 / MATHJAX_ENTRY).is_file():
        raise RuntimeError(f"`mathjax` package at {es5.parent} has no es5/{MATHJAX_ENTRY}")
    return es5


MATHJAX_SOURCE = mathjax_source()
# relative to _static of the built site (Sphinx's rule for a path without a scheme)
mathjax_path = f"mathjax/{MATHJAX_ENTRY}"

exclude_patterns = ["_build", "examples", "tools", "**/README.rst.txt"]
templates_path = []
html_static_path = ["_static"]
html_theme = "furo"
html_title = "resdyn"

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "plot_gallery": "True",
}

suppress_warnings = ["config.cache"]


def _copy_mathjax(app, exception):
    """Copy the MathJax parts into ``_static/mathjax`` of an HTML build."""
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        source = MATHJAX_SOURCE / part
        destination = target / part
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    shutil.copy2(MATHJAX_SOURCE.parent / "LICENSE", target / "LICENSE")


def setup(app):
    app.connect("build-finished", _copy_mathjax)
