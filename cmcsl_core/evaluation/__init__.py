"""The paper's evaluation protocol: 5 x 2 CV BAC curves over b_class, the methods and
baselines, their statistics (5x2 CV F-test, Wilcoxon, ranks) and metrics."""
