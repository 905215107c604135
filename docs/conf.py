"""Sphinx configuration for resdyn (built offline with warnings as errors)."""

import os
import sys

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
autodoc_default_options = {"members": True, "show-inheritance": False}

# MathJax is loaded from a CDN by the reader's browser; the build itself is offline.
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
