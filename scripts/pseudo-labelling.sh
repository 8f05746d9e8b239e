#!/usr/bin/env bash
# The pseudo-labelling experiment of docs/pseudo-labelling.md (the report's Part V): unlabelled array
# gathers of a shifted site, pseudo-labels of the bundled model filtered by robust moveout regression
# and an SVM, self-training on them, against the starting model and fine-tuning on the true labels
# (the upper bound), all scored on held-out gathers. One command per step.
# Usage: scripts/pseudo-labelling.sh [work-dir]   (no shared data needed; about 45 min on 2 busy cores)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-runs/pseudo}
ps() { nice -n 15 node bin/phasestream.js "$@"; }

# 1. The site's recordings: 20 gathers (480 records) to pseudo-label, 6 held-out gathers to score.
[ -f "$work/pool/truth.csv" ] || ps simulate gathers --config config/pseudo-gathers.yaml --gathers 20 --out "$work/pool"
[ -f "$work/test/truth.csv" ] || ps simulate gathers --config config/pseudo-gathers.yaml --gathers 6 --seed 12 --labels-in-records --out "$work/test"

# 2. Pseudo-labels: picks, robust regression, SVM (5 labelled gathers); records of what the SVM keeps.
ps pseudolabel --model models/bundled --data "$work/pool" --config config/pseudolabel.example.yaml --out "$work/labels"
# The same records with every model pick (no filtering), and with the true labels (the upper bound).
ps pseudolabel --model models/bundled --data "$work/pool" --records raw --out "$work/raw"
ps pseudolabel --model models/bundled --data "$work/pool" --records truth --out "$work/truth"

# 3. Self-training: the bundled model fine-tuned on each set of records, with the same settings.
# The same number of windows for each (3 epochs of 25 batches of 8), whatever the records' count.
common=(--from models/bundled --epochs 3 --steps-per-epoch 25 --batch-size 8 --lr 2e-4 --lr-decay 0.9
  --patience 0 --split-by record --split 0.9,0.1,0 --seed 1 --backend wasm)
ps finetune "${common[@]}" --data "$work/labels/records" --name self-trained --out "$work/self-trained"
ps finetune "${common[@]}" --data "$work/raw/records" --name self-trained-raw --out "$work/self-trained-raw"
ps finetune "${common[@]}" --data "$work/truth/records" --name true-labels --out "$work/upper-bound"

# 4. Scores on the held-out gathers.
for model in models/bundled "$work/self-trained-raw/model" "$work/self-trained/model" "$work/upper-bound/model"; do
  echo "== $model"
  ps evaluate --model "$model" --data "$work/test/waveforms"
done

# 5. A second round: the self-trained model pseudo-labels the same gathers and is fine-tuned again.
ps pseudolabel --model "$work/self-trained/model" --data "$work/pool" --config config/pseudolabel.example.yaml --out "$work/labels2"
ps finetune "${common[@]/models\/bundled/$work/self-trained/model}" --data "$work/labels2/records" --name self-trained-2 --out "$work/self-trained-2"
echo "== $work/self-trained-2/model"
ps evaluate --model "$work/self-trained-2/model" --data "$work/test/waveforms"
