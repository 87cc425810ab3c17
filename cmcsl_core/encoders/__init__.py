"""Encoders that turn images and texts into features (offline, cached on disk)."""
