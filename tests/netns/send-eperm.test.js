'use strict';

// A send the kernel refuses is reported, not a silent stall: in a network namespace of its own
// whose firewall (nftables) drops UDP to one port, a plain transport consumer sending there gets
// 'socketerror' events with EPERM (origin 'send') and `socketErrors` in its stats, and another
// consumer of the same producer still receives every packet. Needs root and nft (`.ci/run`
// installs nftables).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

function skipReason() {
	if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root';
	for (const cmd of ['ip', 'nft']) {
		const r = spawnSync(cmd, ['--version'], { stdio: 'ignore' });
		if (r.error) return `the \`${cmd}\` command is missing`;
	}
	return null;
}

const reason = skipReason();

test('a firewalled remote (EPERM on send) → socketerror event and stats; the other consumer loses nothing', { skip: reason ?? false, timeout: 60000 }, () => {
	const ns = `sfuE-${process.pid}`;
	const run = (...args) => execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
	const inNs = (...args) => run('ip', 'netns', 'exec', ns, ...args);
	const blocked = 40000 + (process.pid % 20000);
	run('ip', 'netns', 'add', ns);
	try {
		inNs('ip', 'link', 'set', 'lo', 'up');
		inNs('nft', 'add', 'table', 'inet', 'libsfu_test');
		inNs('nft', 'add', 'chain', 'inet', 'libsfu_test', 'out', '{ type filter hook output priority 0; }');
		inNs('nft', 'add', 'rule', 'inet', 'libsfu_test', 'out', 'udp', 'dport', String(blocked), 'drop');
		const out = inNs(process.execPath, path.join(__dirname, 'eperm-host.js'), String(blocked));
		const result = JSON.parse(out.trim().split('\n').pop());
		assert.equal(result.received, 50, 'the open port gets every packet');
		assert.ok(result.events.firewalled.length >= 1, JSON.stringify(result));
		const [e] = result.events.firewalled;
		assert.equal(e.error, 'EPERM');
		assert.equal(e.errno, 1);
		assert.equal(e.origin, 'send');
		assert.equal(e.remoteIp, '127.0.0.1');
		assert.equal(e.remotePort, blocked);
		assert.match(e.message, /not permitted/i);
		assert.ok(result.events.firewalled.length <= 2, 'at most one event a second');
		assert.ok(result.stats.firewalled >= 40, `every refused send counted: ${result.stats.firewalled}`);
		assert.deepEqual(result.events.open, []);
		assert.equal(result.stats.open, 0);
	} finally {
		spawnSync('ip', ['netns', 'del', ns]);
	}
});
