"""Data: the feature-file format, the paper's subsets and published results, and the
sources that build feature files (built-in demo, MM-IMDb hdf5 / w4k2 / raw archive)."""
