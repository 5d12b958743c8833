"""The RNN-T joint size from the manifests alone: B x T' x (U+1) x V float32 of the batch that
holds the longest training utterance, checked against `head.max_joint_bytes` before training."""

import torch

from asrlab.data.datamodule import ASRDataModule
from asrlab.data.manifest import read_manifest
from asrlab.model.heads.rnnt import RNNTHead
from asrlab.model.module import ASRModel
from asrlab.text.tokenizer import Tokenizer


def check_joint_size(datamodule: ASRDataModule, model: ASRModel) -> None:
    """With an RNN-T head, raises JointTooLargeError (naming the knobs) when the longest
    training utterance and the longest transcript, in a batch as large as the data config's
    bounds allow (data.batch_size, data.max_frames_per_batch), would exceed max_joint_bytes."""
    if not isinstance(model.head, RNNTHead):
        return
    skip = [] if datamodule.on_error == "skip" else None
    utterances = read_manifest(datamodule.source.prepare()["train"], skip)
    if not utterances:
        return
    samples = torch.tensor([round(u.duration * datamodule.sample_rate) for u in utterances])
    longest = int(samples.max())
    tokens = max(token_count(model.tokenizer, u.text) for u in utterances)
    batch_size = datamodule.batch_size
    if datamodule.max_frames_per_batch:
        feature_frames = int(datamodule.frames_of(torch.tensor([longest]))[0])
        batch_size = min(batch_size, max(1, datamodule.max_frames_per_batch // feature_frames))
    frames = int(model.output_frames(torch.tensor([longest]))[0])
    model.head.check_joint_size(batch_size, frames, tokens)


def token_count(tokenizer: Tokenizer, text: str) -> int:
    """Tokens of `text`; 0 for a text the tokenizer cannot encode (the coverage check's)."""
    try:
        return len(tokenizer.encode(text))
    except ValueError:
        return 0
