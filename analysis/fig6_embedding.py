"""Fig. 6 of Lagzi (2018) and Fig. 1C-D of the NIPS 2018 submission "Compact representations and
pruning in residual networks": class structure.

Three analyses of the trajectories of the same labelled samples:

* :func:`compute_trajectory_embedding`: a 2-D embedding (PCA by default; t-SNE, or UMAP when
  installed) of whole residual trajectories and of the final cumulative signal x(T), scored
  by the leave-one-out 5-nearest-neighbour accuracy in the plane and the silhouette score;
* :func:`compute_class_cosine_similarity`: the class-by-class average cosine similarity of final
  hidden layers (Fig. 6B-C); self-pairs are excluded on the diagonal;
* :func:`compute_trajectory_distances`: the l2 distance between whole trajectories, averaged
  per pair of classes ("normalized by the number of samples", the submission's Fig. 1C), and
  the ratio of the mean within-class distance to the mean between-class distance (< 1:
  classes separate).

Each ``compute_*`` has a ``plot_*`` twin that draws its result. A 3-D array is a trajectory
(T, B, N), as :func:`dynsys.iterate` records it; a 2-D array holds one feature row per
sample (B, D).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._common import ShortRepr, as_labels, frozen_copy

__all__ = [
    "EmbeddingResult", "compute_trajectory_embedding", "plot_trajectory_embedding",
    "CosineSimilarityResult", "compute_class_cosine_similarity", "plot_class_cosine_similarity",
    "TrajectoryDistanceResult", "compute_trajectory_distances", "plot_trajectory_distances",
]


def _flat(A):
    """One row per sample: (T, B, N) -> (B, T N); (B, D) stays."""
    A = np.asarray(A, dtype=np.float64)
    if A.ndim == 3:
        A = np.moveaxis(A, 1, 0)
    elif A.ndim != 2:
        raise ValueError(f"expected a trajectory (T, B, N) or features (B, D); got shape "
                         f"{A.shape}.")
    return A.reshape(A.shape[0], -1)


# --------------------------------------------------------------------------- embedding
def _embed(X, method, seed):
    from sklearn.decomposition import PCA

    Xc = X - X.mean(axis=0)
    n_pc = min(50, Xc.shape[0] - 1, Xc.shape[1])
    if method == "pca" or n_pc < 2:
        return PCA(n_components=2, svd_solver="randomized", random_state=seed).fit_transform(Xc)
    Z = PCA(n_components=n_pc, svd_solver="randomized", random_state=seed).fit_transform(Xc)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perp = float(min(30.0, max(2.0, (Z.shape[0] - 1) / 3.0)))
        return TSNE(n_components=2, perplexity=perp, init="pca", random_state=seed).fit_transform(Z)
    if method == "umap":
        import umap  # optional dependency; the first import takes ~30 s

        return umap.UMAP(n_components=2, random_state=seed).fit_transform(Z)
    raise ValueError(f"`method` must be one of 'pca', 'tsne', 'umap'; got {method!r}.")


def _knn_accuracy(E, labels, k=5):
    d = ((E[:, None, :] - E[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    k = min(k, E.shape[0] - 1)
    nn = np.argpartition(d, k, axis=1)[:, :k]
    votes = labels[nn]
    pred = np.array([np.bincount(v).argmax() for v in votes])
    return float(np.mean(pred == labels))


@dataclass(frozen=True, repr=False)
class EmbeddingResult(ShortRepr):
    """Result of :func:`compute_trajectory_embedding` (one entry per embedded representation;
    ``embeddings[name]`` is (B, 2), ``labels`` (B,))."""

    method: str
    embeddings: dict = field(repr=False)
    labels: np.ndarray = field(repr=False)
    knn_accuracy: dict
    silhouette: dict


def compute_trajectory_embedding(representations, labels, *, method: str = "pca", seed: int = 0):
    """2-D embedding of each representation, coloured by class (Fig. 6A, 003 Fig. 1D).

    Parameters
    ----------
    representations : dict of str -> array_like, shape (T, B, N) or (B, D)
        For example ``{"residual trajectories": Y, "x(T)": xT}``; each sample's trajectory is
        flattened to one row.
    labels : array_like of int, shape (B,)
    method : {"pca", "tsne", "umap"}
    seed : int

    Returns
    -------
    EmbeddingResult
    """
    from sklearn.metrics import silhouette_score

    emb, knn, sil = {}, {}, {}
    lab = None
    for name, R in representations.items():
        X = _flat(R)
        lab = as_labels(labels, X.shape[0])
        E = _embed(X, method, seed)
        emb[name] = frozen_copy(E)
        knn[name] = _knn_accuracy(E, lab)
        sil[name] = float(silhouette_score(E, lab)) if len(np.unique(lab)) > 1 else float("nan")
    return EmbeddingResult(method=method, embeddings=emb, labels=frozen_copy(lab),
                           knn_accuracy=knn, silhouette=sil)


def plot_trajectory_embedding(result: EmbeddingResult):
    """Fig. 6A from an :class:`EmbeddingResult`: one scatter per representation."""
    from ._style import class_color, new_figure

    emb, lab, knn, sil, method = (result.embeddings, result.labels, result.knn_accuracy,
                                  result.silhouette, result.method)
    fig = new_figure(5.2 * len(emb), 4.8)
    axes = fig.subplots(1, len(emb), squeeze=False)[0]
    classes = np.unique(lab)
    for ax, (name, E) in zip(axes, emb.items()):
        for c in classes:
            m = lab == c
            ax.scatter(E[m, 0], E[m, 1], s=6, color=class_color(c), label=str(c), alpha=0.75)
        ax.set_title(f"{name}\n5-NN accuracy {knn[name]:.2f}, silhouette {sil[name]:.2f}")
        ax.set_xlabel(f"{method.upper()} 1 (arbitrary units)")
        ax.set_ylabel(f"{method.upper()} 2 (arbitrary units)")
    axes[-1].legend(title="class", fontsize="x-small", markerscale=2, ncol=2)
    fig.suptitle("Fig. 6A / submission Fig. 1D: 2-D embedding, one point per sample")
    return fig


# --------------------------------------------------------------------------- cosine
def _cosine_matrix(H, labels, classes):
    U = H / np.maximum(np.linalg.norm(H, axis=1, keepdims=True), 1e-300)
    C = len(classes)
    S = np.zeros((C, C))
    sums = np.stack([U[labels == c].sum(axis=0) for c in classes])
    counts = np.array([np.sum(labels == c) for c in classes], dtype=float)
    for i in range(C):
        for j in range(C):
            if i == j:
                n = counts[i]
                S[i, i] = (sums[i] @ sums[i] - n) / (n * (n - 1)) if n > 1 else 1.0
            else:
                S[i, j] = sums[i] @ sums[j] / (counts[i] * counts[j])
    return S


@dataclass(frozen=True, repr=False)
class CosineSimilarityResult(ShortRepr):
    """Result of :func:`compute_class_cosine_similarity` (``matrices[name]`` is (C, C)).

    ``diag_is_row_max[name]``: every row's largest entry is on the diagonal;
    ``contrast[name]``: mean diagonal minus mean off-diagonal entry.
    """

    classes: tuple
    matrices: dict = field(repr=False)
    diag_is_row_max: dict
    n_rows_diag_max: dict
    contrast: dict


def compute_class_cosine_similarity(final_hidden, labels):
    """Class-by-class average cosine similarity of final hidden layers (Fig. 6B-C).

    Parameters
    ----------
    final_hidden : dict of str -> array_like, shape (B, N)
        For example ``{"resnet_shared": xT, "mlp": yT}``.
    labels : array_like of int, shape (B,)

    Returns
    -------
    CosineSimilarityResult
    """
    mats, diag_max, nrows, contrast = {}, {}, {}, {}
    classes = None
    for name, H in final_hidden.items():
        H = _flat(H)
        lab = as_labels(labels, H.shape[0])
        classes = np.unique(lab)
        S = _cosine_matrix(H, lab, classes)
        mats[name] = frozen_copy(S)
        rows = np.argmax(S, axis=1) == np.arange(len(classes))
        nrows[name] = int(rows.sum())
        diag_max[name] = bool(rows.all())
        off = S[~np.eye(len(classes), dtype=bool)]
        contrast[name] = float(np.mean(np.diag(S)) - (off.mean() if off.size else 0.0))
    return CosineSimilarityResult(classes=tuple(int(c) for c in classes), matrices=mats,
                                  diag_is_row_max=diag_max, n_rows_diag_max=nrows,
                                  contrast=contrast)


def plot_class_cosine_similarity(result: CosineSimilarityResult):
    """Fig. 6B-C from a :class:`CosineSimilarityResult`."""
    from ._style import new_figure

    mats, classes, contrast, nrows = (result.matrices, result.classes, result.contrast,
                                      result.n_rows_diag_max)
    fig = new_figure(5.0 * len(mats), 4.4)
    axes = fig.subplots(1, len(mats), squeeze=False)[0]
    for ax, (name, S) in zip(axes, mats.items()):
        im = ax.imshow(S, cmap="magma", vmin=min(0.0, float(S.min())), vmax=1)
        ax.set_xticks(range(len(classes)), [str(c) for c in classes])
        ax.set_yticks(range(len(classes)), [str(c) for c in classes])
        ax.set_xlabel("class")
        ax.set_ylabel("class")
        ax.set_title(f"{name}: diag - off-diag = {contrast[name]:.3f}\n"
                     f"diagonal is row max in {nrows[name]}/{len(classes)} rows")
        fig.colorbar(im, ax=ax, label="mean cosine similarity")
    fig.suptitle("Fig. 6B-C: class-by-class cosine similarity of final hidden layers")
    return fig


# --------------------------------------------------------------------------- distances
@dataclass(frozen=True, repr=False)
class TrajectoryDistanceResult(ShortRepr):
    """Result of :func:`compute_trajectory_distances`.

    ``class_distance[c, d]``: mean l2 distance between trajectories of class c and class d
    (self-pairs excluded); ``ratio``: mean within-class over mean between-class distance;
    ``n_rows_diag_min``: rows whose smallest entry is the diagonal.
    """

    classes: tuple
    class_distance: np.ndarray = field(repr=False)
    within: float
    between: float
    ratio: float
    n_rows_diag_min: int
    sample_distance: np.ndarray = field(repr=False)


def compute_trajectory_distances(trajectories, labels, *, max_image: int = 2000):
    """Pairwise l2 distances between whole trajectories (the submission's Fig. 1C).

    Parameters
    ----------
    trajectories : array_like, shape (T, B, N) or (B, D)
    labels : array_like of int, shape (B,)
    max_image : int
        At most this many samples (sorted by class) are kept in ``sample_distance``, the
        sample-level distance image.

    Returns
    -------
    TrajectoryDistanceResult
    """
    X = _flat(trajectories)
    lab = as_labels(labels, X.shape[0])
    order = np.argsort(lab, kind="stable")
    X, lab = X[order], lab[order]
    sq = np.einsum("ij,ij->i", X, X)
    D = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * (X @ X.T), 0.0))
    np.fill_diagonal(D, 0.0)
    classes = np.unique(lab)
    C = len(classes)
    M = np.zeros((C, C))
    for i, c in enumerate(classes):
        mi = lab == c
        for j, d in enumerate(classes):
            mj = lab == d
            block = D[np.ix_(mi, mj)]
            if i == j:
                n = block.shape[0]
                M[i, j] = block.sum() / (n * (n - 1)) if n > 1 else 0.0
            else:
                M[i, j] = block.mean()
    within = float(np.mean(np.diag(M)))
    off = M[~np.eye(C, dtype=bool)]
    between = float(off.mean()) if off.size else float("nan")
    n_min = int(np.sum(np.argmin(M, axis=1) == np.arange(C)))
    step = max(1, int(np.ceil(D.shape[0] / max_image)))
    return TrajectoryDistanceResult(classes=tuple(int(c) for c in classes),
                                    class_distance=frozen_copy(M), within=within, between=between,
                                    ratio=float(within / between) if between > 0 else float("nan"),
                                    n_rows_diag_min=n_min,
                                    sample_distance=frozen_copy(D[::step, ::step]))


def plot_trajectory_distances(result: TrajectoryDistanceResult):
    """The submission's Fig. 1C from a :class:`TrajectoryDistanceResult`."""
    from ._style import new_figure

    M, classes, within, between = (result.class_distance, result.classes, result.within,
                                   result.between)
    C = len(classes)
    fig = new_figure(11, 4.6)
    ax1, ax2 = fig.subplots(1, 2)
    im = ax1.imshow(result.sample_distance, cmap="viridis", interpolation="nearest")
    ax1.set_title("distance between samples (sorted by class)")
    ax1.set_xlabel("sample (sorted by class)")
    ax1.set_ylabel("sample (sorted by class)")
    fig.colorbar(im, ax=ax1, label="l2 distance between trajectories")
    im = ax2.imshow(M, cmap="viridis")
    ax2.set_xticks(range(C), [str(c) for c in classes])
    ax2.set_yticks(range(C), [str(c) for c in classes])
    ax2.set_xlabel("class")
    ax2.set_ylabel("class")
    ax2.set_title(f"mean distance per class pair; within/between = {within / between:.3f}")
    fig.colorbar(im, ax=ax2, label="mean l2 distance")
    fig.suptitle("Submission Fig. 1C: l2 distance between whole residual trajectories")
    return fig
