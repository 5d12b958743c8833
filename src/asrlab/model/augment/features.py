"""Augmentation contract: forward(x (B, T, ...), lengths (B,)) -> (x' (B, T', ...), lengths' (B,)).

The same for waveforms (B, S) before the frontend and features (B, T, F) after it. Transforms
act only in training mode and are the identity in eval mode. Randomness comes from
the torch global RNG of the features' device, so Lightning's seeding makes runs repeatable.
"""

from collections.abc import Iterable

import torch
from torch import Tensor, nn


class Compose(nn.Module):
    """Apply `transforms` in order; an empty list is no augmentation."""

    def __init__(self, transforms: Iterable[nn.Module] = ()):
        super().__init__()
        self.transforms = nn.ModuleList(transforms)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        for transform in self.transforms:
            x, lengths = transform(x, lengths)
        return x, lengths


def random_bands(sizes: Tensor, max_widths: Tensor, count: int, axis_len: int) -> Tensor:
    """Union of `count` random bands per row, each inside [0, size) of its row.

    sizes, max_widths: (B,). Returns (B, axis_len) bool, True inside a band. As in torchaudio's
    mask_along_axis_iid, a width is drawn from [0, max_width) and its start so that it fits.
    """
    shape = (sizes.shape[0], count, 1)
    widths = torch.rand(shape, device=sizes.device) * max_widths[:, None, None]
    starts = torch.rand(shape, device=sizes.device) * (sizes[:, None, None] - widths)
    starts = starts.long()
    ends = starts + widths.long()
    positions = torch.arange(axis_len, device=sizes.device)
    return ((positions >= starts) & (positions < ends)).any(dim=1)


class SpecAugment(nn.Module):
    """Frequency and time masking (Park et al., 2019) with mask value 0, the normalised mean.

    Each utterance draws its own masks, all inside its valid frames: frequency bands of width
    below `freq_width`, and time bands of width below min(time_width * length, max_time_width);
    `max_time_width` null leaves the fraction uncapped, as NeMo's `time_width` below 1 is.
    torchaudio's masking helpers are not used because they mask across the padded length.
    """

    def __init__(
        self,
        freq_masks: int = 2,
        freq_width: int = 15,
        time_masks: int = 2,
        time_width: float = 0.05,
        max_time_width: int | None = 40,
    ):
        super().__init__()
        if not 0.0 <= time_width <= 1.0:
            raise ValueError(f"time_width is a fraction of the length, got {time_width}")
        self.freq_masks = freq_masks
        self.freq_width = freq_width
        self.time_masks = time_masks
        self.time_width = time_width
        self.max_time_width = max_time_width

    def extra_repr(self) -> str:
        return (
            f"freq_masks={self.freq_masks}, freq_width={self.freq_width}, "
            f"time_masks={self.time_masks}, time_width={self.time_width}, "
            f"max_time_width={self.max_time_width}"
        )

    def forward(self, feats: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """feats (B, T, F) -> masked feats (B, T, F), lengths unchanged."""
        if not self.training:
            return feats, lengths
        _, frames, n_features = feats.shape
        valid = torch.arange(frames, device=feats.device) < lengths[:, None]
        n_bins = torch.full_like(lengths, n_features)
        freq = random_bands(n_bins, n_bins.clamp(max=self.freq_width), self.freq_masks, n_features)
        time_limit = (lengths * self.time_width).floor()
        if self.max_time_width is not None:
            time_limit = time_limit.clamp(max=self.max_time_width)
        time = random_bands(lengths, time_limit, self.time_masks, frames)
        mask = (freq[:, None, :] | time[:, :, None]) & valid[:, :, None]
        return feats.masked_fill(mask, 0.0), lengths


class FrequencyWarp(nn.Module):
    """Stretch or squeeze each utterance's features along the frequency axis by a random factor
    in [1 - max_warp, 1 + max_warp], a cheap stand-in for vocal tract length perturbation.

    feats (B, T, F) -> (B, T, F): bin f takes the (linearly interpolated) value at f / factor,
    holding the edge bin beyond the top; lengths are unchanged.
    """

    def __init__(self, max_warp: float = 0.1) -> None:
        super().__init__()
        if not 0.0 <= max_warp < 1.0:
            raise ValueError(f"max_warp must be in [0, 1), got {max_warp}")
        self.max_warp = max_warp

    def forward(self, feats: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        if not self.training or self.max_warp == 0.0:
            return feats, lengths
        batch, _, n_features = feats.shape
        factors = 1 + self.max_warp * (2 * torch.rand(batch, 1, device=feats.device) - 1)
        source = torch.arange(n_features, device=feats.device) / factors  # (B, F)
        source = source.clamp(max=n_features - 1)
        low = source.floor().long()
        high = (low + 1).clamp(max=n_features - 1)
        weight = (source - low)[:, None, :]
        warped = torch.lerp(_bins(feats, low), _bins(feats, high), weight.to(feats.dtype))
        return warped, lengths


def _bins(feats: Tensor, index: Tensor) -> Tensor:
    """feats (B, T, F) at feature bins index (B, F), the same for every frame."""
    return feats.gather(2, index[:, None, :].expand_as(feats))
