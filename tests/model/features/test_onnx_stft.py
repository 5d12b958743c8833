"""The ONNX export's spectrogram, a convolution with a DFT basis, is torch's STFT."""

import pytest
import torch
import torchaudio.transforms as T

from asrlab.model import frontends, librosa_frontends
from asrlab.model.onnx_stft import conv_spectrogram

WAVE = 0.1 * torch.randn(3, 4000, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("power", [1.0, 2.0])
@pytest.mark.parametrize("win_length", [400, 300])
def test_conv_spectrogram_is_the_stft(power: float, win_length: int) -> None:
    transform = T.Spectrogram(
        n_fft=400, win_length=win_length, hop_length=160, power=power, center=False
    )
    exact = transform.double()(WAVE.double())
    got = conv_spectrogram(transform.float(), WAVE)
    assert got.shape == exact.shape == (3, 201, 23)
    torch.testing.assert_close(got.double(), exact, rtol=1e-4, atol=1e-5 * float(exact.max()))


def test_conv_spectrogram_refuses_a_centred_stft() -> None:
    with pytest.raises(ValueError, match="center=False"):
        conv_spectrogram(T.Spectrogram(n_fft=400), WAVE)


@pytest.mark.parametrize(
    "frontend",
    [
        frontends.LogMel,
        frontends.MFCC,
        frontends.Spectrogram,
        librosa_frontends.LibrosaLogMel,
        librosa_frontends.LibrosaMFCC,
    ],
)
def test_frontends_export_the_same_features(
    frontend: type[frontends.Frontend], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = frontend().eval()
    lengths = torch.tensor([4000, 2500, 300])
    expected, expected_lengths = model(WAVE, lengths)
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
    feats, feat_lengths = model(WAVE, lengths)
    assert torch.equal(feat_lengths, expected_lengths)
    torch.testing.assert_close(feats, expected, rtol=0, atol=1e-4)
