"""The probe view: a fixed set of validation utterances in the run's loggers, every validation
epoch (TensorBoard, MLflow, W&B, CSV: `probe_sinks.py` says where each puts it).

Under `probe/`: a markdown table of references and hypotheses with the errors marked
(`transcripts`), and per utterance k the head's pictures of it (`Head.probe_views`):
`k/posteriorgram` (CTC), `k/attention` (AED; ctc_aed both), `k/alignment` (RNN-T). The inputs
do not change from epoch to epoch, so they are logged once, at the first validation epoch:
`k/audio` (not with cached features), and `k/features` and `k/augmented`, the features before
and after both augment stages (run in training mode from a fixed seed, without touching the
training random state).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import move_data_to_device
from torch import nn

from asrlab.data.batch import Batch
from asrlab.data.collate import collate
from asrlab.model.module import ASRModel
from asrlab.text.alignment import align_words
from asrlab.training.callbacks.images import feature_image, figure_image, probe_figure
from asrlab.training.callbacks.probe_set import spread_by_length, validation_data
from asrlab.training.callbacks.probe_sinks import ProbeSink, probe_sinks

MARKUP_LEGEND = "~~deleted~~, **inserted**, ~~reference~~→**substituted**"


@contextmanager
def training_mode(*modules: nn.Module) -> Iterator[None]:
    """Put `modules` in training mode for the block, then back in their former modes."""
    modes = [module.training for module in modules]
    for module in modules:
        module.train()
    try:
        yield
    finally:
        for module, mode in zip(modules, modes, strict=True):
            module.train(mode)


@torch.no_grad()
def augmented_features(
    model: ASRModel, batch: Batch, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The features (B, T, F) and lengths (B,) the encoder would see in training, augmentation
    drawn from `seed`; the global random state is left as it was."""
    devices = [model.device] if model.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), training_mode(model.wave_augment, model.augment):
        torch.manual_seed(seed)
        return model.encoder_inputs(batch.waves, batch.wave_lengths)


def transcript_table(batch: Batch, hyps: list[str], seconds: list[float]) -> str:
    """Markdown: one row per utterance, the hypothesis aligned to the reference."""
    rows = [
        f"hypotheses aligned to the references: {MARKUP_LEGEND}",
        "",
        "| # | utterance | seconds | alignment | S | I | D |",
        "|---|---|---|---|---|---|---|",
    ]
    for k, (ref, hyp, uid, secs) in enumerate(
        zip(batch.texts, hyps, batch.ids, seconds, strict=True)
    ):
        alignment = align_words(ref, hyp)
        rows.append(
            f"| {k} | {Path(uid).name} | {secs:.2f} | {alignment.markup()} | "
            f"{alignment.substitutions} | {alignment.insertions} | {alignment.deletions} |"
        )
    return "\n".join(rows)


class ProbeView(pl.Callback):
    """Logs the probe view of `num_utterances` validation utterances spread over lengths.

    Costs one forward of the probe batch per validation epoch and the head's pictures (a greedy
    search for aed and rnnt); only global rank 0 logs.

    Args:
        num_utterances: probe utterances, chosen from the validation split by length.
        sample_rate: the model's sample rate (audio playback).
        seed: draws the augmentation shown in `k/augmented`.
        max_tokens: a picture of more rows (a posteriorgram of a larger vocabulary) shows its
            path's rows and those of highest value, this many in all.
    """

    def __init__(
        self,
        num_utterances: int = 4,
        sample_rate: int = 16000,
        seed: int = 0,
        max_tokens: int = 40,
    ) -> None:
        if num_utterances < 1:
            raise ValueError(f"num_utterances must be at least 1, got {num_utterances}")
        self.num_utterances = num_utterances
        self.sample_rate = sample_rate
        self.seed = seed
        self.max_tokens = max_tokens
        self.batch: Batch | None = None
        self.seconds: list[float] = []
        self.inputs_logged = False

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        sinks = probe_sinks(trainer)
        if not sinks:
            return
        if self.batch is None:
            data = validation_data(trainer)
            durations = data.val_durations()
            indices = spread_by_length(durations, self.num_utterances)
            self.batch = collate(data.val_examples(indices))
            self.seconds = [durations[i] for i in indices]
        batch = move_data_to_device(self.batch, pl_module.device)
        self.log_outputs(sinks, pl_module, batch, trainer.global_step)
        if not self.inputs_logged:
            self.log_inputs(sinks, pl_module, batch, trainer.global_step)
            self.inputs_logged = True

    @torch.no_grad()
    def log_outputs(self, sinks: list[ProbeSink], model: ASRModel, batch: Batch, step: int) -> None:
        """The aligned transcripts and the head's pictures of each utterance."""
        scores, lengths = model(batch.waves, batch.wave_lengths)
        hyps = model.head.decode(scores, lengths)
        table = transcript_table(batch, hyps, self.seconds)
        images = {}
        for k, views in enumerate(model.head.probe_views(scores, lengths)):
            title = f"{Path(batch.ids[k]).name}   hypothesis: {hyps[k]!r}"
            for view in views:
                figure = probe_figure(view, model.frame_seconds, title, self.max_tokens)
                images[f"probe/{k}/{view.name}"] = figure_image(figure)
        for sink in sinks:
            sink.text("probe/transcripts", table, step)
            for tag, image in images.items():
                sink.image(tag, image, step)

    @torch.no_grad()
    def log_inputs(self, sinks: list[ProbeSink], model: ASRModel, batch: Batch, step: int) -> None:
        """Audio (waveform batches only) and the features before and after augmentation."""
        feats, lengths = model.features(batch.waves, batch.wave_lengths)
        augmented, augmented_lengths = augmented_features(model, batch, self.seed)
        for k in range(len(batch.texts)):
            clean = feats[k, : lengths[k]]
            low, high = clean.min().item(), clean.max().item()
            images = {
                "features": feature_image(clean, low, high),
                "augmented": feature_image(augmented[k, : augmented_lengths[k]], low, high),
            }
            audio = batch.waves.dim() == 2  # not cached features
            wave = batch.waves[k, : batch.wave_lengths[k]].float().cpu() if audio else None
            for sink in sinks:
                for name, image in images.items():
                    sink.image(f"probe/{k}/{name}", image, step)
                if wave is not None:
                    sink.audio(f"probe/{k}/audio", wave, self.sample_rate, step)
