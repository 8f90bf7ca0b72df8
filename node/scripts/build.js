#!/usr/bin/env node
// Builds the native addon and copies it next to lib/ as sfu.node. Plain cargo (no @napi-rs/cli),
// so `npm install` needs nothing beyond the registry and a Rust toolchain.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const nodeDir = path.resolve(__dirname, '..');
const profile = process.env.LIBSFU_PROFILE === 'debug' ? 'debug' : 'release';
const args = ['build', '-p', 'sfu-node', '--message-format=json-render-diagnostics'];
if (profile === 'release') args.push('--release');

// cargo prints one JSON message per artifact; the cdylib's path tells where the workspace's
// target dir is, whatever CARGO_TARGET_DIR or .cargo/config say.
let out;
try {
	out = execFileSync('cargo', args, {
		cwd: nodeDir,
		stdio: ['ignore', 'pipe', 'inherit'],
		maxBuffer: 64 * 1024 * 1024,
	}).toString();
} catch (error) {
	// cargo already printed its diagnostics on stderr.
	console.error(`build.js: cargo build failed (${error.status ?? error.message})`);
	process.exit(typeof error.status === 'number' ? error.status : 1);
}

let lib;
for (const line of out.split('\n')) {
	if (!line.startsWith('{')) continue;
	const msg = JSON.parse(line);
	if (msg.reason === 'compiler-artifact' && msg.target && msg.target.name === 'sfu_node') {
		lib = msg.filenames.find((f) => /\.(so|dylib|dll)$/.test(f));
	}
}
if (!lib) {
	console.error('build.js: cargo did not report the sfu_node library');
	process.exit(1);
}

// Copy to a temp name then rename: a process that has the old sfu.node mapped keeps its copy.
const dest = path.join(nodeDir, 'sfu.node');
const tmp = `${dest}.${process.pid}.tmp`;
fs.copyFileSync(lib, tmp);
fs.renameSync(tmp, dest);
console.log(`build.js: ${path.relative(nodeDir, lib)} -> sfu.node`);
