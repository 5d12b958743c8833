"""Frame-wise feed-forward encoder over a window of neighbouring frames."""

from torch import Tensor, nn

from asrlab.model.encoders.masking import strided_lengths, window_frames, zero_padding


class DNNEncoder(nn.Module):
    """An MLP applied to each frame concatenated with its `context` neighbours on either side.

    Neighbours beyond an utterance's ends are zeros, exactly as if the utterance were alone.
    Each hidden layer is Linear -> LayerNorm -> GELU -> dropout.

    Args:
        input_dim: features per input frame F.
        hidden_size: width of every hidden layer; the output is this wide.
        num_layers: hidden layers.
        context: frames on each side of the centre frame, so a window is 2 * context + 1 frames.
        subsample: windows are centred on every k-th frame, so T' = ceil(T / k).
        dropout: dropout after each hidden layer.
    """

    stride_argument = "subsample"

    def __init__(
        self,
        input_dim: int,
        hidden_size: int = 512,
        num_layers: int = 3,
        context: int = 5,
        subsample: int = 2,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_dim = (2 * context + 1) * input_dim
        for _ in range(num_layers):
            layers += [
                nn.Linear(in_dim, hidden_size),
                nn.LayerNorm(hidden_size),
                nn.GELU(),
                nn.Dropout(dropout),
            ]
            in_dim = hidden_size
        self.mlp = nn.Sequential(*layers)
        self.context = context
        self.output_dim = hidden_size
        self.stride = subsample

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, F), lengths: (B,) -> (B, ceil(T / k), hidden_size), (B,) ceil(lengths / k).

        Outputs beyond each length are zero.
        """
        c = self.context
        x, lengths = window_frames(x, lengths, size=2 * c + 1, stride=self.stride, left=c, right=c)
        return zero_padding(self.mlp(x), lengths), lengths

    def output_frames(self, n: int | Tensor) -> int | Tensor:
        return strided_lengths(n, 2 * self.context + 1, self.stride, 2 * self.context)
