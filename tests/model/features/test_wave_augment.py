import pytest
import torch

from asrlab.data.audio import write_audio
from asrlab.model.augment.waveform import AddNoise, SpeedPerturb
from helpers import SAMPLE_RATE, tone

LENGTHS = torch.tensor([16000, 9000])


def _waves() -> torch.Tensor:
    waves = torch.stack([tone(1.0), tone(1.0, freq=300)])
    waves[1, 9000:] = 0
    return waves


def _snr_db(clean: torch.Tensor, noisy: torch.Tensor) -> float:
    return float(10 * torch.log10(clean.pow(2).sum() / (noisy - clean).pow(2).sum()))


@pytest.mark.parametrize("module", [SpeedPerturb(SAMPLE_RATE), AddNoise(SAMPLE_RATE, prob=1.0)])
def test_identity_in_eval(module: torch.nn.Module) -> None:
    waves = _waves()
    out, lengths = module.eval()(waves, LENGTHS)
    assert torch.equal(out, waves) and torch.equal(lengths, LENGTHS)


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_perturbation_rescales_lengths(factor: float) -> None:
    torch.manual_seed(0)
    out, lengths = SpeedPerturb(SAMPLE_RATE, factors=(factor,)).train()(_waves(), LENGTHS)
    expected = (LENGTHS / factor).ceil()
    assert torch.allclose(lengths.float(), expected, atol=2)
    assert out.shape[1] == lengths.max()


def test_noise_hits_the_drawn_snr_and_leaves_padding_silent() -> None:
    torch.manual_seed(0)
    waves = _waves()
    out, lengths = AddNoise(SAMPLE_RATE, snr_db=(20.0, 20.0), prob=1.0).train()(waves, LENGTHS)
    assert torch.equal(lengths, LENGTHS)
    for i, length in enumerate(LENGTHS.tolist()):
        assert _snr_db(waves[i, :length], out[i, :length]) == pytest.approx(20.0, abs=0.01)
    assert torch.all(out[1, 9000:] == 0)


def test_noise_probability_zero_changes_nothing() -> None:
    waves = _waves()
    out, _ = AddNoise(SAMPLE_RATE, prob=0.0).train()(waves, LENGTHS)
    assert torch.equal(out, waves)


def test_noise_from_files_is_used(tmp_path) -> None:
    write_audio(tmp_path / "hum.wav", tone(0.2, freq=50.0), SAMPLE_RATE)
    torch.manual_seed(0)
    module = AddNoise(SAMPLE_RATE, snr_db=(0.0, 0.0), prob=1.0, noise_dir=str(tmp_path)).train()
    waves = torch.zeros(1, 8000) + 1e-3 * torch.randn(1, 8000)
    out, _ = module(waves, torch.tensor([8000]))
    spectrum = torch.fft.rfft(out[0] - waves[0]).abs()
    assert spectrum.argmax().item() == pytest.approx(50 * 8000 / SAMPLE_RATE, abs=1)


def test_empty_noise_dir_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ValueError, match="has no"):
        AddNoise(SAMPLE_RATE, noise_dir=str(tmp_path))
