"""bench/shards.py: both readers deliver the whole corpus, and the opens they are charged with."""

import multiprocessing
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import shards  # noqa: E402


def test_smoke_reads_the_corpus_from_files_and_from_shards(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    written = {}
    monkeypatch.setattr(shards, "write_result", lambda name, result: written.update({name: result}))
    result = shards.main(["--smoke", "--workdir", str(tmp_path)])
    assert written == {"shards_smoke": result}
    files = result["files"]
    assert files["files_opened_epoch"] == result["utterances"]  # one WAV each
    assert files["peak_pss_mib"] > 0
    assert all(result[r]["epoch_cpu_seconds"] > 0 for r in ("files", "shar_wav", "shar_flac"))
    for shar in (result["shar_wav"], result["shar_flac"]):
        assert files["audio_seconds"] == shar["audio_seconds"] > 0  # every utterance, once
        assert shar["files_opened_epoch"] == 2  # one shard: its cuts and its recordings
        assert shar["first_batch_seconds"] > 0
    assert result["shar_flac"]["bytes"] < result["shar_wav"]["bytes"]
    assert result["lazy_manifest"]["first_batch_seconds"] > 0
    assert list(tmp_path.iterdir()) == []  # the corpus is gone


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_cpu_seconds_count_a_worker_that_ended() -> None:
    before = shards.cpu_seconds()
    worker = multiprocessing.get_context("fork").Process(target=_spin, args=(0.3,))
    worker.start()
    worker.join()
    assert shards.cpu_seconds() - before >= 0.25
