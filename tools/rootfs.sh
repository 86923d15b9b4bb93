#!/usr/bin/env bash
# Builds the root filesystem of the scratch image: the binary as /dorgu-ws
# and exactly the shared libraries it links, found by asking the dynamic
# linker (ldd) rather than from a hand-kept list, each at the path the
# loader looks for it.
#
#   tools/rootfs.sh BINARY OUTDIR
set -euo pipefail
binary="$1"
out="$2"

mkdir -p "$out"
install -m 0755 "$binary" "$out/dorgu-ws"

ldd "$binary" | while read -r line; do
  case "$line" in
    *"not found"*)
      echo "rootfs: $binary needs a library that is not installed: $line" >&2
      exit 1
      ;;
    *" => "*) path="$(echo "$line" | awk '{print $3}')" ;;
    /*) path="$(echo "$line" | awk '{print $1}')" ;;
    *) continue ;; # linux-vdso: provided by the kernel
  esac
  mkdir -p "$out$(dirname "$path")"
  cp -L "$path" "$out$path"
  chmod 0755 "$out$path"
done
