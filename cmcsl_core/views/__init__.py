"""2-d views of a modality's features for display: PCA at once, UMAP cached on disk."""
