"""cmcsl_core.views.embedding: PCA and cached UMAP views, and the shipped demo coordinates."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cmcsl_core.cache import cache_dir
from cmcsl_core.datasets.subsets import DATA_DIR
from cmcsl_core.method.preprocessing import PREPROCESSINGS
from cmcsl_core.views.embedding import cached_umap, fingerprint, pca_2d, shipped_embedding, umap_2d, umap_key


def blobs(n: int = 240, d: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centers = rng.normal(0, 6, (3, d))
    return centers[y] + rng.normal(0, 1, (n, d)), y


def test_pca_2d_finds_the_main_directions_deterministically() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 5)) * np.array([10.0, 3.0, 0.1, 0.1, 0.1])
    xy = pca_2d(X)
    assert xy.shape == (500, 2) and xy.dtype == np.float32
    assert np.var(xy[:, 0]) > np.var(xy[:, 1]) > 1.0
    # the first component follows the first feature (up to the fixed sign)
    assert abs(np.corrcoef(xy[:, 0], X[:, 0])[0, 1]) > 0.99
    assert np.array_equal(xy, pca_2d(X.copy()))
    assert np.array_equal(pca_2d(X[::-1])[::-1], xy)


def test_pca_2d_degenerate_inputs() -> None:
    assert np.all(pca_2d(np.ones((10, 3))) == 0)
    assert pca_2d(np.zeros((1, 4))).shape == (1, 2)
    with pytest.raises(ValueError):
        pca_2d(np.zeros(5))


def test_umap_key_depends_on_data_and_parameters() -> None:
    X, _ = blobs()
    assert umap_key(X) == umap_key(X.copy())
    assert umap_key(X) != umap_key(X + 1e-9)
    assert umap_key(X) != umap_key(X, random_state=1)
    assert umap_key(X) != umap_key(X, n_neighbors=5)


@pytest.mark.slow
def test_umap_2d_separates_blobs_and_is_cached_on_disk(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path / "cache"))  # empty: ./test's cache folder outlives a run
    monkeypatch.setenv("NUMBA_CACHE_DIR", os.environ.get("NUMBA_CACHE_DIR") or str(tmp_path / "numba"))
    X, y = blobs()
    key = umap_key(X, 7)
    assert cached_umap(key) is None
    xy = umap_2d(X, 7)
    assert xy.shape == (len(X), 2) and xy.dtype == np.float32
    # each blob stays together: nearest class centroid in 2-D recovers the labels
    centroids = np.stack([xy[y == k].mean(axis=0) for k in range(3)])
    pred = np.argmin(((xy[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=1)
    assert np.mean(pred == y) > 0.95
    assert (cache_dir() / f"{key}.npz").is_file()
    assert np.array_equal(cached_umap(key), xy)
    # a second call reads the cache: umap is not even imported
    import builtins

    real_import = builtins.__import__

    def no_umap(name, *args, **kwargs):
        if name == "umap":
            raise AssertionError("umap recomputed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_umap)
    assert np.array_equal(umap_2d(X, 7), xy)


def test_tiny_inputs_fall_back_to_pca() -> None:
    X = np.arange(6, dtype=float).reshape(3, 2)
    assert np.array_equal(umap_2d(X, cache=False), pca_2d(X))


def test_fingerprint_ignores_last_bit_noise_but_not_real_changes() -> None:
    X, _ = blobs()
    assert fingerprint(X) == fingerprint(X * (1 + 1e-13))
    assert fingerprint(X) != fingerprint(X + 0.01)
    assert fingerprint(X) != fingerprint(X[:-1])


def test_shipped_demo_hr_views_match_the_current_demo() -> None:
    """data/umap_demo_HR.npz must be regenerated (scripts/make_umap_demo.py) when the demo changes."""
    from cmcsl_core.datasets.sources import load_source

    fs = load_source("demo", "HR")
    path = DATA_DIR / "umap_demo_HR.npz"
    for pre in PREPROCESSINGS:
        for name, X in zip(fs.modality_names, fs.X):
            xy = shipped_embedding(path, f"{pre}__{name}", X)
            assert xy is not None, f"{pre}__{name} is stale or missing: run python scripts/make_umap_demo.py"
            assert xy.shape == (fs.n_items, 2) and np.all(np.isfinite(xy))
    # other data never gets these coordinates
    assert shipped_embedding(path, "l2std__visual", fs.X[0][:-1]) is None
    assert shipped_embedding(path, "nonexistent", fs.X[0]) is None
    assert shipped_embedding(DATA_DIR / "missing.npz", "l2std__visual", fs.X[0]) is None


@pytest.mark.slow
def test_umap_2d_reports_its_stages_and_uses_the_exact_neighbour_graph(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """From 4,096 items on, the neighbour graph is exact (scikit-learn) and handed to umap."""
    monkeypatch.setenv("CMCSL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NUMBA_CACHE_DIR", os.environ.get("NUMBA_CACHE_DIR") or str(tmp_path / "numba"))
    X, y = blobs(n=4200, d=8)
    stages: list[str] = []
    xy = umap_2d(X, 3, stage=stages.append)
    assert stages == ["loading umap (the first use on a machine compiles it)",
                      "finding the 15 nearest neighbours of 4,200 items", "laying out 4,200 items"]
    centroids = np.stack([xy[y == k].mean(axis=0) for k in range(3)])
    pred = np.argmin(((xy[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=1)
    assert np.mean(pred == y) > 0.95
    assert umap_key(X, 3) != umap_key(X, 3, knn="approximate")
