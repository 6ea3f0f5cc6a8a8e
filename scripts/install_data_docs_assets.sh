#!/usr/bin/env bash
# The stylesheets, scripts and fonts the Data Docs pages load, from the npm registry into a cache folder
# (the folder given as argument, relative to the project; else FLOWLAKE_DATA_DOCS_ASSETS, else
# .cache/data_docs_assets), so that
# flowlake copies them beside the pages and a reader's browser never fetches them from a public CDN.
# Exactly the versions of scripts/data_docs_assets/package.json, each package without its dependencies
# (the pages use the packages' self-contained builds): `npm pack` checks every tarball against the
# registry's integrity hash, and runs no package scripts. Does nothing when that manifest is installed.
# Without npm it says so and leaves the pages unstyled, never pointing them back at the CDNs.
set -euo pipefail
cd "$(dirname "$0")/.."
manifest="$PWD/scripts/data_docs_assets/package.json"
target="${1:-${FLOWLAKE_DATA_DOCS_ASSETS:-.cache/data_docs_assets}}"
installed="$target/package.json"
if [ -f "$installed" ] && cmp -s "$manifest" "$installed"; then
    exit 0
fi
if ! command -v npm >/dev/null; then
    echo "install_data_docs_assets: no npm here; install Node.js and rerun, or the Data Docs pages show unstyled" >&2
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/packages"
node -e 'for (const [name, version] of Object.entries(require(process.argv[1]).dependencies)) console.log(`${name}@${version}`)' \
    "$manifest" | while read -r spec; do
    name="${spec%@*}"
    tarball="$(cd "$work" && npm pack --silent --ignore-scripts "$spec")"
    mkdir -p "$work/packages/$name"
    tar -xzf "$work/$tarball" -C "$work/packages/$name" --strip-components=1
done
cp "$manifest" "$work/packages/package.json"
# Swapped in whole, so that a reader of the folder never sees half an installation.
mkdir -p "$(dirname "$target")"
rm -rf "$target"
mv "$work/packages" "$target"
echo "install_data_docs_assets: the packages of $manifest are in $target" >&2
