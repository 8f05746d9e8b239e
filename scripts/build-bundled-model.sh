#!/usr/bin/env bash
# Builds the bundled model (models/bundled) from the shared material, the way it was built:
# the original PhaseNet weights fine-tuned on the dev-set stations that the continuous dev record does
# not use, then both models replayed over that record and scored; the scores go into the card.
# Usage: scripts/build-bundled-model.sh [work-dir]   (needs ../shared beside the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared
work=${1:-$(mktemp -d)}
ps() { node bin/phasestream.js "$@"; }

ps model import "$shared/models/phasenet-original/model_95.ckpt" --out "$work/original"
ps finetune --from "$work/original" --data "$shared/data/phasenet-ncedc-dev" \
  --exclude-manifest "$shared/data/continuous-dev/manifest.json" --exclude-stations \
  --split-by station --split 0.85,0.15,0 --epochs 40 --batch-size 8 --lr 1e-4 --lr-decay 0.97 \
  --patience 8 --seed 1 --backend wasm --name phasestream-default --out "$work/bundled"

dev=$shared/data/continuous-dev
for model in original bundled/model; do
  ps replay "$dev"/*.mseed --model "$work/$model" --output "$work/${model//\//-}.jsonl"
  ps evaluate --picks "$work/${model//\//-}.jsonl" --truth "$dev/picks.csv" --exclusions "$dev/manifest.json" \
    --format json >"$work/${model//\//-}.metrics.json"
done

node --input-type=module -e '
import { readFileSync, writeFileSync } from "node:fs";
const [cardPath, bundledPath, originalPath] = process.argv.slice(1);
const card = JSON.parse(readFileSync(cardPath, "utf8"));
const pick = (path) => Object.fromEntries(Object.entries(JSON.parse(readFileSync(path, "utf8"))).map(
  ([phase, m]) => [phase, { precision: +m.precision.toFixed(3), recall: +m.recall.toFixed(3), F1: +m.f1.toFixed(3) }]));
card.metrics.continuousDev = {
  where: "phasestream replay ../shared/data/continuous-dev/*.mseed, then phasestream evaluate --exclusions manifest.json (0.1 s); none of its records or their stations were trained on",
  thisModel: pick(bundledPath),
  originalWeights: pick(originalPath),
};
writeFileSync(cardPath, JSON.stringify(card, null, 2) + "\n");
' "$work/bundled/model/card.json" "$work/bundled-model.metrics.json" "$work/original.metrics.json"

rm -rf models/bundled
mkdir -p models/bundled
cp "$work/bundled/model/"{card.json,model.json,weights.bin} models/bundled/
cp "$work/bundled/"{loss.csv,loss.svg,split.json} models/bundled/
echo "models/bundled from $work"
