"""The search-space syntax of docs/sweeps.md and the conf/hparams_search configs, parsed to
Optuna distributions, and the bad spaces refused before any trial starts."""

import pytest
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from asrlab.tools.sweeping.space import SweepConfigError, search_space, trial_overrides

CONFIG = OmegaConf.create(
    {
        "optimizer": {"lr": 0.001},
        "encoder": {"hidden_size": 64, "dropout": 0.1, "num_layers": 2},
        "hydra": {"runtime": {"choices": {"encoder": "gru"}}},
    }
)


def test_the_documented_syntax_parses_to_the_same_distributions() -> None:
    space, fixed = search_space(
        [
            "optimizer.lr=tag(log, interval(0.0005, 0.01))",
            "encoder.hidden_size=choice(64, 128, 192)",
            "encoder.dropout=interval(0.0, 0.3)",
            "encoder.num_layers=range(1, 4)",
            "encoder=lstm,gru",
            "+note=choice(a,'b c')",
            "encoder.dropout=interval(0.0,0.5)",  # the command line's replaces the config's
            "optimizer.lr=0.003",  # a value fixes the parameter
        ],
        CONFIG,
    )
    assert space == {
        "encoder.hidden_size": CategoricalDistribution([64, 128, 192]),
        "encoder.num_layers": IntDistribution(1, 4),
        "encoder": CategoricalDistribution(["lstm", "gru"]),
        "+note": CategoricalDistribution(["a", "b c"]),
        "encoder.dropout": FloatDistribution(0.0, 0.5),
    }
    assert fixed == {"optimizer.lr": "0.003"}
    log_space, _ = search_space(["optimizer.lr=tag(log,interval(0.0005,0.01))"], CONFIG)
    assert log_space["optimizer.lr"] == FloatDistribution(0.0005, 0.01, log=True)
    float_range, _ = search_space(["encoder.dropout=range(0.0,0.3,0.1)"], CONFIG)
    assert float_range["encoder.dropout"] == FloatDistribution(0.0, 0.3, step=0.1)
    trial = {"encoder": "lstm", "+note": "b c", "encoder.hidden_size": 64}
    overrides = ["encoder=lstm", "+note='b c'", "encoder.hidden_size=64", "optimizer.lr=0.003"]
    assert trial_overrides(trial, fixed) == overrides


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optimizer.lrr=interval(0.1,1.0)", "optimizer.lrr is not in the config"),
        ("encoder.dropout=choice()", "empty choice is not legal"),
        ("optimizer.lr=tag(log,interval(0.0,0.01))", "a log interval must start above 0"),
        ("optimizer.lr=interval(0.1,0.01)", "an interval must start below its end"),
    ],
)
def test_a_bad_search_space_is_named(override: str, message: str) -> None:
    with pytest.raises(SweepConfigError, match=message) as raised:
        search_space([override], CONFIG)
    assert override.split("=")[0] in str(raised.value) and "\n" not in str(raised.value)
