"""Optuna sweeps over asrlab's entry points: search spaces, pruners, studies and their plots;
the Hydra sweeper plugin (`hydra_plugins.asrlab_optuna_sweeper`) runs them."""
