"""CTC feasibility from the manifests alone: does each utterance have enough encoder frames for
its labels? Frames are what the model gives the manifest's duration (`ASRModel.output_frames`);
nothing is decoded."""

import torch
from omegaconf import DictConfig
from torch.nn.utils.rnn import pad_sequence

from asrlab.data.manifest import Utterance
from asrlab.model.contracts import Encoder
from asrlab.model.ctc import ctc_min_frames
from asrlab.model.module import ASRModel
from asrlab.training.preflight.findings import Finding


def stride_setting(encoder: Encoder, config: DictConfig) -> str:
    """The setting of the encoder's stride in its config `config`, as `encoder.KEY=VALUE`."""
    key = encoder.stride_argument
    return f"encoder.{key}={config[key] if key in config else encoder.stride}"


def feasibility(
    utterances: dict[str, list[Utterance]], model: ASRModel, sample_rate: int, stride_key: str
) -> Finding:
    """Every utterance whose encoder frames are fewer than its labels plus one blank between
    each repeated pair (CTC cannot align it; the loss skips it). Transcripts the model's
    tokenizer cannot encode, and empty ones, are left to the coverage check. `stride_key` says
    how the encoder's stride is set (`stride_setting`)."""
    tokenizer, stride = model.tokenizer, model.encoder.stride
    rows, total, max_strides = [], 0, []
    for split, utts in utterances.items():
        encodable, ids = [], []
        for utt in utts:
            try:
                tokens = tokenizer.encode(utt.text)
            except ValueError:
                continue
            if tokens:
                ids.append(torch.tensor(tokens, dtype=torch.long))
                encodable.append(utt)
        if not encodable:
            continue
        total += len(encodable)
        lengths = torch.tensor([len(i) for i in ids])
        needed = ctc_min_frames(pad_sequence(ids, batch_first=True), lengths)
        samples = torch.tensor([round(u.duration * sample_rate) for u in encodable])
        feature_frames = model.frontend.output_frames(samples)
        frames = model.output_frames(samples)
        for i in (frames < needed).nonzero().flatten().tolist():
            utt, n, t = encodable[i], int(needed[i]), int(feature_frames[i])
            rows.append(
                {
                    "split": split,
                    "id": utt.where,
                    "seconds": round(utt.duration, 3),
                    "frames": int(frames[i]),
                    "needed": n,
                    "text": utt.text,
                }
            )
            # The largest stride s with ceil(t / s) >= n.
            max_strides.append((t - 1) // (n - 1))
    if not total:
        return Finding("feasibility", "ok", "no encodable transcripts to check")
    if not rows:
        return Finding(
            "feasibility",
            "ok",
            f"all {total} encodable utterances have enough frames for CTC "
            f"(encoder stride {stride})",
        )
    rows.sort(key=lambda row: row["frames"] - row["needed"])
    return Finding(
        "feasibility",
        "fatal",
        f"{len(rows)} of {total} utterances have fewer encoder frames than CTC needs (labels + "
        f"repeated pairs) at encoder stride {stride}: the CTC loss skips them in training and "
        "CTC cannot recognise them",
        _fix(min(max_strides), stride, stride_key, sum(s == 0 for s in max_strides)),
        rows,
    )


def _fix(max_stride: int, stride: int, stride_key: str, too_short: int) -> str:
    """What would make the listed utterances feasible."""
    fewer_labels = "a BPE tokenizer (tokenizer=bpe: fewer labels per second)"
    drop = "or drop them from the manifests (listed with their lines)"
    if max_stride >= 1:
        return (
            f"an encoder stride of at most {max_stride} (now {stride_key}) fits them all; "
            f"or {fewer_labels}; {drop}"
        )
    return (
        f"{too_short} of them are too short even at stride 1: {fewer_labels}, {drop}; "
        f"a smaller stride (now {stride_key}) helps the others"
    )
