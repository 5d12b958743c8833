"""Has a trained model collapsed to all-blank? Its blank ratio over a split's posteriors."""

from asrlab.tools.decoding.posteriors import Posteriors
from asrlab.training.callbacks.blank_ratio import blank_frames
from asrlab.training.preflight.findings import Finding


def blank_check(posteriors: Posteriors, blank_id: int, threshold: float, split: str) -> Finding:
    """Fatal when the share of valid frames whose best token is blank exceeds `threshold`."""
    blank = valid = all_blank = 0
    for log_probs, lengths in posteriors.batches():
        per_utterance = blank_frames(log_probs, lengths, blank_id)
        blank += int(per_utterance.sum())
        valid += int(lengths.sum())
        all_blank += int((per_utterance == lengths).sum())
    ratio = blank / max(valid, 1)
    summary = (
        f"the best token is blank on {100 * ratio:.1f}% of the {valid} frames of {split}; "
        f"{all_blank} of {len(posteriors)} utterances are all blank (empty hypotheses)"
    )
    if ratio <= threshold:
        return Finding("blank", "ok", summary)
    return Finding(
        "blank",
        "fatal",
        f"the model has collapsed to all-blank (above doctor.blank_threshold={threshold:g}): "
        + summary,
        "train longer (CTC models are all-blank for their first epochs), change optimizer.lr, "
        "check that the transcripts match the audio; doctor.overfit_steps=200 tells whether "
        "the model can learn one batch at all",
    )
