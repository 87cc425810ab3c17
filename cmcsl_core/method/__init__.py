"""The method itself: preprocessing, seed drawing, nearest-seed labeling per modality and
across modalities (CMCSL), and the scikit-learn style estimator."""
