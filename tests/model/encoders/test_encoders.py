"""Contract tests of the swappable encoders, at tiny sizes."""

import inspect
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import torch
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf
from torch import Tensor, nn

import asrlab
from asrlab.model.contracts import Encoder
from asrlab.model.encoders.cnn import CNNEncoder
from asrlab.model.encoders.conformer import ConformerEncoder
from asrlab.model.encoders.crnn import CRNNEncoder
from asrlab.model.encoders.deepspeech2 import DeepSpeech2Encoder
from asrlab.model.encoders.dnn import DNNEncoder
from asrlab.model.encoders.masking import strided_lengths
from asrlab.model.encoders.quartznet import QuartzNetEncoder
from asrlab.model.encoders.rnn import GRUEncoder, LSTMEncoder
from asrlab.model.encoders.transformer import TransformerEncoder

FEATURES = 8
LENGTHS = [13, 9, 4]
CONF_DIR = Path(asrlab.__file__).parent / "conf" / "encoder"

TINY_CONFORMER = partial(
    ConformerEncoder,
    FEATURES,
    d_model=8,
    num_layers=2,
    num_heads=2,
    ffn_dim=12,
    kernel_size=3,
    subsampling_channels=3,
)
TINY: dict[str, Callable[[], nn.Module]] = {
    "lstm": lambda: LSTMEncoder(FEATURES, hidden_size=6, num_layers=2, projection_dim=5),
    "gru": lambda: GRUEncoder(
        FEATURES, hidden_size=6, num_layers=2, bidirectional=False, subsample=3
    ),
    "cnn": lambda: CNNEncoder(FEATURES, channels=6, num_blocks=3, kernel_size=3, strides=(2, 2)),
    "dnn": lambda: DNNEncoder(FEATURES, hidden_size=6, num_layers=2, context=2, subsample=3),
    "crnn": lambda: CRNNEncoder(
        FEATURES,
        conv_channels=(3, 4),
        kernel_size=(3, 3),
        time_strides=(2, 2),
        freq_strides=(2, 1),
        hidden_size=5,
        num_layers=2,
    ),
    "deepspeech2": lambda: DeepSpeech2Encoder(
        FEATURES,
        conv_channels=(3, 4),
        kernel_sizes=((3, 5), (3, 3)),
        time_strides=(2, 1),
        freq_strides=(2, 2),
        hidden_size=5,
        num_layers=2,
    ),
    "conformer": partial(TINY_CONFORMER, stride=4),
    "conformer_relative": partial(TINY_CONFORMER, stride=2, relative_positions=True),
    "quartznet": lambda: QuartzNetEncoder(
        FEATURES,
        prologue_channels=6,
        prologue_kernel=3,
        stride=2,
        block_channels=(6, 7),
        block_kernels=(3, 5),
        repeats=2,
        epilogue_kernel=3,
        epilogue_channels=5,
        epilogue_dilation=2,
        output_channels=4,
    ),
    "transformer": lambda: TransformerEncoder(
        FEATURES, d_model=8, num_layers=2, num_heads=2, ffn_dim=12, stride=2, subsampling_channels=3
    ),
}


@pytest.fixture(params=list(TINY))
def encoder(request: pytest.FixtureRequest) -> nn.Module:
    torch.manual_seed(0)
    return TINY[request.param]()


def padded_batch(lengths: list[int]) -> tuple[Tensor, Tensor]:
    """(B, max(lengths), FEATURES) features whose padding is large garbage, and the lengths."""
    x = torch.randn(len(lengths), max(lengths), FEATURES)
    for i, length in enumerate(lengths):
        x[i, length:] += 100.0
    return x, torch.tensor(lengths)


def test_shapes_and_lengths(encoder: nn.Module) -> None:
    x, lengths = padded_batch(LENGTHS)
    h, out_lengths = encoder.eval()(x, lengths)
    # All tiny configurations use odd kernels, where every stride rounds up.
    assert out_lengths.dtype == torch.long
    assert out_lengths.tolist() == [-(-n // encoder.stride) for n in LENGTHS]
    assert h.shape == (len(LENGTHS), int(out_lengths.max()), encoder.output_dim)


@torch.no_grad()
def test_keeps_the_encoder_contract(encoder: nn.Module) -> None:
    assert isinstance(encoder, Encoder)
    assert encoder.stride_argument in inspect.signature(type(encoder)).parameters
    lengths = list(range(20, 0, -1))
    _, out_lengths = encoder.eval()(*padded_batch(lengths))
    assert encoder.output_frames(torch.tensor(lengths)).tolist() == out_lengths.tolist()
    assert [encoder.output_frames(n) for n in lengths] == out_lengths.tolist()


@torch.no_grad()
def test_output_frames_follow_the_subsampling_not_a_rule() -> None:
    """An even time kernel gives floor(T / stride) + 1 frames, not ceil(T / stride)."""
    encoder = CRNNEncoder(FEATURES, (3,), (4, 3), (2,), (1,), hidden_size=4, num_layers=1)
    lengths = [12, 11, 2]
    _, out_lengths = encoder.eval()(*padded_batch(lengths))
    assert out_lengths.tolist() == [n // 2 + 1 for n in lengths]
    assert encoder.output_frames(torch.tensor(lengths)).tolist() == out_lengths.tolist()


@torch.no_grad()
def test_padding_invariance(encoder: nn.Module) -> None:
    x, lengths = padded_batch(LENGTHS)
    h, out_lengths = encoder.eval()(x, lengths)
    for i, length in enumerate(LENGTHS):
        alone, alone_lengths = encoder(x[i : i + 1, :length], lengths[i : i + 1])
        assert alone_lengths[0] == out_lengths[i]
        torch.testing.assert_close(h[i, : out_lengths[i]], alone[0], atol=1e-5, rtol=1e-5)


def test_zero_beyond_lengths(encoder: nn.Module) -> None:
    x, lengths = padded_batch(LENGTHS)
    h, out_lengths = encoder.eval()(x, lengths)
    for i, length in enumerate(out_lengths):
        assert not h[i, length:].any()


def test_gradients_reach_all_parameters(encoder: nn.Module) -> None:
    x, lengths = padded_batch(LENGTHS)
    h, _ = encoder.train()(x, lengths)
    (h * torch.randn_like(h)).sum().backward()
    for name, parameter in encoder.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@torch.no_grad()
def test_cpu_lengths_with_model_on_any_device(encoder: nn.Module) -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x, lengths = padded_batch(LENGTHS)
    h, out_lengths = encoder.eval().to(device)(x.to(device), lengths)
    assert h.device.type == device
    assert out_lengths.tolist() == [-(-n // encoder.stride) for n in LENGTHS]


@pytest.mark.parametrize("kernel_size", [1, 2, 3, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padded", [False, True])
def test_strided_lengths_match_conv(kernel_size: int, stride: int, padded: bool) -> None:
    padding = kernel_size // 2 if padded else 0
    conv = nn.Conv1d(1, 1, kernel_size, stride, padding)
    lengths = torch.arange(kernel_size, 12)
    expected = [conv(torch.zeros(1, 1, int(n))).size(-1) for n in lengths]
    assert strided_lengths(lengths, kernel_size, stride, 2 * padding).tolist() == expected


@pytest.mark.parametrize("name", [name for name in TINY if name != "conformer_relative"])
def test_config_lists_every_constructor_default(name: str) -> None:
    config = OmegaConf.load(CONF_DIR / f"{name}.yaml")
    parameters = inspect.signature(get_class(config._target_)).parameters
    assert list(config)[1:] == list(parameters)
    for key, parameter in parameters.items():
        if key != "input_dim":
            default = parameter.default
            assert config[key] == (list(default) if isinstance(default, tuple) else default), key

    root = OmegaConf.create({"features": {"n_features": FEATURES}, "encoder": config})
    encoder = instantiate(root.encoder).eval()
    h, _ = encoder(*padded_batch([11, 6]))
    assert h.shape[-1] == encoder.output_dim


def test_deepspeech2_names_the_rnns_it_knows() -> None:
    with pytest.raises(
        ValueError, match=r"encoder.rnn must be one of \['gru', 'lstm'\], got 'rnn'"
    ):
        DeepSpeech2Encoder(FEATURES, rnn="rnn")


@pytest.mark.parametrize("kernel", [(3, 4), (3, 5), (2, 6)])
def test_deepspeech2_sizes_its_first_rnn_for_any_frequency_kernel(kernel: tuple[int, int]) -> None:
    encoder = DeepSpeech2Encoder(
        FEATURES,
        conv_channels=(3,),
        kernel_sizes=(kernel,),
        time_strides=(1,),
        freq_strides=(2,),
        hidden_size=5,
        num_layers=1,
    )
    x, lengths = torch.randn(2, 7, FEATURES), torch.tensor([7, 5])
    out, out_lengths = encoder(x, lengths)  # an even time kernel adds a frame
    assert out_lengths.tolist() == encoder.output_frames(lengths).tolist()
    assert out.shape == (2, out_lengths.max(), 5)
