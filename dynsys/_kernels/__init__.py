"""Private Numba kernels: arrays and scalars in, arrays out, no validation.

Public wrappers in :mod:`dynsys` validate their arguments, call a kernel and wrap its output
in a frozen result object (the layout of stumpy). Every kernel is compiled with
``cache=True`` and tested against a slow, readable twin in ``tests/``.
"""
