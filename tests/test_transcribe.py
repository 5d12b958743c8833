"""asrlab-transcribe with the tiny trained run: audio formats and rates, a long file in chunks,
the output formats, folders, and files that cannot be read."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF
from omegaconf import DictConfig
from torch import Tensor

from asrlab.data.audio import read_audio, write_audio
from asrlab.data.manifest import read_manifest
from asrlab.decoders.beam import BeamDecoder
from asrlab.decoders.lm import build_arpa
from asrlab.model.build import build_model
from asrlab.model.module import ASRModel
from asrlab.text.tokenizer import CharTokenizer
from asrlab.tools.inference.chunks import chunked_log_probs
from asrlab.tools.inference.run import prepare, transcribe
from asrlab.tools.inference.transcriber import Failure, Transcriber
from asrlab.training.checkpoint import load_model
from asrlab.training.compose import compose_config
from helpers import tone

RATE = 16000


@pytest.fixture(scope="module")
def model(tiny_run: Path) -> ASRModel:
    return load_model(tiny_run / "checkpoints" / "last.ckpt")[0]


@pytest.fixture(scope="module")
def speech(tiny_synth: dict[str, Path]) -> list[Tensor]:
    """The test split's utterances, (S,) each at 16 kHz."""
    return [read_audio(u.audio_filepath, RATE) for u in read_manifest(tiny_synth["test"])]


@pytest.fixture(scope="module")
def long_file(speech: list[Tensor], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minute of the test utterances one after another, a quarter second apart."""
    parts: list[Tensor] = []
    while sum(map(len, parts)) < 60 * RATE:
        parts += [speech[len(parts) // 2 % len(speech)], torch.zeros(RATE // 4)]
    path = tmp_path_factory.mktemp("long") / "minute.wav"
    write_audio(path, torch.cat(parts)[: 60 * RATE], RATE)
    return path


def log_probs(transcriber: Transcriber, wave: Tensor) -> Tensor:
    """The whole waveform (S,) through the model at once -> (T, V)."""
    scores, frames = transcriber.acoustic(wave[None], torch.tensor([len(wave)]))
    return scores[0, : frames[0]]


def test_wav_flac_ogg_and_stereo_44k_agree_with_the_16k_mono_wave(
    model: ASRModel, speech: list[Tensor], tmp_path: Path
) -> None:
    wave = speech[1]
    write_audio(tmp_path / "a.wav", wave, RATE)
    write_audio(tmp_path / "a.flac", wave, RATE)
    sf.write(tmp_path / "a.ogg", wave.numpy(), RATE, format="OGG", subtype="VORBIS")
    # The channels differ by a tone that mixing down to mono cancels.
    high, other = AF.resample(wave, RATE, 44100), tone(len(wave) / RATE, 1000.0, 44100) / 6
    other = torch.nn.functional.pad(other, (0, len(high) - len(other)))
    sf.write(tmp_path / "stereo.wav", torch.stack([high + other, high - other], 1).numpy(), 44100)
    paths = [tmp_path / name for name in ("a.wav", "a.flac", "a.ogg", "stereo.wav")]
    transcriber = Transcriber(model, model.head.decoder, RATE)
    wav, flac, ogg, stereo = transcriber(paths)

    assert wav.text and (flac.text, flac.words) == (wav.text, wav.words)
    assert (wav.sample_rate, ogg.sample_rate, stereo.sample_rate) == (RATE, RATE, 44100)
    assert stereo.duration == pytest.approx(wav.duration, abs=1e-4)
    reference = log_probs(transcriber, wave)
    for path in (tmp_path / "a.ogg", tmp_path / "stereo.wav"):
        other_probs = log_probs(transcriber, read_audio(path, RATE))
        frames = min(len(reference), len(other_probs))
        assert abs(len(reference) - len(other_probs)) <= 1
        difference = (reference[:frames].exp() - other_probs[:frames].exp()).abs()
        assert difference.max() < 0.1, path  # lossy coding, resampling: close, not equal


def test_a_long_file_in_chunks_is_consistent_with_the_whole_file(
    model: ASRModel, long_file: Path
) -> None:
    whole = Transcriber(model, model.head.decoder, RATE, chunk_seconds=90.0)
    chunked = Transcriber(
        model, model.head.decoder, RATE, chunk_seconds=8.0, overlap_seconds=2.0, batch_size=4
    )
    wave = read_audio(long_file, RATE)
    assert len(chunked.chunking.starts(len(wave))) >= 9
    expected = log_probs(whole, wave)
    stitched = chunked_log_probs(chunked.acoustic, wave, chunked.chunking, batch_size=4)
    assert stitched.shape == expected.shape  # no frame lost or repeated
    # The recurrent encoder and the per-utterance feature normalisation see less of the file
    # in a chunk, so the frames differ a little; shifted by one frame they would differ a lot.
    agree = (stitched.argmax(-1) == expected.argmax(-1)).float().mean()
    shifted = (stitched[1:].argmax(-1) == expected[:-1].argmax(-1)).float().mean()
    assert agree > 0.85 and agree > shifted + 0.1

    (result,) = chunked([long_file])
    assert result.duration == 60.0 and len(result.words) >= 20
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and starts[-1] > 50.0
    assert all(0 <= w.start < w.end <= 60.0 for w in result.words)
    ends = [w.end for w in result.words]
    assert all(end <= start for end, start in zip(ends, starts[1:], strict=False))


def test_chunking_is_exact_for_a_model_with_finite_context(long_file: Path, tmp_path: Path) -> None:
    """A frame-wise encoder without feature normalisation sees the same context in a chunk as
    in the whole file, except near the chunk's ends, which stitching leaves out."""
    overrides = ["encoder=dnn", "encoder.hidden_size=32", "encoder.num_layers=1"]
    cfg = compose_config([*overrides, "features.normalize=none"], tmp_path)
    torch.manual_seed(0)
    model = build_model(cfg, CharTokenizer(), texts=lambda: []).eval()
    with torch.no_grad():  # untrained: sharpen its outputs, and have it emit words
        model.head.linear.weight.mul_(10.0)
        model.head.linear.bias[model.tokenizer.vocab.index(" ")] += 3.0
    whole = Transcriber(model, model.head.decoder, RATE, chunk_seconds=90.0)
    chunked = Transcriber(model, model.head.decoder, RATE, chunk_seconds=4.0, overlap_seconds=1.0)
    (expected,) = whole([long_file])
    (result,) = chunked([long_file])
    assert len(expected.words) > 100
    assert result.text == expected.text
    assert result.words == expected.words


def test_a_folder_to_jsonl_with_bad_files_reported_and_skipped(
    tiny_run: Path, speech: list[Tensor], tmp_path: Path
) -> None:
    folder = tmp_path / "audio"
    (folder / "sub").mkdir(parents=True)
    write_audio(folder / "a.wav", speech[0], RATE)
    write_audio(folder / "sub" / "b.flac", speech[2], 22050)
    (folder / "bad.wav").write_bytes(b"RIFF this is not audio")
    sf.write(folder / "empty.wav", np.zeros(0, dtype="float32"), RATE)
    sf.write(folder / "nan.wav", np.full(RATE, np.nan, dtype="float32"), RATE, subtype="FLOAT")
    (folder / "notes.txt").write_text("not audio, not read")
    out = tmp_path / "results" / "out.jsonl"
    missing = tmp_path / "missing.wav"
    failures = run(tiny_run, [str(folder), str(missing)], f"out={out}")

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["path"] for line in lines] == [str(folder / "a.wav"), str(folder / "sub/b.flac")]
    assert [line["sample_rate"] for line in lines] == [RATE, 22050]
    assert lines[0]["duration"] == pytest.approx(len(speech[0]) / RATE, abs=1e-3)
    for line in lines:
        assert line["text"] == " ".join(w["word"] for w in line["words"])
        assert all(0 <= w["start"] < w["end"] <= line["duration"] for w in line["words"])
    assert [f.path.name for f in failures] == ["bad.wav", "empty.wav", "nan.wav", "missing.wav"]
    assert "cannot read" in failures[0].error and "empty" in failures[1].error
    assert f"NaN or infinite sample(s): {folder / 'nan.wav'}" in failures[2].error
    assert "not found" in failures[3].error


def test_text_format_with_a_beam_decoder(tiny_run: Path, speech: list[Tensor], tmp_path: Path):
    write_audio(tmp_path / "a.wav", speech[3], RATE)
    out = tmp_path / "out.txt"
    cfg = config(tiny_run, [str(tmp_path / "*.wav")], "format=text", f"out={out}", "decoder=beam")
    paths, transcriber = prepare(cfg)
    assert isinstance(transcriber.decoder, BeamDecoder)
    assert transcribe(cfg, paths, transcriber) == []
    (line,) = out.read_text().splitlines()
    path, text = line.split("\t")
    assert path == str(tmp_path / "a.wav") and text == next(transcriber(paths)).text


def test_lm_train_is_the_runs_lm_or_the_one_eval_and_decode_build(
    tiny_run: Path, speech: list[Tensor], tmp_path: Path
) -> None:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    shutil.copy(tiny_run / "checkpoints" / "last.ckpt", run / "checkpoints")
    write_audio(tmp_path / "a.wav", speech[0], RATE)
    cfg = config(run, [str(tmp_path / "a.wav")], "decoder=beam_lm")
    # Trained without an LM: the LM of the training transcripts, cached in RUN/logprobs.
    _, transcriber = prepare(cfg)
    assert isinstance(transcriber.decoder, BeamDecoder)
    assert len(list((run / "logprobs").glob("lm-*.arpa"))) == 1

    shutil.rmtree(run / "logprobs")
    _, model_cfg = load_model(run / "checkpoints" / "last.ckpt")
    texts = (u.text for u in read_manifest(model_cfg.data.source.train))
    build_arpa(texts, run / "lm.arpa", order=model_cfg.lm.order, unit=model_cfg.lm.unit)
    prepare(cfg)
    assert not (run / "logprobs").exists()


@pytest.mark.parametrize(
    ("inputs", "extra", "message"),
    [
        (["{tmp}/none/*.wav"], [], "matches no audio file"),
        (["{tmp}"], [], "matches no audio file"),
        (["{tmp}/absent/"], [], "matches no audio file"),
        (["{tmp}/a.wav"], ["format=csv"], "format=csv"),
        (["{tmp}/a.wav"], ["decoder=beam_lm", "decoder.lm={tmp}/absent.arpa"], "no such file"),
        (["{tmp}/a.wav"], ["decoder=beam_lm", "decoder.lm={tmp}/notes.txt"], "notes.txt:1: "),
        (["{tmp}/a.wav"], ["chunk_seconds=1", "overlap_seconds=1"], "overlap"),
    ],
)
def test_bad_options_are_refused_before_any_file_is_read(
    tiny_run: Path, tmp_path: Path, inputs: list[str], extra: list[str], message: str
) -> None:
    (tmp_path / "notes.txt").write_text("not audio")
    inputs = [i.format(tmp=tmp_path) for i in inputs]
    extra = [e.format(tmp=tmp_path) for e in extra]
    with pytest.raises(ValueError, match=message):
        prepare(config(tiny_run, inputs, *extra))


def test_a_missing_or_foreign_checkpoint_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.wav").touch()
    (tmp_path / "model.ckpt").write_text("not a checkpoint")
    for overrides, message in [
        ([f"inputs=[{tmp_path}]"], "give ckpt_path"),
        ([f"inputs=[{tmp_path}]", f"ckpt_path={tmp_path}/last.ckpt"], "no such file"),
        ([f"inputs=[{tmp_path}]", f"ckpt_path={tmp_path}/model.ckpt"], "model.ckpt: refused to"),
    ]:
        with pytest.raises(ValueError, match=message):
            prepare(compose_config(overrides, tmp_path, config_name="transcribe"))


def test_the_command_writes_jsonl_to_stdout_and_fails_on_a_bad_file(
    tiny_run: Path, speech: list[Tensor], tmp_path: Path
) -> None:
    write_audio(tmp_path / "a.wav", speech[0], RATE)
    (tmp_path / "b.wav").write_bytes(b"not audio")
    ckpt = tiny_run / "checkpoints" / "last.ckpt"
    command = [
        sys.executable,
        "-m",
        "asrlab.cli.transcribe",
        f"ckpt_path={ckpt}",
        "inputs=[a.wav,b.wav]",
    ]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    (line,) = done.stdout.splitlines()
    assert json.loads(line)["path"] == "a.wav"
    assert "b.wav" in done.stderr and "1 of 2 files could not be read" in done.stderr
    assert list((tmp_path / "outputs" / "transcribe" / "runs").glob("*/transcribe.log"))


def config(tiny_run: Path, inputs: list[str], *overrides: str) -> DictConfig:
    """The transcribe config for the tiny run's last checkpoint (its run folder is not used)."""
    ckpt = tiny_run / "checkpoints" / "last.ckpt"
    listed = ",".join(inputs)
    overrides = (f"ckpt_path={ckpt}", f"inputs=[{listed}]", *overrides)
    return compose_config(list(overrides), "unused", config_name="transcribe")


def run(tiny_run: Path, inputs: list[str], *overrides: str) -> list[Failure]:
    cfg = config(tiny_run, inputs, *overrides)
    return transcribe(cfg, *prepare(cfg))
