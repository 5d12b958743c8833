"""The AED positional encoding from the manifests alone: the longest training or validation
transcript (+ <eos>) checked against `head.max_positions` before training, not at the batch
that holds it."""

from asrlab.data.datamodule import ASRDataModule
from asrlab.data.manifest import read_manifest
from asrlab.model.heads.aed import AEDHead
from asrlab.model.module import ASRModel
from asrlab.training.preflight.joint import token_count


class PositionsError(ValueError):
    """A transcript longer than an attention head's positional encoding."""


def check_positions(datamodule: ASRDataModule, model: ASRModel) -> None:
    """With an attention head (aed, ctc_aed), raises PositionsError naming the manifest line of
    the longest transcript when its tokens and <eos> exceed `head.max_positions`."""
    if not isinstance(model.head, AEDHead):
        return
    skip = [] if datamodule.on_error == "skip" else None
    manifests = datamodule.source.prepare()
    for split in ("train", "val"):
        utterances = read_manifest(manifests[split], skip)
        counts = [token_count(model.tokenizer, u.text) for u in utterances]
        if counts and max(counts) + 1 > model.head.max_positions:
            longest = utterances[counts.index(max(counts))]
            raise PositionsError(
                f"{longest.where}: its transcript has {max(counts)} tokens (+ <eos>), more than "
                f"the attention head's positional encoding covers: raise head.max_positions "
                f"(now {model.head.max_positions}) or leave such utterances out"
            )
