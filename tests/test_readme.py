"""The commands of the README (and of docs/*.md) as a user types them.

Each command of a ```bash block is either run by `test_every_runnable_command_runs`, in order, in
a fresh folder, with ASRLAB_SMOKE=1 (asrlab.cli.smoke: one epoch of two batches, tiny synth_digits,
two Optuna trials), or skipped for a reason named in SKIPPED. The placeholders of the README
stand for what the commands before made, as PLACEHOLDERS says.
"""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import soundfile as sf

from helpers import tone
from readme_commands import Command, commands, markdown_files, strip_comment

ROOT = Path(__file__).resolve().parents[1]

FSDD = "needs the Free Spoken Digit Dataset at PATH/fsdd"
MAKE = "make installs into .venv (pip, network); `make test` is this suite"
BENCH = "a benchmark: minutes by design, not shrunk by ASRLAB_SMOKE"
AVERAGE = (
    "a smoke run (one epoch) keeps one checkpoint, too few to average: "
    "tests/training/test_averaging.py runs asrlab-average's entry point on more"
)
SKIPPED = {
    "make train": MAKE,
    "make test": MAKE,
    'make train ARGS="encoder=cnn features=mfcc"': MAKE,
    ".venv/bin/asrlab-doctor experiment=fsdd_si data.source.sources.fsdd.root=PATH/fsdd": FSDD,
    ".venv/bin/asrlab-doctor doctor.overfit_steps=200": (
        "200 training steps on one batch (45 s), not shrunk: a shrunk one could not overfit"
    ),
    ".venv/bin/tensorboard --logdir outputs": "a server: runs until stopped",
    ".venv/bin/asrlab-train data=lhotse data.source.train=PATH/cuts_train.jsonl.gz "
    "data.source.val=PATH/cuts_dev.jsonl.gz data.source.test=PATH/shar_test": (
        "needs Lhotse manifests of your own; tests/data/test_lhotse.py trains from generated ones"
    ),
    ".venv/bin/tensorboard --logdir outputs/sweep": "a server: runs until stopped",
    ".venv/bin/pip install jupyterlab && .venv/bin/jupyter lab notebooks/": (
        "installs from the network, then a server"
    ),
    ".venv/bin/asrlab-data kaldi kaldi.train=PATH/data/train kaldi.val=PATH/data/dev "
    "kaldi.test=PATH/data/test shard.out=PATH/shards": (
        "needs a Kaldi data directory; tests/tools/sharding/test_kaldi.py imports a generated one"
    ),
    ".venv/bin/asrlab-eval ckpt_path=RUN/checkpoints/last.ckpt data=fsdd data.source.root=PATH/fsdd": FSDD,  # noqa: E501
    ".venv/bin/asrlab-train -m seed=1,2,3 $BAR experiment=fsdd_official data.source.root=PATH/fsdd "
    "hydra.sweep.dir=fsdd_official": FSDD,
    ".venv/bin/asrlab-train -m experiment=fsdd_loso data.source.fold=all seed=1,2,3 "
    "data.source.sources.fsdd.root=PATH/fsdd": FSDD,
    ".venv/bin/asrlab-results default fsdd_official --out RESULTS.md": (
        "reads the fsdd_official sweep, which " + FSDD
    ),
    ".venv/bin/asrlab-train data=fsdd data.source.root=PATH/fsdd data.source.split=speaker "
    "data.source.test_speakers=[theo] data.source.val_speakers=[nicolas] features.n_features=64 "
    "init_from=pretrained/checkpoints/last.ckpt init.modules=[encoder] freeze.modules=[encoder] "
    "freeze.epochs=2 hydra.run.dir=finetuned": FSDD,
    ".venv/bin/asrlab-train data=fsdd data.source.root=PATH/fsdd data.source.split=speaker "
    "data.source.test_speakers=[theo] data.source.val_speakers=[nicolas] features.n_features=64 "
    "hydra.run.dir=scratch": FSDD,
    ".venv/bin/asrlab-compare finetuned scratch": "compares the two FSDD runs above, which " + FSDD,
    ".venv/bin/python bench/fsdd_speakers.py --out bench/results/fsdd_finetuned -- "
    "init_from=pretrained_crnn/checkpoints/last.ckpt 'init.modules=[encoder]' "
    "'freeze.modules=[encoder]' freeze.epochs=2": FSDD,
    ".venv/bin/python bench/fsdd_speakers.py --out bench/results/fsdd_finetuned_hard -- "
    "init_from=pretrained_hard/checkpoints/last.ckpt 'init.modules=[encoder]' "
    "'freeze.modules=[encoder]' freeze.epochs=2": FSDD,
    ".venv/bin/python bench/fsdd_speakers.py --out bench/results/fsdd_librosa35 -- "
    "features=librosa_logmel features.top_db=35": FSDD,
    ".venv/bin/asrlab-train trainer=ddp trainer.devices=4": (
        "4 processes: trainer=ddp's 2 run, and a CI machine has 2 cores"
    ),
    ".venv/bin/asrlab-train trainer=ddp trainer.accelerator=gpu": "needs 2 GPUs",
    ".venv/bin/asrlab-train -m hydra/launcher=submitit_slurm hydra.launcher.partition=gpu "
    "hydra.launcher.timeout_min=720 hydra.launcher.nodes=1 hydra.launcher.gpus_per_node=4 "
    "hydra.launcher.tasks_per_node=4 hydra.launcher.cpus_per_task=8 hydra.launcher.mem_gb=64 "
    "trainer=ddp trainer.accelerator=gpu trainer.devices=4 trainer.num_nodes=1 "
    "data.num_workers=6 seed=1,2,3": "needs a SLURM cluster",
    ".venv/bin/asrlab-train -m hparams_search=optuna hydra/launcher=submitit_slurm "
    "hydra.launcher.partition=gpu hydra.launcher.timeout_min=120 hydra.launcher.gpus_per_node=1 "
    "hydra.sweeper.storage=postgresql://USER@HOST:5432/optuna hydra.sweeper.study_name=gru_lr "
    "hydra.sweeper.n_trials=64 hydra.sweeper.n_jobs=8 trainer.accelerator=gpu": (
        "needs a SLURM cluster and a PostgreSQL server"
    ),
    ".venv/bin/asrlab-decode -m ckpt_path=CTC_AED_RUN/checkpoints/last.ckpt search.beam_size=1,4 "
    "search.ctc_weight=0.3,0.5 search.lm=train lm.unit=char search.lm_weight=0.5": (
        "needs a ctc_aed run; RUN is a CTC one (tests/tools/decoding/test_search.py sweeps one)"
    ),
    ".venv/bin/asrlab-average RUN --last 3": AVERAGE,
    ".venv/bin/asrlab-average RUN --best 3 --out RUN/checkpoints/best3.ckpt": AVERAGE,
    ".venv/bin/python bench/data_pipeline.py": BENCH,
    ".venv/bin/python bench/manifest_scale.py": BENCH,
    ".venv/bin/python bench/encoders.py": BENCH,
    ".venv/bin/python bench/decoding.py RUN_DIR": BENCH,
    ".venv/bin/python bench/train_overhead.py": BENCH,
    ".venv/bin/python bench/seed_spread.py": BENCH,
    ".venv/bin/python bench/compare_significance.py": BENCH,
    ".venv/bin/python bench/heads.py": BENCH,
    ".venv/bin/python bench/samplers.py": BENCH,
    ".venv/bin/python bench/shards.py": BENCH,
    ".venv/bin/python bench/shards.py --n 20000 --repeats 2": BENCH,
    ".venv/bin/python bench/feature_storage.py": BENCH,
    ".venv/bin/python bench/recipes.py": BENCH,
    ".venv/bin/python bench/sweep_pruning.py": BENCH,
    ".venv/bin/python bench/sweep_pruning.py --pruners successive_halving hyperband": BENCH,
    ".venv/bin/python bench/sweep_pruning.py --pruners successive_halving hyperband median "
    "--out bench/results/sweep_pruning_wer -- hydra.sweeper.pruning_metric=val/wer": BENCH,
    ".venv/bin/python bench/sweep_pruning.py --pruners successive_halving hyperband --out "
    "bench/results/sweep_pruning_wer4 -- hydra.sweeper.pruning_metric=val/wer "
    "hydra.sweeper.pruners.successive_halving.reduction_factor=4 "
    "hydra.sweeper.pruners.hyperband.reduction_factor=4": BENCH,
    ".venv/bin/python bench/heads.py --tasks fsdd --heads rnnt ctc_aed --encoders conformer -- "
    "trainer.max_epochs=20": BENCH,
    ".venv/bin/asrlab-train -m experiment=fsdd_si data.source.sources.fsdd.root=PATH/fsdd "
    "head=ctc,rnnt,aed,ctc_aed encoder=gru,conformer hydra.sweep.dir=outputs/heads/fsdd": FSDD,
    "bench/gpu_check.sh --dry-run": "prints commands; tests/test_bench_gpu_check.py runs it",
    "bench/gpu_check.sh --steps 60 --repeats 2": "needs an NVIDIA GPU",
    ".venv/bin/python bench/seed_spread.py --tasks hard --seeds 1 2 3 --configs default nemo_like "
    "crnn conformer encoder=lstm": BENCH,
    ".venv/bin/python bench/train_overhead.py --steps 20 --repeats 6 --encoder lstm --threads 1": (
        BENCH
    ),
}
# What the README's placeholders stand for here (`_substitute`); the files the commands need are
# made first by `_workdir`: train/dev/test/other.jsonl, data/manifests/train.jsonl, corpus.txt,
# the audio.
PLACEHOLDERS = {
    "RUN": "the run folder of `asrlab-train data=manifest ...` (trained on train.jsonl)",
    "DIR": "a new folder per command: dir<LINE>",
    "DATE_TIME": "the newest folder in the folder named before it",
    "A": "outputs/train/multiruns/A: the first multirun",
    "B": "outputs/train/multiruns/B: the second multirun",
}
# A word in capitals, neither a shell variable (`$NAME`, `NAME=`) nor a file name: a placeholder.
_PLACEHOLDER = re.compile(r"(?<![$\w])[A-Z][A-Z_]*(?![.\w=])")
# `NAME=value` alone: a shell variable for the commands after it.
_ASSIGNMENT = re.compile(r"[A-Za-z_]\w*=\S*")
# The programs `test_every_runnable_command_runs` runs.
PROGRAMS = {
    *(f".venv/bin/asrlab-{name}" for name in ("train", "doctor", "decode", "compare", "eval")),
    ".venv/bin/asrlab-data",
    *(f".venv/bin/asrlab-{name}" for name in ("transcribe", "export", "reproduce", "resume")),
    ".venv/bin/asrlab-results",
    "asrlab-lm",
    "asrlab-train",
}
# Before this fix every `-m` command without hydra.sweep.dir failed, and options after the run
# of asrlab-reproduce did: these stay runnable.
ONCE_FAILED = [
    ".venv/bin/asrlab-train -m encoder=lstm,gru,cnn,dnn,crnn",
    ".venv/bin/asrlab-reproduce RUN --out DIR trainer.max_epochs=10",
]


def _program(text: str) -> str:
    """The program a command runs, after any `NAME=value` it sets for it."""
    return next(word for word in text.split() if not _ASSIGNMENT.fullmatch(word))


def _documented() -> list[Command]:
    return list(commands(markdown_files(ROOT)))


def test_every_command_is_run_or_skipped_for_a_named_reason() -> None:
    found = _documented()
    texts = {command.text for command in found}
    assert all(text in texts for text in [*SKIPPED, *ONCE_FAILED]), (
        "a command in SKIPPED or ONCE_FAILED is no longer documented: "
        f"{sorted((set(SKIPPED) | set(ONCE_FAILED)) - texts)}"
    )
    assert not set(ONCE_FAILED) & set(SKIPPED)
    runnable = [c for c in found if c.text not in SKIPPED and not _ASSIGNMENT.fullmatch(c.text)]
    unknown = [str(c) for c in runnable if _program(c.text) not in PROGRAMS]
    assert not unknown, f"neither run nor in SKIPPED (add it there with a reason): {unknown}"
    unknown = [str(c) for c in runnable if set(_PLACEHOLDER.findall(c.text)) - set(PLACEHOLDERS)]
    assert not unknown, f"a placeholder that is not in PLACEHOLDERS: {unknown}"


def test_commands_are_read_as_a_shell_reads_them(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n```bash\nmake  # comment\n# only a comment\n\na 'x # y' \\\n"
        "    b=c#d   # joined\n```\n```python\nnot = 'a command'\n```\n"
    )
    assert [(c.line, c.text) for c in commands([page])] == [(3, "make"), (6, "a 'x # y' b=c#d")]
    assert strip_comment('x "#" y # z') == 'x "#" y'


def _workdir(root: Path, manifests: dict[str, Path]) -> None:
    """What the README's commands read: the venv, manifests, a text corpus, audio files."""
    (root / ".venv").symlink_to(ROOT / ".venv")
    (root / "docs").mkdir()
    for split, name in [("train", "train"), ("val", "dev"), ("test", "test"), ("test", "other")]:
        lines = []
        for line in manifests[split].read_text().splitlines():
            entry = json.loads(line)
            entry["audio_filepath"] = str(manifests[split].parent / entry["audio_filepath"])
            lines.append(json.dumps(entry) + "\n")
        (root / f"{name}.jsonl").write_text("".join(lines))
    (root / "data" / "manifests").mkdir(parents=True)
    shutil.copy(root / "train.jsonl", root / "data" / "manifests" / "train.jsonl")
    (root / "corpus.txt").write_text("one two three\nfour five six seven\n")
    (root / "recordings").mkdir()
    (root / "calls" / "monday").mkdir(parents=True)
    wave = tone(1.0).numpy()
    for name in ["a.wav", "b.flac", "recordings/c.wav"]:
        sf.write(root / name, wave, 16000)
    sf.write(root / "calls" / "monday" / "d.ogg", wave, 16000, format="OGG", subtype="VORBIS")


def _newest(folder: Path) -> Path:
    return max((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.name)


def _manifest_run(root: Path) -> Path:
    for run in sorted((root / "outputs" / "train" / "runs").iterdir()):
        if "data=manifest" in (run / ".hydra" / "overrides.yaml").read_text():
            return run.relative_to(root)
    raise AssertionError("no run of `asrlab-train data=manifest ...` before a command on RUN")


def _substitute(command: Command, root: Path) -> str:
    """The command with PLACEHOLDERS replaced."""
    text = command.text
    multiruns = root / "outputs" / "train" / "multiruns"
    for name, index in [("A", 0), ("B", 1)]:
        if f"multiruns/{name}" in text:
            run = sorted(multiruns.iterdir())[index].relative_to(root)
            text = text.replace(f"outputs/train/multiruns/{name}", str(run))
    text = re.sub(
        r"(\S+)/DATE_TIME", lambda m: str(_newest(root / m.group(1)).relative_to(root)), text
    )
    text = re.sub(r"\bDIR\b", f"dir{command.line}", text)
    if re.search(r"\bRUN\b", text):
        text = re.sub(r"\bRUN\b", str(_manifest_run(root)), text)
    return text


@pytest.mark.slow
def test_every_runnable_command_runs(tiny_synth: dict[str, Path], tmp_path: Path) -> None:
    _workdir(tmp_path, tiny_synth)
    env = {
        **os.environ,
        "ASRLAB_SMOKE": "1",
        "ASRLAB_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "PATH": os.pathsep.join([str(tmp_path / ".venv" / "bin"), os.environ["PATH"]]),
        "OMP_NUM_THREADS": "1",
    }
    assignments = []  # `NAME=value` lines hold for the commands after them, as in one shell
    seconds = {}
    ran = set()  # a command shown on two pages runs once
    for command in _documented():
        if command.text in SKIPPED or command.text in ran:
            continue
        ran.add(command.text)
        text = _substitute(command, tmp_path)
        if _ASSIGNMENT.fullmatch(text):
            assignments.append(text)
            continue
        start = time.perf_counter()
        done = subprocess.run(
            ["bash", "-c", "; ".join([*assignments, text])],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        seconds[str(command)] = round(time.perf_counter() - start, 1)
        assert done.returncode == 0, (
            f"{command} (run as: {text}) exited with {done.returncode}:\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    print(json.dumps(seconds, indent=1))
