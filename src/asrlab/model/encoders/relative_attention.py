"""Multi-head self-attention with relative sinusoidal positions (Transformer-XL, Dai et al.
2019), as the Conformer paper (Gulati et al. 2020) and NeMo's Conformer use it."""

import math

import torch
from torch import Tensor, nn


def relative_positions(length: int, dim: int, device: torch.device) -> Tensor:
    """Sinusoidal encodings (2 * length - 1, dim) of the offsets length - 1 down to 1 - length."""
    offsets = torch.arange(length - 1, -length, -1, device=device, dtype=torch.float32)
    rates = torch.exp(torch.arange(0, dim, 2, device=device) * (-math.log(10000.0) / dim))
    angles = offsets[:, None] * rates
    return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(1)[:, :dim]


class RelativePositionAttention(nn.Module):
    """Self-attention whose scores add a term of the query and the key's offset from it.

    score(i, j) = (q_i + u) . k_j + (q_i + v) . W_pos p(i - j), over sqrt(d_model / num_heads),
    with p the sinusoidal encoding of the offset and u, v learned per head. Called as
    `nn.MultiheadAttention` is (time first), so it can stand in for a torchaudio Conformer
    layer's `self_attn`; padded keys are masked, so an utterance's outputs do not depend on
    padding or on the batch's length.
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"num_heads={num_heads} must divide d_model={d_model}")
        self.num_heads = num_heads
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.value = nn.Linear(d_model, d_model)
        self.position = nn.Linear(d_model, d_model, bias=False)
        self.out = nn.Linear(d_model, d_model)
        self.content_bias = nn.Parameter(torch.zeros(num_heads, d_model // num_heads))
        self.position_bias = nn.Parameter(torch.zeros(num_heads, d_model // num_heads))
        self.dropout = nn.Dropout(dropout)

    def heads(self, x: Tensor) -> Tensor:
        """(N, B, D) -> (B, heads, N, D / heads)."""
        return x.unflatten(-1, (self.num_heads, -1)).permute(1, 2, 0, 3)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor,
        need_weights: bool = False,
    ) -> tuple[Tensor, None]:
        """query, key, value: (T, B, D) (the same tensor: self-attention), key_padding_mask:
        (B, T) True on padding -> (T, B, D), None."""
        length = query.size(0)
        q = self.heads(self.query(query))
        k, v = self.heads(self.key(key)), self.heads(self.value(value))
        p = relative_positions(length, query.size(-1), query.device).to(query.dtype)
        p = self.heads(self.position(p).unsqueeze(1))  # (1, heads, 2T - 1, D / heads)
        content = (q + self.content_bias[:, None]) @ k.transpose(-1, -2)
        by_offset = (q + self.position_bias[:, None]) @ p.transpose(-1, -2)  # (B, h, T, 2T - 1)
        # Query i and key j are i - j apart: column (T - 1) - (i - j) of by_offset.
        rows = torch.arange(length, device=query.device)
        index = (length - 1 - rows[:, None] + rows[None, :]).expand(*content.shape)
        scores = (content + by_offset.gather(-1, index)) / math.sqrt(q.size(-1))
        scores = scores.masked_fill(key_padding_mask[:, None, None, :], float("-inf"))
        h = self.dropout(scores.softmax(dim=-1)) @ v  # (B, heads, T, D / heads)
        return self.out(h.permute(2, 0, 1, 3).flatten(2)), None
