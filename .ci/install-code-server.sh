#!/usr/bin/env bash
# Installs a real VS Code (code-server 4.100.3 = VS Code 1.100.3, the last release that runs on Node 20)
# into DIR without any download outside the npm registry and Debian's packages, for the end-to-end test
# (test/e2e.test.ts). .ci/run calls it with ~/.cache/prunelens-e2e, outside the clone, so reruns reuse it.
# Usage: install-code-server.sh DIR        (then: node DIR/node_modules/code-server/out/node/entry.js --help)
# Verified on the node machine kind: about 3-5 minutes on a fresh machine, about 420 MB on disk.
set -euo pipefail
dir=${1:?usage: install-code-server.sh DIR}
mkdir -p "$dir" && cd "$dir"
# Native build headers for VS Code's node modules, ripgrep for search, chromium for driving the UI.
if ! dpkg -s libkrb5-dev libxkbfile-dev libsecret-1-dev libx11-dev pkg-config ripgrep chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libkrb5-dev libxkbfile-dev libsecret-1-dev libx11-dev pkg-config ripgrep chromium >/dev/null
fi
[ -f package.json ] || npm init -y >/dev/null
# code-server's own postinstall refuses to run as root under npm 11 and downloads ripgrep from GitHub,
# so install without scripts and do its steps by hand.
npm install --no-audit --no-fund --ignore-scripts code-server@4.100.3 >/dev/null
export npm_config_yes=true
npm rebuild argon2 >/dev/null
cd node_modules/code-server/lib/vscode
npm install --no-audit --no-fund --unsafe-perm --omit=dev --ignore-scripts >/dev/null
npm rebuild @parcel/watcher @vscode/spdlog @vscode/deviceid kerberos native-watchdog node-pty >/dev/null
mkdir -p node_modules/@vscode/ripgrep/bin && ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sf code-linux.sh code-server)
(cd bin/helpers && ln -sf browser-linux.sh browser.sh)
(cd extensions && npm install --no-audit --no-fund --unsafe-perm --omit=dev >/dev/null)
cd "$dir"
node node_modules/code-server/out/node/entry.js --version
