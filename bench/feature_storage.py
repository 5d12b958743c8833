"""asrlab's feature cache against Lhotse's feature storage, on the same utterances and features.

Utterances: synth_digits' training split (2,600; generated on first use), or `--manifest`.
Features: the default `features` config's frontend (log-mel, 80 bins), computed by asrlab for
both: ours through `FeatureCache.prepare`, Lhotse's through its writers' own API
(`FeaturesWriter.store_array`, giving a `TemporalArray` manifest per utterance), not its
extractors. Writers measured: `numpy_files` (one float32 .npy per utterance, the one Lhotse
writer that needs no extra package), and where their packages are installed `lilcom_chunky`
(lilcom, lossy) and `numpy_hdf5` (h5py); a missing one is listed with the reason.

Per storage: seconds to write (audio read, frontend, store), the same again when everything is
stored (`rewrite_seconds`: ours finds every utterance cached; Lhotse's writers know nothing of
what they stored and write it all again), read throughput (utterances/s and frames/s, every
utterance once in a shuffled order from a fresh reader, as a loader's epoch does), bytes on disk
(manifests and indexes included), and the largest absolute error against the frontend's float32
output. The computation alone (`compute_seconds`) is measured once, so what storing adds is
`write_seconds - compute_seconds`.

    python bench/feature_storage.py [--manifest PATH] [--workdir DIR]
"""

import argparse
import importlib.util
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate
from lhotse.array import TemporalArray
from lhotse.features.io import (
    FeaturesWriter,
    LilcomChunkyWriter,
    NumpyFilesWriter,
    NumpyHdf5Writer,
)
from omegaconf import OmegaConf
from torch import Tensor, nn

from asrlab.data.audio import read_audio
from asrlab.data.feature_cache import FeatureCache
from asrlab.data.folds import build_source
from asrlab.data.manifest import Utterance, read_manifest
from common import compose_train, write_result

LHOTSE_WRITERS: dict[str, tuple[str | None, str, type[FeaturesWriter]]] = {
    "numpy_files": (None, "", NumpyFilesWriter),
    "lilcom_chunky": ("lilcom", ".lca", LilcomChunkyWriter),
    "numpy_hdf5": ("h5py", ".h5", NumpyHdf5Writer),
}
"""name -> (the package it needs, its storage's suffix: a folder or a file, the writer)."""


def features_of(frontend: nn.Module, utt: Utterance, sample_rate: int) -> Tensor:
    """The frontend's (T, F) float32 features of one utterance, as the feature cache computes
    them."""
    wave = read_audio(utt.audio_filepath, sample_rate)
    feats, lengths = frontend(wave[None], torch.tensor([len(wave)]))
    return feats[0, : lengths[0]]


def stored_files(path: Path) -> list[Path]:
    """The file `path`, or the files under the folder `path`."""
    return [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in stored_files(path))


def file_count(path: Path) -> int:
    return len(stored_files(path))


def read_rate(read: Callable[[int], Tensor | np.ndarray], order: np.ndarray) -> dict[str, float]:
    frames, start = 0, time.perf_counter()
    for i in order:
        frames += len(read(int(i)))
    seconds = time.perf_counter() - start
    return {
        "read_utterances_per_s": round(len(order) / seconds, 1),
        "read_frames_per_s": round(frames / seconds),
    }


def max_error(read: Callable[[int], Tensor | np.ndarray], reference: list[Tensor]) -> float:
    return max(
        float((torch.as_tensor(read(i)).float() - ref).abs().max())
        for i, ref in enumerate(reference)
    )


def measure_ours(
    utterances: list[Utterance], frontend: nn.Module, config: dict, sample_rate: int, workdir: Path
) -> tuple[dict[str, Any], Callable[[int], Tensor]]:
    cache = FeatureCache(workdir / "asrlab", frontend, config, sample_rate)
    start = time.perf_counter()
    cache.prepare(utterances)
    write = time.perf_counter() - start
    start = time.perf_counter()
    stored = cache.prepare(utterances)
    rewrite = time.perf_counter() - start
    return {
        "write_seconds": round(write, 2),
        "rewrite_seconds": round(rewrite, 2),
        "bytes": folder_bytes(cache.folder),
        "files": file_count(cache.folder),
        "resume": "keyed by audio file (path, size, mtime) under a folder keyed by the feature "
        "config: a rerun, a resumed interrupted build (complete shards are kept) or another "
        "manifest of the same files computes only what is missing; concurrent builders lock "
        "each shard",
        "invalidation": "a rewritten audio file or a changed feature config is computed anew",
    }, lambda i: stored[i]


def measure_lhotse(
    name: str,
    utterances: list[Utterance],
    frontend: nn.Module,
    sample_rate: int,
    workdir: Path,
) -> tuple[dict[str, Any], Callable[[int], np.ndarray]]:
    package, suffix, writer_class = LHOTSE_WRITERS[name]
    frame_shift = frontend.hop_samples / sample_rate
    storage = workdir / f"{name}{suffix}"
    manifest = workdir / f"{name}.jsonl"

    def write() -> list[TemporalArray]:
        with writer_class(storage) as writer:
            arrays = [
                writer.store_array(
                    f"{i:08d}",
                    features_of(frontend, utt, sample_rate).numpy(),
                    frame_shift=frame_shift,
                    temporal_dim=0,
                )
                for i, utt in enumerate(utterances)
            ]
        manifest.write_text("".join(json.dumps(a.to_dict()) + "\n" for a in arrays))
        return arrays

    start = time.perf_counter()
    write()
    write_seconds = time.perf_counter() - start
    start = time.perf_counter()
    arrays = write()  # over the first: nothing tells the writer what it holds
    rewrite = time.perf_counter() - start
    return {
        "write_seconds": round(write_seconds, 2),
        "rewrite_seconds": round(rewrite, 2),
        "bytes": folder_bytes(storage) + manifest.stat().st_size,
        "files": file_count(storage) + 1,
        "resume": "none: the writer stores what it is given; which utterances are stored is "
        "known only from the manifest the caller keeps, and an interrupted write leaves no "
        "manifest (compute_and_store_features starts over)",
        "invalidation": "none: nothing records the feature config or the audio file's version; "
        "the caller names storage paths",
    }, lambda i: arrays[i].load()


def inputs(workdir: Path, manifest: Path | None) -> tuple[list[Utterance], nn.Module, dict, int]:
    """The utterances (of `manifest`, else synth_digits' training split), the default frontend
    in eval mode, its config and the sample rate, from the training config."""
    cfg = compose_train(["data.source.num_val=0", "data.source.num_test=0"], workdir / "run")
    if manifest is None:  # the training split is the same whatever the other splits' sizes
        manifest = build_source(cfg.data.source).prepare()["train"]
    return (
        read_manifest(manifest),
        instantiate(cfg.features).eval(),
        OmegaConf.to_container(cfg.features, resolve=True),
        int(cfg.data.sample_rate),
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, help="a JSONL manifest instead of synth_digits")
    parser.add_argument("--workdir", type=Path, help="where the stores go (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as folder, torch.inference_mode():
        workdir = Path(folder)
        utterances, frontend, config, sample_rate = inputs(workdir, args.manifest)
        features_of(frontend, utterances[0], sample_rate)  # warm-up
        start = time.perf_counter()
        reference = [features_of(frontend, utt, sample_rate) for utt in utterances]
        compute = time.perf_counter() - start
        order = np.random.default_rng(0).permutation(len(utterances))
        rows, missing = {}, {}
        ours, read = measure_ours(utterances, frontend, config, sample_rate, workdir)
        rows["asrlab"] = (
            ours | read_rate(read, order) | {"max_abs_error": max_error(read, reference)}
        )
        for name, (package, _, _) in LHOTSE_WRITERS.items():
            if package and importlib.util.find_spec(package) is None:
                missing[name] = f"{package} not installed"
                continue
            row, read = measure_lhotse(name, utterances, frontend, sample_rate, workdir)
            rows[f"lhotse_{name}"] = (
                row | read_rate(read, order) | {"max_abs_error": max_error(read, reference)}
            )
            print(f"lhotse {name}: done", flush=True)
    result = {
        "utterances": len(utterances),
        "frames": sum(len(r) for r in reference),
        "features": config["_target_"].rsplit(".", 1)[-1] + f" {config['n_features']}",
        "compute_seconds": round(compute, 2),
        "rows": rows,
        "not_measured": missing,
    }
    write_result("feature_storage_smoke" if args.manifest else "feature_storage", result)
    print(table(result))
    return result


def table(result: dict[str, Any]) -> str:
    head = "| storage | write s | again s | read utt/s | MB | files | max abs error |"
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for name, r in result["rows"].items():
        lines.append(
            f"| {name} | {r['write_seconds']:.1f} | {r['rewrite_seconds']:.1f} | "
            f"{r['read_utterances_per_s']:,.0f} | {r['bytes'] / 1e6:.1f} | {r['files']:,} | "
            f"{r['max_abs_error']:.2g} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
