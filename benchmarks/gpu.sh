#!/usr/bin/env bash
# The one command to run on a machine with an NVIDIA GPU: training images/s and the fraction of the GPU's
# peak bf16 FLOP/s for resnet18-cifar and fast (torch.compile, bf16 autocast, channels_last, fused SGD,
# synthetic CIFAR-sized data), through the real engine. Refuses (exit 2, one line) without a GPU.
#
#   benchmarks/gpu.sh                      # resnet18-cifar and fast
#   benchmarks/gpu.sh --models resnet18-cifar cnn --epochs 10
#   GPU_PEAK_TFLOPS=400 benchmarks/gpu.sh  # a GPU the table in benchmarks/gpu.py does not know
#
# Commit its output as benchmarks/results/gpu-<gpu name>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
exec env PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" python benchmarks/gpu.py "$@"
