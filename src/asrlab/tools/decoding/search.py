"""asrlab-decode's `search` settings: a head that decodes its own scores (rnnt, aed, ctc_aed,
classifier), rebuilt with them around its trained weights.

`search.KEY` sets the head config key `SEARCH_KEYS` maps it to; `search.lm: train` is the n-gram
LM of the run's training transcripts, as for a CTC decoder (`asrlab.decoders.resolve`).
"""

from pathlib import Path
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from asrlab.decoders.resolve import DecoderConfigError, for_trained_run
from asrlab.model.contracts import Head
from asrlab.model.heads.aed import AEDHead
from asrlab.model.heads.classifier import ClassifierHead
from asrlab.model.heads.ctc_aed import CTCAEDHead
from asrlab.model.heads.rnnt import RNNTHead
from asrlab.model.module import ASRModel
from asrlab.tools.evaluation.inputs import EvaluationError

# Per head, each `search` key it takes -> the head config key it sets.
SEARCH_KEYS: dict[type[nn.Module], dict[str, str]] = {
    RNNTHead: {"beam_size": "beam_size"},
    AEDHead: {"beam_size": "beam_size", "length_penalty": "length_penalty"},
    CTCAEDHead: {
        "beam_size": "beam_size",
        "ctc_weight": "decode_ctc_weight",
        "lm": "lm",
        "lm_weight": "lm_weight",
    },
    ClassifierHead: {},
}


def given(search: DictConfig | None) -> dict[str, Any]:
    """The `search` settings given (null: the head's own)."""
    settings = OmegaConf.to_container(search, resolve=True) if search else {}
    return {key: value for key, value in settings.items() if value is not None}


def searching_head(
    model: ASRModel,
    run_cfg: DictConfig,
    settings: dict[str, Any],
    checkpoint: Path,
    lm: DictConfig,
    cache_dir: Path,
) -> tuple[Head, DictConfig]:
    """`model`'s head with `settings` (from `given`), and its config: the trained head itself
    without settings, else one built from the run's `head` config with them in place (`lm:
    train` is the `lm` config's LM, cached in `cache_dir`) and the trained weights, in eval mode.
    `EvaluationError` names a setting the head's search does not take or refuses."""
    name = type(model.head).__name__
    keys = SEARCH_KEYS.get(type(model.head))
    if keys is None:
        raise EvaluationError(f"asrlab-decode cannot decode a {name} head")
    if not settings:
        return model.head, run_cfg.head
    for key in settings:
        if key not in keys:
            takes = ", ".join(f"search.{k}" for k in keys) or "no search settings"
            raise EvaluationError(f"search.{key}: a {name} head's search takes {takes}")
    head = OmegaConf.merge(run_cfg.head, {keys[key]: value for key, value in settings.items()})
    shown = " ".join(f"search.{key}={value}" for key, value in settings.items())
    try:
        head = for_trained_run(head, "search", checkpoint, run_cfg, lm, cache_dir)
        rebuilt = instantiate(head, input_dim=model.encoder.output_dim, tokenizer=model.tokenizer)
    except DecoderConfigError as err:
        raise EvaluationError(str(err)) from None
    except InstantiationException as err:  # the head's own ValueError, wrapped by Hydra
        raise EvaluationError(f"{shown}: {err.__cause__ or err}") from None
    rebuilt.load_state_dict(model.head.state_dict())
    return rebuilt.to(model.device).eval(), head
