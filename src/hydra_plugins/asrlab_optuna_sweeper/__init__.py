"""asrlab's Hydra sweeper for Optuna (`hydra/sweeper: asrlab_optuna`); Hydra finds it in the
`hydra_plugins` namespace package. The sweep itself is `asrlab.tools.sweeping.sweeper`."""
