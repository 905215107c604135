"""The one progress bar of the analyses and the command line.

:mod:`dynsys` draws no bars: its long computations take a callable ``progress(done, total)``.
:class:`ProgressBar` is such a callable that drives a tqdm bar on stderr.
"""

from __future__ import annotations


class ProgressBar:
    """A ``progress(done, total)`` callable that drives a tqdm bar on stderr.

    The bar is created at the first call (when the total is known) and closed by
    :meth:`close` or at the end of a ``with`` block.
    """

    def __init__(self, desc: str, unit: str = "it"):
        self.desc = desc
        self.unit = unit
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm.auto import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, desc=self.desc, unit=self.unit)
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
