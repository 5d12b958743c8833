"""The decoder that turns a checkpoint's CTC log-probs into text: its own or another config's."""

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from asrlab.decoders.resolve import for_trained_run
from asrlab.model.contracts import Decoder
from asrlab.model.heads.ctc import CTCHead
from asrlab.model.module import ASRModel


def choose_decoder(
    model: ASRModel, decoder: DictConfig | None, checkpoint: Path, run_cfg: DictConfig
) -> Decoder:
    """The model's own decoder, or the `decoder` config (partial, as in training) built with its
    tokenizer; its fitted parts (`lm: train`) are those of the run of `checkpoint`, whose config
    is `run_cfg` (`asrlab.decoders.resolve.for_trained_run`)."""
    if not isinstance(model.head, CTCHead):
        raise ValueError(
            f"transcribing needs a CTC model; this checkpoint's head is a "
            f"{type(model.head).__name__} (head=ctc when training)"
        )
    if decoder is None:
        return model.head.decoder
    decoder = for_trained_run(decoder, "decoder", checkpoint, run_cfg)
    return instantiate(decoder)(tokenizer=model.tokenizer)
