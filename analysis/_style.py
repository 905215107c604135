"""One palette and one figure factory for every figure of :mod:`analysis`.

Figures are built with :class:`matplotlib.figure.Figure` directly (Agg canvas), never through
``pyplot``: no global figure registry, no state shared between calls, safe in threads and in
headless CI. matplotlib is imported only when a figure is drawn, so the ``compute_*`` half of
every analysis runs without it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["class_color", "class_colors", "NET_COLORS", "new_figure", "class_legend"]

# tab10 for up to 10 classes (the MNIST digits keep the same colour in every figure);
# tab20 beyond that.
_TAB10 = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]

#: Colours of the three networks compared throughout (ResNet shared, ResNet per-layer, MLP).
NET_COLORS = {"resnet_shared": "#1b9e77", "resnet_variable": "#7570b3", "mlp": "#d95f02"}


def class_color(k: int) -> str:
    """The colour of class `k` (an integer label), the same in every figure."""
    k = int(k)
    if 0 <= k < 10:
        return _TAB10[k]
    import matplotlib as mpl
    from matplotlib.colors import to_hex

    return to_hex(mpl.colormaps["tab20"]((k % 20) / 20.0))


def class_colors(n_classes: int) -> list[str]:
    """Colours of classes ``0 .. n_classes - 1``."""
    return [class_color(k) for k in range(int(n_classes))]


def new_figure(width: float = 8.0, height: float = 5.0, **kwargs):
    """A new Agg-backed :class:`~matplotlib.figure.Figure` (not registered with pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained", **kwargs)
    FigureCanvasAgg(fig)
    return fig


def class_legend(ax, classes, *, title: str = "class", **kwargs) -> None:
    """A legend of coloured patches, one per class label in `classes`."""
    from matplotlib.patches import Patch

    handles = [Patch(color=class_color(c), label=str(c)) for c in np.asarray(classes).tolist()]
    ax.legend(handles=handles, title=title, fontsize="small", ncol=2, **kwargs)
