import multiprocessing
import multiprocessing.synchronize
import pickle
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from asrlab.data import feature_cache
from asrlab.data.audio import read_audio, write_audio
from asrlab.data.feature_cache import CachedFeatureDataset, CachedFeatures, FeatureCache
from asrlab.data.manifest import Utterance
from asrlab.model.frontends import Frontend, LogMel
from asrlab.text.tokenizer import CharTokenizer
from helpers import SAMPLE_RATE, tone

TEXTS = ["one", "two three", "four", "five six", "seven"]
TOLERANCE = {"rtol": 2**-11, "atol": 1e-6}  # float16 storage


def config(n_features: int = 40) -> dict:
    return {"_target_": "asrlab.model.frontends.LogMel", "n_features": n_features}


def make_cache(cache_dir: Path, n_features: int = 40, shard_size: int = 2) -> FeatureCache:
    frontend = LogMel(sample_rate=SAMPLE_RATE, n_features=n_features)
    return FeatureCache(cache_dir, frontend, config(n_features), SAMPLE_RATE, shard_size)


@pytest.fixture
def utts(tmp_path: Path) -> list[Utterance]:
    """Five files (tones with noise, 0.2 to 0.6 s); with shard_size 2, three shards."""
    generator = torch.Generator().manual_seed(0)
    result = []
    for i, text in enumerate(TEXTS):
        wave = tone(0.2 + 0.1 * i, freq=300 + 100 * i)
        wave = wave + 0.05 * torch.randn(len(wave), generator=generator)
        path = tmp_path / "audio" / f"utt{i}.wav"
        path.parent.mkdir(exist_ok=True)
        write_audio(path, wave, SAMPLE_RATE)
        result.append(Utterance(path, len(wave) / SAMPLE_RATE, text, f"train.jsonl:{i + 1}"))
    return result


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts frontend calls: one entry (the batch size) per call."""
    counted: list[int] = []
    forward = Frontend.forward

    def counting(self: Frontend, wave: torch.Tensor, lengths: torch.Tensor):
        counted.append(len(wave))
        return forward(self, wave, lengths)

    monkeypatch.setattr(Frontend, "forward", counting)
    return counted


def expected(path: Path, n_features: int = 40) -> torch.Tensor:
    """The frontend's (T, F) output for one file, computed directly."""
    wave = read_audio(path, SAMPLE_RATE)
    feats, lengths = LogMel(SAMPLE_RATE, n_features)(wave[None], torch.tensor([len(wave)]))
    return feats[0, : lengths[0]]


def shard_files(folder: Path) -> dict[str, list[str]]:
    """The files of a cache folder by suffix; temporary files are hidden (`.name.tmp`)."""
    files = sorted(p.name for p in folder.iterdir())
    return {s: [f for f in files if f.endswith(s)] for s in (".pt", ".keys", ".tmp")}


def all_features(cached: CachedFeatures) -> list[torch.Tensor]:
    return [cached[i] for i in range(len(cached))]


def test_cached_features_equal_the_frontend_output(tmp_path: Path, utts: list[Utterance]) -> None:
    cache = make_cache(tmp_path / "cache")
    cached = cache.prepare(utts)
    assert len(cached) == len(utts)
    for i, utt in enumerate(utts):
        assert cached[i].dtype == torch.float32
        torch.testing.assert_close(cached[i], expected(utt.audio_filepath), **TOLERANCE)
    assert cache.folder.parent == tmp_path / "cache"
    assert cache.folder.name.startswith("features-")
    files = shard_files(cache.folder)
    assert len(files[".pt"]) == len(files[".keys"]) == 3
    assert not files[".tmp"]


def test_second_prepare_builds_nothing_even_for_another_manifest(
    tmp_path: Path, utts: list[Utterance], calls: list[int]
) -> None:
    first = all_features(make_cache(tmp_path / "cache").prepare(utts))
    assert sum(calls) == len(utts)
    # Another run, and another manifest sharing the files (reordered, one twice).
    again = make_cache(tmp_path / "cache").prepare(utts)
    other = [utts[3], utts[0], utts[3]]
    reused = make_cache(tmp_path / "cache", shard_size=512).prepare(other)
    assert sum(calls) == len(utts)
    assert all(torch.equal(a, b) for a, b in zip(first, all_features(again), strict=True))
    for feats, j in zip(all_features(reused), (3, 0, 3), strict=True):
        assert torch.equal(feats, first[j])


def test_another_feature_config_gets_its_own_folder(tmp_path: Path, utts: list[Utterance]) -> None:
    cache40 = make_cache(tmp_path / "cache", n_features=40)
    cache20 = make_cache(tmp_path / "cache", n_features=20)
    assert cache40.folder != cache20.folder
    cache40.prepare(utts)
    cached = cache20.prepare(utts)
    assert cached[0].shape == expected(utts[0].audio_filepath, n_features=20).shape
    assert cached[0].shape[1] == 20
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(
        [cache40.folder.name, cache20.folder.name]
    )


def test_a_rewritten_audio_file_is_recomputed(
    tmp_path: Path, utts: list[Utterance], calls: list[int]
) -> None:
    make_cache(tmp_path / "cache").prepare(utts)
    write_audio(utts[1].audio_filepath, tone(0.45, freq=1234.0), SAMPLE_RATE)
    cached = make_cache(tmp_path / "cache").prepare(utts)
    assert sum(calls) == len(utts) + 1
    torch.testing.assert_close(cached[1], expected(utts[1].audio_filepath), **TOLERANCE)
    torch.testing.assert_close(cached[2], expected(utts[2].audio_filepath), **TOLERANCE)


def test_an_interrupted_build_leaves_complete_shards_only(
    tmp_path: Path, utts: list[Utterance], calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = Frontend.forward

    def fails_third(self: Frontend, wave: torch.Tensor, lengths: torch.Tensor):
        if len(calls) == 2:
            raise RuntimeError("interrupted")
        return counting(self, wave, lengths)

    monkeypatch.setattr(Frontend, "forward", fails_third)
    cache = make_cache(tmp_path / "cache")
    with pytest.raises(RuntimeError, match="interrupted"):
        cache.prepare(utts)
    assert cache.frontend.training  # mode restored
    files = shard_files(cache.folder)
    assert len(files[".pt"]) == len(files[".keys"]) == 1
    assert not files[".tmp"]

    monkeypatch.setattr(Frontend, "forward", counting)
    cached = make_cache(tmp_path / "cache").prepare(utts)
    assert sum(calls) == len(utts)  # the first shard was kept
    for i, utt in enumerate(utts):
        torch.testing.assert_close(cached[i], expected(utt.audio_filepath), **TOLERANCE)
    assert len(shard_files(cache.folder)[".pt"]) == 3


def prepare_in_child(
    barrier: multiprocessing.synchronize.Barrier, cache_dir: Path, utts: list[Utterance], out: Path
) -> None:
    """In a forked process: wait for the other one, prepare the cache, and save the features it
    reads and how many utterances it computed."""
    torch.set_num_threads(1)  # no OpenMP thread pool after fork
    cache = make_cache(cache_dir, shard_size=1)
    computed = []
    forward = cache.frontend.forward

    def counting(wave: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        computed.append(len(wave))
        return forward(wave, lengths)

    cache.frontend.forward = counting
    barrier.wait(timeout=30)
    features = all_features(cache.prepare(utts))
    torch.save({"features": features, "computed": sum(computed)}, out)


def test_two_processes_preparing_at_once_agree(tmp_path: Path, utts: list[Utterance]) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    outs = [tmp_path / f"result{i}.pt" for i in range(2)]
    processes = [
        context.Process(target=prepare_in_child, args=(barrier, tmp_path / "cache", utts, out))
        for out in outs
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        process.kill()
        assert process.exitcode == 0
    results = [torch.load(out) for out in outs]
    assert sum(result["computed"] for result in results) == len(utts)  # each shard built once
    for a, b, utt in zip(*(result["features"] for result in results), utts, strict=True):
        assert torch.equal(a, b)
        torch.testing.assert_close(a, expected(utt.audio_filepath), **TOLERANCE)
    files = shard_files(make_cache(tmp_path / "cache").folder)
    assert len(files[".pt"]) == len(files[".keys"]) == len(utts)
    assert not files[".tmp"]


def test_dataset_returns_features_and_tokens(tmp_path: Path, utts: list[Utterance]) -> None:
    tokenizer = CharTokenizer()
    dataset = CachedFeatureDataset(utts, tokenizer, make_cache(tmp_path / "cache").prepare(utts))
    assert len(dataset) == len(utts)
    example = dataset[1]
    assert example.wave.shape == expected(utts[1].audio_filepath).shape
    assert example.wave.shape[1] == 40
    assert example.tokens.tolist() == tokenizer.encode("two three")
    assert example.text == "two three"
    assert example.id == "train.jsonl:2"
    with pytest.raises(ValueError, match="5 cached features for 2 utterances"):
        CachedFeatureDataset(utts[:2], tokenizer, dataset.cache)


def test_cached_features_pickle_without_their_loaded_shards(
    tmp_path: Path, utts: list[Utterance]
) -> None:
    cached = make_cache(tmp_path / "cache").prepare(utts)
    cached.max_loaded = 2
    first = all_features(cached)
    assert len(cached._loaded) == 2  # least recently used shards dropped
    copy = pickle.loads(pickle.dumps(cached))
    assert not copy._loaded
    assert all(torch.equal(a, b) for a, b in zip(first, all_features(copy), strict=True))


def test_shuffled_epochs_load_each_shard_once(
    tmp_path: Path, utts: list[Utterance], monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = make_cache(tmp_path / "cache", shard_size=1).prepare(utts)  # five shards
    loads: list[Path] = []
    load = feature_cache.safe_load

    def counted(path: Path, **kwargs):
        loads.append(path)
        return load(path, **kwargs)

    monkeypatch.setattr(feature_cache, "safe_load", counted)
    order = [4, 0, 2, 1, 3]
    for _ in range(2):
        [cached[i] for i in order]
    assert len(loads) == len(set(loads)) == 5
    cached.max_loaded, cached._loaded, loads[:] = 4, OrderedDict(), []
    for _ in range(2):
        [cached[i] for i in order]
    assert len(loads) == 10  # fewer kept than read in turn: each loaded anew every epoch
