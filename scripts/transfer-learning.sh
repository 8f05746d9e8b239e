#!/usr/bin/env bash
# The report's transfer-learning cases (section 10, Table 1) as one experiment: one command per case,
# each a short run on the same station split of the NCEDC dev set, with one input channel (Z) as in
# the report, scored on the held-out test stations. Writes <work>/<case>/ and prints the table.
# Usage: scripts/transfer-learning.sh [work-dir]   (needs ../shared beside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared
work=${1:-$(mktemp -d)}
ps() { node bin/phasestream.js "$@"; }
[ -f "$work/original/card.json" ] || ps model import "$shared/models/phasenet-original/model_95.ckpt" --out "$work/original"

common=(--data "$shared/data/phasenet-ncedc-dev" --components Z --split-by station --split 0.7,0.1,0.2
  --epochs 30 --batch-size 8 --lr 5e-4 --lr-decay 0.95 --patience 5 --seed 1 --backend wasm)
from=(--from "$work/original")

ps train "${common[@]}" --name scratch --out "$work/scratch"
ps finetune "${from[@]}" "${common[@]}" --name finetune-all --out "$work/finetune-all"
ps finetune "${from[@]}" "${common[@]}" --freeze deepest2 --name freeze-deepest2 --out "$work/freeze-deepest2"
ps finetune "${from[@]}" "${common[@]}" --load downup --freeze deepest2 --name downup-freeze-deepest2 --out "$work/downup-freeze-deepest2"
ps finetune "${from[@]}" "${common[@]}" --load encoder --freeze encoder --name encoder-frozen --out "$work/encoder-frozen"
ps finetune "${from[@]}" "${common[@]}" --freeze down1,down2,up1,up2 --name freeze-some --out "$work/freeze-some"

node --input-type=module -e '
import { readFileSync } from "node:fs";
const work = process.argv[1];
const cases = [
  ["scratch", "Training from scratch"],
  ["finetune-all", "Loading and fine-tuning all layers"],
  ["freeze-deepest2", "Loading all layers and freezing 2 deepest levels"],
  ["downup-freeze-deepest2", "Loading only down-/up-sampling layers and freezing 2 deepest levels"],
  ["encoder-frozen", "Loading and freezing input and encoder layers"],
  ["freeze-some", "Loading all layers and freezing some encoder-decoder layers (down1, down2, up1, up2)"],
];
console.log("| case | phase | precision | recall | F1 | epochs (best) |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const [dir, label] of cases) {
  const m = JSON.parse(readFileSync(`${work}/${dir}/metrics.json`, "utf8"));
  const state = JSON.parse(readFileSync(`${work}/${dir}/checkpoint/state.json`, "utf8"));
  for (const phase of ["P", "S"]) {
    const r = m[phase];
    console.log(`| ${phase === "P" ? label : ""} | ${phase} | ${r.precision.toFixed(3)} | ${r.recall.toFixed(3)} | ${r.F1.toFixed(3)} | ${phase === "P" ? `${state.epoch} (${state.bestEpoch})` : ""} |`);
  }
}
' "$work"
