#!/usr/bin/env bash
# One prepared GPU command (issue 13 item 5): on a bare CUDA machine holding the project's files
# and its pip-installed dependencies, in at most 8 minutes on one H100/H200,
#   (a) the tests marked `gpu` (estimators on CUDA tensors, a training step of each comparison config),
#   (b) training throughput of DCGAN-64 and ResNet-64 at batch 64, our trainer (bf16, channels_last,
#       compiled) against a plain fp32 loop of the same models, and MMD^2 / KID at n = 50 000 on the
#       GPU against the CPU,
#   (c) the 64 px comparison of the five methods (WGAN-GP, SN-GAN, MMD-GAN-GP, SMMD, SN-SMMD) on the
#       mnist5k stand-in for the rest of the budget (five runs sharing the GPU),
# writing CSVs, figures and a log with the device name under OUT:
#   OUT/run_all.log, OUT/pytest_gpu.log, OUT/benchmarks/{train_throughput,estimators_gpu}.csv,
#   OUT/gpu/{image_comparison_gpu64_scores.png, image_comparison_gpu64_samples.png,
#            image_comparison_gpu64.csv, runs/...}.
# Commit OUT/benchmarks/ under results/benchmarks/gpu/ and OUT/gpu/ (without runs/) under results/gpu/.
#
# usage: experiments/gpu/run_all.sh OUT [--cpu-smoke]
#   --cpu-smoke: the same steps end to end on a CPU in about a minute (tiny sizes; the `gpu` tests run
#                with GANDIV_GPU_TEST_DEVICE=cpu); part of the test suite (tests/test_gpu_script.py).
set -euo pipefail
if [[ $# -lt 1 || "$1" == -* ]]; then
  echo "usage: $0 OUT [--cpu-smoke]" >&2
  exit 2
fi
OUT=$1
SMOKE=0
if [[ "${2:-}" == "--cpu-smoke" ]]; then SMOKE=1; elif [[ -n "${2:-}" ]]; then echo "unknown option $2" >&2; exit 2; fi
cd "$(dirname "$0")/../.."   # the repository root
PY=${PYTHON:-python}
mkdir -p "$OUT/benchmarks" "$OUT/gpu/runs"
OUT=$(cd "$OUT" && pwd)
exec > >(tee -a "$OUT/run_all.log") 2>&1
T0=$(date +%s)
BUDGET=${GANDIV_GPU_BUDGET_S:-470}     # seconds for everything (8 minutes minus start-up slack)
elapsed() { echo $(( $(date +%s) - T0 )); }
echo "== run_all.sh $(date -u +%FT%TZ) smoke=$SMOKE budget=${BUDGET}s"
$PY - <<'PYEOF'
import torch
from experiments.common import device_name, machine_name
print("machine:", machine_name())
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device:", device_name("cuda"))
PYEOF
if [[ $SMOKE == 0 ]]; then
  $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)" || {
    echo "no CUDA device: run with --cpu-smoke on a CPU"; exit 3; }
  DEV=cuda
else
  DEV=cpu
fi

echo "== (a) tests marked gpu [$(elapsed) s]"
GANDIV_GPU_TEST_DEVICE=$DEV $PY -m pytest -q -p no:cacheprovider -m gpu tests/test_gpu_paths.py \
  > "$OUT/pytest_gpu.log" 2>&1 && echo "gpu tests passed" || echo "gpu tests FAILED (see pytest_gpu.log)"
tail -n 3 "$OUT/pytest_gpu.log"

echo "== (b) throughput and estimators [$(elapsed) s]"
if [[ $SMOKE == 0 ]]; then
  $PY -m experiments.benchmarks.train_throughput --device cuda --out "$OUT/benchmarks/train_throughput.csv"
  $PY -m experiments.gpu.estimators --n 50000 --cpu-n 10000 --out "$OUT/benchmarks/estimators_gpu.csv"
else
  $PY -m experiments.benchmarks.train_throughput --tiny --device cpu --out "$OUT/benchmarks/train_throughput.csv"
  $PY -m experiments.gpu.estimators --cpu-only --n 1200 --d 64 --repeats 1 --out "$OUT/benchmarks/estimators_gpu.csv"
fi

echo "== (c) 64 px comparison on mnist5k [$(elapsed) s]"
METHODS="wgan_gp sngan mmd_gp smmd sn_smmd"
REPORT=30                                  # seconds kept for the report
LEFT=$(( BUDGET - $(elapsed) - REPORT ))
if [[ $SMOKE == 1 ]]; then
  SETS=(--set device=cpu --set train.compile=false --set train.iterations=4 --set train.batch_size=4
        --set train.n_critic=1 --set generator.ch=4 --set discriminator.ch=4 --set eval.every=2 --set eval.n=32
        --set eval.batch_size=32 --set eval.kid_subsets=2 --set eval.kid_subset_size=16 --set train.checkpoint_every=2)
  LEFT=120
  THREADS=1                                # five processes share the CPU's cores: one thread each
else
  SETS=()
  THREADS=2                                # host-side threads per run (data loading, metrics)
fi
if (( LEFT < 60 )); then echo "only ${LEFT}s left for the comparison; running it anyway for 60 s"; LEFT=60; fi
echo "training the five methods side by side for at most ${LEFT}s"
pids=()
for m in $METHODS; do
  timeout --signal=INT --kill-after=20 "$LEFT" $PY -m experiments.image_comparison train \
    --config experiments/train_configs/image/gpu64.yaml "experiments/train_configs/image/losses/$m.yaml" \
    --out "$OUT/gpu/runs/gpu64/$m/seed0" --device "$DEV" --threads "$THREADS" "${SETS[@]}" \
    > "$OUT/gpu/train_$m.log" 2>&1 &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then echo "run $i finished"; else echo "run $i stopped (exit $?: 124/130 = the deadline)"; fi
done
$PY -m experiments.image_comparison report --runs $(for m in $METHODS; do echo "$OUT/gpu/runs/gpu64/$m/seed0"; done) \
  --scores "$OUT/gpu/image_comparison_gpu64_scores.png" --samples "$OUT/gpu/image_comparison_gpu64_samples.png" \
  --table "$OUT/gpu/image_comparison_gpu64.csv"
echo "== done in $(elapsed) s"
