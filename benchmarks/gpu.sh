#!/usr/bin/env bash
# The one command to run on a machine with an NVIDIA GPU: training images/s and the fraction of the GPU's
# peak bf16 FLOP/s for resnet18-cifar and fast (torch.compile, bf16 autocast, channels_last, fused SGD,
# synthetic CIFAR-sized data), through the real engine; then the preset fast-gpu on real CIFAR-10 against its
# design target (>= 94% in <= 3 s of training on one H100). Refuses (exit 2, one line) without a GPU.
#
#   benchmarks/gpu.sh                      # resnet18-cifar, fast, then fast-gpu on ../shared's JPEG CIFAR-10
#   benchmarks/gpu.sh --data DIR           # fast-gpu on the official CIFAR-10 python files in DIR
#   benchmarks/gpu.sh --models resnet18-cifar cnn --epochs 10
#   GPU_PEAK_TFLOPS=400 benchmarks/gpu.sh  # a GPU the table in benchmarks/gpu.py does not know
#
# It writes its output to benchmarks/results/gpu-<gpu name>.txt as it goes: commit that file.
set -euo pipefail
cd "$(dirname "$0")/.."
exec env PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" python benchmarks/gpu.py "$@"
