"""Private Numba kernels: arrays and scalars in, arrays out, no validation.

Public wrappers in :mod:`dynsys` validate their arguments, call a kernel and wrap its output
in a frozen result object (the layout of stumpy). Every kernel is compiled with
``cache=True`` and tested against a slow, readable twin in ``tests/``.

Layout. A kernel module is named after the family it serves, then its engine, so the kernels
of one family sort together and each sits beside the engine module that calls it:

``_common``
    what kernels share: the fixed-point count-table layout, filter codes and tolerance slots,
    the labelling rule in compiled form, the logistic activation, the pattern-walk steps of
    both fixed-point kernels.
``_linalg``
    small dense linear algebra: LU with complete pivoting, principal minors, Hessenberg QR
    eigenvalues, characteristic polynomials and Routh counts, the block solve of a pattern.
``fixed_points_enumeration``, ``fixed_points_incremental``, ``fixed_points_assembly``
    the fixed-point family (:mod:`dynsys._fixed_points`): its two pattern walks and the
    per-point pass over their stored rows.
``census``, ``layers``, ``ode``
    the attractor census, the layer maps, the integrators of the flow.

The two leading-underscore modules import nothing above them; a kernel module imports only
them, never another kernel module, and nothing in :mod:`dynsys._kernels` imports from
:mod:`dynsys` outside it.

Numba's cache keys a compiled kernel on its own file: a kernel that calls a function of
``_common`` or ``_linalg`` is not recompiled when only that file changes. After editing
either, delete ``dynsys/_kernels/__pycache__`` (or touch the kernel files) so the cached
kernels pick up the change.
"""
