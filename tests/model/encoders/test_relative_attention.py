import math

import torch

from asrlab.model.encoders.relative_attention import RelativePositionAttention, relative_positions


def test_scores_use_each_query_and_key_offset() -> None:
    """Against a loop over (i, j) that encodes the offset i - j alone: one head, no padding."""
    torch.manual_seed(0)
    attention = RelativePositionAttention(d_model=4, num_heads=1).eval()
    torch.nn.init.normal_(attention.content_bias)
    torch.nn.init.normal_(attention.position_bias)
    x = torch.randn(5, 1, 4)
    q, k, v = attention.query(x[:, 0]), attention.key(x[:, 0]), attention.value(x[:, 0])
    table = relative_positions(5, 4, x.device)  # row r: offset 4 - r
    scores = torch.empty(5, 5)
    for i in range(5):
        for j in range(5):
            p = attention.position(table[4 - (i - j)])
            u, w = attention.content_bias[0], attention.position_bias[0]
            scores[i, j] = ((q[i] + u) @ k[j] + (q[i] + w) @ p) / math.sqrt(4)
    expected = attention.out(scores.softmax(-1) @ v)
    out, _ = attention(x, x, x, key_padding_mask=torch.zeros(1, 5, dtype=torch.bool))
    torch.testing.assert_close(out[:, 0], expected)
