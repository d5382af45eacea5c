#!/usr/bin/env bash
# Remake the pictures in docs/ that docs/pictures.md shows (run from the repository root).
# Each line is also printed in docs/pictures.md.
set -euo pipefail
cd "$(dirname "$0")/.."

adambench run beale -O "adam(lr=0.05),adamax(lr=0.05),sgd(lr=0.01),momentum(lr=0.002),nesterov(lr=0.002),adagrad(lr=0.5),rmsprop(lr=0.005)" --plot docs/beale.png --animate docs/beale.gif
adambench run long_valley -O "adam(lr=0.1),adamax(lr=0.1),sgd(lr=0.1),momentum(lr=0.02),nesterov(lr=0.02),adagrad(lr=0.5),rmsprop(lr=0.01)" --plot docs/long_valley.png
adambench run saddle_point -O "adam(lr=0.01),adamax(lr=0.01),sgd(lr=0.01),momentum(lr=0.01),nesterov(lr=0.01),adagrad(lr=0.1),rmsprop(lr=0.01)" --plot docs/saddle_point.png
adambench run noisy_logreg -O "adam(lr=0.05),adamax(lr=0.05),sgd(lr=0.5),momentum(lr=0.05),nesterov(lr=0.05),adagrad(lr=0.5),rmsprop(lr=0.01)" --plot docs/noisy_logreg.png
adambench run rosenbrock -O "adam(lr=0.02),momentum(lr=0.0005),rmsprop(lr=0.002)" --seeds 10 --start random --plot docs/rosenbrock_seeds.png
