"""Base classifiers trained on (pseudo-)labels: the fast batched Gaussian naive Bayes, and
scikit-learn's logistic regression and decision tree with the authors' settings."""
