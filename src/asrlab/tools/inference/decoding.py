"""The decoder that turns a checkpoint's head scores into text: for a CTC head its own decoder or
another config's; any other head decodes its own scores."""

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
    is `run_cfg` (`asrlab.decoders.resolve.for_trained_run`). A head other than CTC is its own
    decoder (`Head.decode`, with its training options) and takes no `decoder`."""
    if not isinstance(model.head, CTCHead):
        if decoder is not None:
            raise ValueError(
                f"decoder=...: a {type(model.head).__name__} head decodes its own outputs; "
                "decoders apply to CTC heads (leave decoder out)"
            )
        return model.head
    if decoder is None:
        return model.head.decoder
    decoder = for_trained_run(decoder, "decoder", checkpoint, run_cfg)
    return instantiate(decoder)(tokenizer=model.tokenizer)
