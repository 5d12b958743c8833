#!/usr/bin/env bash
# The GPU path, checked in one go (for a machine with an NVIDIA GPU; CI has none):
# - the default model (gru) and a Conformer, in bf16-mixed and fp32: samples/s of asrlab's
#   Trainer vs a plain torch loop (bench/train_overhead.py), with the GPU's utilisation sampled
#   by nvidia-smi meanwhile (does the loader keep the GPU busy?);
# - a short GPU training run, then torchaudio's cuda_ctc_decoder (decoder.device=cuda) vs the
#   CPU beam search on its test log-probs (bench/decoding.py).
# Writes one JSON (bench/gpu_check_report.py merges the parts).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/gpu_check.sh [--steps N] [--repeats R] [--out FILE] [--dry-run] [--help]
  --steps N     optimizer steps per timed training run (default 60)
  --repeats R   timed pairs of asrlab / plain runs per setting (default 2)
  --out FILE    the JSON report (default bench/results/gpu_check.json)
  --dry-run     print the commands it would run, run nothing
EOF
}

steps=60 repeats=2 out=bench/results/gpu_check.json dry_run=0
while (($#)); do
  case "$1" in
    --steps) steps=${2:?--steps needs a number}; shift 2 ;;
    --repeats) repeats=${2:?--repeats needs a number}; shift 2 ;;
    --out) out=${2:?--out needs a file}; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for number in "$steps" "$repeats"; do
  [[ $number =~ ^[1-9][0-9]*$ ]] || { echo "gpu_check.sh: not a positive count: $number" >&2; exit 2; }
done

cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
work=${GPU_CHECK_DIR:-bench/results/gpu_check}
train_cmd="$python -m asrlab.cli.train trainer=gpu trainer.precision=bf16-mixed trainer.max_epochs=3"

run() {  # NAME COMMAND...: run it with nvidia-smi sampling the GPU into NAME.util.csv
  local name=$1; shift
  if ((dry_run)); then echo "$*"; return; fi
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -lms 200 \
    >"$work/$name.util.csv" &
  local sampler=$!
  "$@" >"$work/$name.log" 2>&1 || { kill "$sampler"; echo "gpu_check.sh: $name failed, see $work/$name.log" >&2; exit 1; }
  kill "$sampler"
}

if ((!dry_run)); then
  command -v nvidia-smi >/dev/null || { echo "gpu_check.sh: no nvidia-smi: this needs an NVIDIA GPU" >&2; exit 1; }
  "$python" -c "import torch, sys; sys.exit(not torch.cuda.is_available())" \
    || { echo "gpu_check.sh: torch sees no CUDA device" >&2; exit 1; }
  mkdir -p "$work"
fi

for encoder in gru conformer; do
  for precision in bf16-mixed 32-true; do
    name="train-$encoder-$precision"
    run "$name" "$python" bench/train_overhead.py --encoder "$encoder" --steps "$steps" \
      --repeats "$repeats" -- trainer=gpu "trainer.precision=$precision"
    ((dry_run)) || cp bench/results/train_overhead.json "$work/$name.json"
  done
done
run decode-run $train_cmd "hydra.run.dir=$work/decode-run"
run decoding "$python" bench/decoding.py "$work/decode-run"
((dry_run)) || cp bench/results/decoding-decode-run.json "$work/decoding.json"
if ((dry_run)); then
  echo "$python bench/gpu_check_report.py $work $out"
else
  "$python" bench/gpu_check_report.py "$work" "$out"
fi
