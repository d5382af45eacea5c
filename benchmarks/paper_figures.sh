#!/bin/sh
# Draw the loss curves of docs/data.md (docs/figures/paper_*.png) from the repository root:
#   sh benchmarks/paper_figures.sh
# Each optimizer at the best lr of its sample sweep (sample_configs/paper_logreg_digits.yaml and
# paper_mlp.yaml and paper_bow.yaml, the lr x optimizer table), seed 0.
set -e
python -m adambench run sample_configs/digits_softmax_b128.yaml --steps 1000 \
  -O "adam(lr=0.1, schedule=inverse_sqrt), sgd(lr=10, momentum=0.9, nesterov=true, schedule=inverse_sqrt), adagrad(lr=10, schedule=inverse_sqrt)" \
  --plot docs/figures/paper_logreg_digits.png
python -m adambench run sample_configs/digits_mlp_dropout.yaml --steps 1000 \
  -O "${PAPER_MLP_OPTIMIZERS:-adam(lr=0.01), sgd(lr=0.01, momentum=0.9, nesterov=true), adagrad(lr=0.1), rmsprop(lr=0.01)}" \
  --plot docs/figures/paper_mlp.png
python -m adambench run sample_configs/bow_logistic_dropout.yaml --steps 2000 \
  -O "adam(lr=0.1, schedule=inverse_sqrt), adagrad(lr=10, schedule=inverse_sqrt), rmsprop(lr=0.1, schedule=inverse_sqrt), sgd(lr=1, momentum=0.9, nesterov=true, schedule=inverse_sqrt)" \
  --plot docs/figures/paper_bow.png
