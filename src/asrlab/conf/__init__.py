"""Hydra configs: one folder per config group."""
