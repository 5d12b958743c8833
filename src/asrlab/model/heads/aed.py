"""Attention encoder-decoder head: Transformer decoder layers attending to the encoder states.

The tokenizer's blank id (0), which is never a target, is this head's <sos> and <eos> (one
symbol for both): its output classes are the tokenizer's vocabulary, so tokenizers and their
checkpoints are those of CTC runs. `forward` gives the encoder memory; the loss runs the
decoder with teacher forcing, and decoding runs it autoregressively (greedy or beam).
"""

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asrlab.data.batch import Batch
from asrlab.model.encoders.masking import length_mask
from asrlab.model.encoders.transformer import sinusoidal_positions
from asrlab.model.heads.aed_search import beam_search, greedy_search
from asrlab.model.heads.val_search import check_val_search
from asrlab.model.probe import ProbeMatrix
from asrlab.text.tokenizer import Tokenizer


class AEDHead(nn.Module):
    """A projection of the encoder states to `d_model`, then pre-norm Transformer decoder layers
    with cross-attention to them (padded frames masked) and a linear layer to the vocabulary.

    Args:
        input_dim: encoder output width H.
        tokenizer: the run's tokenizer; V = tokenizer.vocab_size, blank = <sos>/<eos>.
        d_model: width of the decoder layers.
        num_layers: decoder layers.
        num_heads: attention heads per layer; must divide d_model.
        ffn_dim: hidden width of the feed-forward blocks.
        dropout: dropout after the token embedding and inside every layer.
        label_smoothing: of the teacher-forced cross-entropy.
        beam_size: hypotheses kept while decoding; 1 decodes greedily.
        length_penalty: a beam hypothesis's log-probability is divided by its
            (tokens + 1) ** length_penalty; 0 compares raw log-probabilities.
        max_length_ratio: an utterance of T' encoder frames decodes at most
            ceil(max_length_ratio * T') tokens (and at most max_positions - 1).
        max_positions: token positions the positional encoding covers; a longer target is refused.
        val_search: how validation decodes: "greedy", cheap, for checkpoint selection and
            pruning, or "beam", the beam search of `decode` (test, eval and transcription).
    """

    ctc_weight = 0.0

    def __init__(
        self,
        input_dim: int,
        tokenizer: Tokenizer,
        d_model: int = 144,
        num_layers: int = 2,
        num_heads: int = 4,
        ffn_dim: int = 576,
        dropout: float = 0.1,
        label_smoothing: float = 0.1,
        beam_size: int = 1,
        length_penalty: float = 1.0,
        max_length_ratio: float = 1.0,
        max_positions: int = 512,
        val_search: str = "greedy",
    ) -> None:
        super().__init__()
        if beam_size < 1 or max_positions < 2:
            raise ValueError(
                f"head.beam_size must be >= 1 and head.max_positions >= 2, got {beam_size} "
                f"and {max_positions}"
            )
        check_val_search(val_search)
        self.val_search = val_search
        self.tokenizer = tokenizer
        self.sos_eos = tokenizer.blank_id
        self.memory = nn.Linear(input_dim, d_model)
        self.embedding = nn.Embedding(tokenizer.vocab_size, d_model)
        # Scaled by sqrt(d_model) in `logits`: unit-variance token inputs, as in fairseq.
        nn.init.normal_(self.embedding.weight, std=d_model**-0.5)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerDecoderLayer(
            d_model,
            num_heads,
            ffn_dim,
            dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.layers = nn.TransformerDecoder(layer, num_layers, norm=nn.LayerNorm(d_model))
        self.output = nn.Linear(d_model, tokenizer.vocab_size)
        self.label_smoothing = label_smoothing
        self.beam_size = beam_size
        self.length_penalty = length_penalty
        self.max_length_ratio = max_length_ratio
        self.max_positions = max_positions
        positions = sinusoidal_positions(max_positions, d_model, torch.device("cpu"))
        self.register_buffer("positions", positions, persistent=False)

    def forward(self, hidden: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """hidden (B, T', H), lengths (B,) -> memory (B, T', d_model), lengths (B,)."""
        return self.memory(hidden), lengths

    def logits(self, prefixes: Tensor, memory: Tensor, padding: Tensor) -> Tensor:
        """prefixes (B, t) token ids from <sos>, memory (B, T', D), padding (B, T') True on
        padded frames -> next-token logits (B, t, V) float32 at every prefix position."""
        t = prefixes.size(1)
        x = self.dropout(self.embedding(prefixes) * math.sqrt(memory.size(-1)) + self.positions[:t])
        causal = nn.Transformer.generate_square_subsequent_mask(t, device=x.device, dtype=x.dtype)
        x = self.layers(
            x, memory, tgt_mask=causal, tgt_is_causal=True, memory_key_padding_mask=padding
        )
        return self.output(x).float()

    def next_log_probs(self, prefixes: Tensor, memory: Tensor, padding: Tensor) -> Tensor:
        """The log-probs (B, V) of the token after each prefix (B, t)."""
        return self.logits(prefixes, memory, padding)[:, -1].log_softmax(dim=-1)

    def loss(self, scores: Tensor, lengths: Tensor, batch: Batch) -> tuple[Tensor, Tensor]:
        """Label-smoothed cross-entropy per target token (<eos> included), teacher-forced on
        memory (B, T', D); nothing is skipped. Raises ValueError on a target longer than the
        positional encoding."""
        device = scores.device
        targets, target_lengths = batch.targets.to(device), batch.target_lengths.to(device)
        longest = int(target_lengths.max()) + 1
        if longest > self.max_positions:
            index = int(target_lengths.argmax())
            raise ValueError(
                f"utterance {batch.ids[index]} has {longest - 1} tokens (+ <eos>), more than the "
                f"AED head's positional encoding covers: raise head.max_positions "
                f"(now {self.max_positions})"
            )
        sos = torch.full_like(targets[:, :1], self.sos_eos)
        inputs = torch.cat([sos, targets], dim=1)[:, :longest]
        outputs = torch.cat([targets, torch.zeros_like(sos)], dim=1)[:, :longest]
        outputs = outputs.scatter(1, target_lengths.unsqueeze(1), self.sos_eos)
        outputs = outputs.masked_fill(~length_mask(target_lengths + 1, longest), -100)
        logits = self.logits(inputs, scores, ~length_mask(lengths.to(device), scores.size(1)))
        loss = F.cross_entropy(
            logits.transpose(1, 2), outputs, ignore_index=-100, label_smoothing=self.label_smoothing
        )
        return loss, torch.zeros((), dtype=torch.long, device=device)

    def max_tokens(self, lengths: Tensor) -> Tensor:
        """(B,) encoder frames -> (B,) the most tokens decoding may give each utterance."""
        limit = (lengths.double() * self.max_length_ratio).ceil().long()
        return limit.clamp(min=1, max=self.max_positions - 1)

    @torch.no_grad()
    def nbest(self, scores: Tensor, lengths: Tensor) -> list[list[tuple[list[int], float]]]:
        """memory (B, T', D), lengths (B,) -> per utterance, the beam's hypotheses (token ids,
        length-normalised log-probability), best first."""
        limits = self.max_tokens(lengths).tolist()
        return [
            beam_search(
                self.next_log_probs,
                states[:length],
                limit,
                self.sos_eos,
                self.beam_size,
                self.length_penalty,
            )
            for states, length, limit in zip(scores, lengths.tolist(), limits, strict=True)
        ]

    @torch.no_grad()
    def decode(self, scores: Tensor, lengths: Tensor) -> list[str]:
        """memory (B, T', D), lengths (B,) -> one transcript per utterance: greedy with
        beam_size 1, else the best of the beam."""
        if self.beam_size == 1:
            return self.greedy_decode(scores, lengths)
        ids = [hypotheses[0][0] for hypotheses in self.nbest(scores, lengths)]
        return [self.tokenizer.decode(tokens) for tokens in ids]

    @torch.no_grad()
    def greedy_decode(self, scores: Tensor, lengths: Tensor) -> list[str]:
        """memory (B, T', D), lengths (B,) -> the attention decoder's greedy transcripts, the
        batch decoded at once."""
        padding = ~length_mask(lengths.to(scores.device), scores.size(1))
        ids = greedy_search(
            self.next_log_probs, scores, padding, self.max_tokens(lengths), self.sos_eos
        )
        return [self.tokenizer.decode(tokens) for tokens in ids]

    def validation_decode(self, scores: Tensor, lengths: Tensor) -> list[str]:
        """`greedy_decode` with val_search greedy, else `decode`."""
        if self.val_search == "greedy":
            return self.greedy_decode(scores, lengths)
        return self.decode(scores, lengths)

    @torch.no_grad()
    def cross_attention(self, prefixes: Tensor, memory: Tensor) -> Tensor:
        """prefixes (B, t) token ids from <sos>, memory (B, T', D) unpadded -> the last decoder
        layer's cross-attention weights (B, t, T') float32, averaged over its heads."""
        attention = self.layers.layers[-1].multihead_attn
        kept: list[Tensor] = []

        def with_weights(_: nn.Module, args: Any, kwargs: dict[str, Any]) -> Any:
            return args, {**kwargs, "need_weights": True, "average_attn_weights": True}

        handles = [
            attention.register_forward_pre_hook(with_weights, with_kwargs=True),
            attention.register_forward_hook(lambda _, __, output: kept.append(output[1])),
        ]
        try:
            padding = torch.zeros(memory.shape[:2], dtype=torch.bool, device=memory.device)
            self.logits(prefixes, memory, padding)
        finally:
            for handle in handles:
                handle.remove()
        return kept[0].float()

    @torch.no_grad()
    def probe_views(self, scores: Tensor, lengths: Tensor) -> list[list[ProbeMatrix]]:
        """memory (B, T', D), lengths (B,) -> per utterance the cross-attention map of its greedy
        hypothesis: (steps, T'), a row per decoder step labelled by the token it emitted (<eos>
        last, unless the hypothesis was cut at its maximum length); each row sums to 1, and
        the largest weight is drawn black."""
        padding = ~length_mask(lengths.to(scores.device), scores.size(1))
        limits = self.max_tokens(lengths)
        hypotheses = greedy_search(self.next_log_probs, scores, padding, limits, self.sos_eos)
        views = []
        for memory, length, limit, tokens in zip(
            scores, lengths.tolist(), limits.tolist(), hypotheses, strict=True
        ):
            prefixes = torch.tensor([[self.sos_eos, *tokens]], device=scores.device)
            weights = self.cross_attention(prefixes, memory[None, :length])[0].cpu()
            steps = len(tokens) + (len(tokens) < limit)
            rows = [*(self.tokenizer.vocab[i] for i in tokens), "<eos>"][:steps]
            weights = weights[:steps]
            black = float(weights.max())
            views.append([ProbeMatrix("attention", weights, rows, None, "emitted token", black)])
        return views
