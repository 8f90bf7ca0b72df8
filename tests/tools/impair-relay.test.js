'use strict';

// node --test tests/tools/impair-relay.test.js
// A client socket and a target socket on 127.0.0.1 with the relay between them.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const dgram = require('node:dgram');
const { performance } = require('node:perf_hooks');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startRelay, Relay, mulberry32 } = require('./impair-relay');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function bind(socket) {
	return new Promise((resolve) =>
		socket.bind(0, '127.0.0.1', () => {
			// All three sockets share this process's event loop: room for bursts.
			socket.setRecvBufferSize(4 * 1024 * 1024);
			resolve(socket.address().port);
		}),
	);
}

/**
 * A client and a target with a relay in between. Each datagram carries a sequence number (u32)
 * and its send time (f64, performance.now()); both ends record what they get.
 */
async function setup(options) {
	const client = dgram.createSocket('udp4');
	const target = dgram.createSocket('udp4');
	await bind(client);
	const targetPort = await bind(target);
	const relay = await startRelay({ listen: { ip: '127.0.0.1', port: 0 }, target: { ip: '127.0.0.1', port: targetPort }, ...options });
	const got = { up: [], down: [] };
	let clientAddress = null; // the relay's upstream socket of this client, as the target sees it
	const record = (dir) => (msg, rinfo) => {
		if (dir === 'up') clientAddress = rinfo;
		got[dir].push({ seq: msg.readUInt32BE(0), delay: performance.now() - msg.readDoubleBE(4), size: msg.length });
	};
	client.on('message', record('down'));
	target.on('message', record('up'));
	const packet = (seq, size) => {
		const b = Buffer.alloc(size);
		b.writeUInt32BE(seq, 0);
		b.writeDoubleBE(performance.now(), 4);
		return b;
	};
	const { port: relayPort } = relay.address;
	const send = {
		up: (seq, size) => client.send(packet(seq, size), relayPort, '127.0.0.1'),
		down: (seq, size) => target.send(packet(seq, size), clientAddress.port, clientAddress.address),
	};
	/** Sends `count` packets in `dir`, `batch` at a time every `everyMs` (0: as fast as the loop turns). */
	const burst = async (dir, count, { size = 100, batch = 50, everyMs = 0 } = {}) => {
		for (let i = 0; i < count; i++) {
			send[dir](i, size);
			if ((i + 1) % batch === 0) await (everyMs ? sleep(everyMs) : new Promise((r) => setImmediate(r)));
		}
	};
	/** Waits until the relay has nothing in flight and the last datagrams have landed. */
	const settle = async (dir, expected, timeout = 5000) => {
		const deadline = Date.now() + timeout;
		while (Date.now() < deadline) {
			const st = relay.stats[dir];
			if (st.received >= expected && st.queued === 0 && got[dir].length >= st.forwarded) break;
			await sleep(20);
		}
		await sleep(50);
	};
	const close = async () => {
		await relay.close();
		client.close();
		target.close();
	};
	return { relay, got, send, burst, settle, close, hasClient: () => clientAddress !== null };
}

/** Both directions: 2000 packets up, then 2000 down to the relay's upstream address. */
async function bothWays(options, count = 2000) {
	const s = await setup(options);
	try {
		await s.burst('up', count);
		await s.settle('up', count);
		assert.ok(s.hasClient(), 'no packet reached the target');
		await s.burst('down', count);
		await s.settle('down', count);
		const pattern = {};
		for (const dir of ['up', 'down']) {
			assert.equal(s.relay.stats[dir].received, count, `${dir}: the relay did not get every packet: ${JSON.stringify(s.relay.stats)}`);
			assert.equal(s.got[dir].length, s.relay.stats[dir].forwarded, `${dir}: forwarded ≠ arrived: ${JSON.stringify(s.relay.stats)}`);
			const arrived = new Set(s.got[dir].map((p) => p.seq));
			pattern[dir] = [];
			for (let i = 0; i < count; i++) if (!arrived.has(i)) pattern[dir].push(i);
		}
		return { stats: JSON.parse(JSON.stringify(s.relay.stats)), pattern, got: s.got };
	} finally {
		await s.close();
	}
}

test('mulberry32 is deterministic and roughly uniform', () => {
	const a = mulberry32(42);
	const b = mulberry32(42);
	let sum = 0;
	for (let i = 0; i < 10000; i++) {
		const x = a();
		assert.equal(x, b());
		assert.ok(x >= 0 && x < 1);
		sum += x;
	}
	assert.ok(Math.abs(sum / 10000 - 0.5) < 0.02, `mean ${sum / 10000}`);
});

test('loss 0.1 over 2000 packets drops 150–250 in each direction; same seed, same pattern', async (t) => {
	const one = await bothWays({ seed: 42, loss: 0.1 });
	for (const dir of ['up', 'down']) {
		const st = one.stats[dir];
		assert.ok(st.dropped >= 150 && st.dropped <= 250, `${dir}: ${st.dropped} drops: ${JSON.stringify(one.stats)}`);
		assert.equal(st.dropped, one.pattern[dir].length);
		assert.equal(st.forwarded, 2000 - st.dropped);
	}
	const two = await bothWays({ seed: 42, loss: 0.1 });
	assert.deepEqual(two.pattern, one.pattern, 'the same seed gave another drop pattern');
	const other = await bothWays({ seed: 43, loss: 0.1 });
	assert.notDeepEqual(other.pattern.up, one.pattern.up, 'another seed gave the same drop pattern');
	// Per-direction loss.
	const upOnly = await bothWays({ seed: 42, loss: { up: 0.1, down: 0 } }, 500);
	assert.equal(upOnly.stats.down.dropped, 0);
	assert.ok(upOnly.stats.up.dropped > 0);
	t.diagnostic(`seed 42: ${one.stats.up.dropped} up / ${one.stats.down.dropped} down dropped; seed 43: ${other.stats.up.dropped} / ${other.stats.down.dropped}`);
});

test('delay 20 ms + jitter 30 ms: every delay within [20, 50] ms (+ timer slack), packets reorder', async (t) => {
	const s = await setup({ seed: 7, delayMs: 20, jitterMs: 30 });
	try {
		await s.burst('up', 1000, { batch: 10, everyMs: 2 });
		await s.settle('up', 1000);
		const delays = s.got.up.map((p) => p.delay).sort((a, b) => a - b);
		assert.equal(delays.length, 1000);
		const min = delays[0];
		const max = delays[delays.length - 1];
		const p99 = delays[Math.floor(delays.length * 0.99)];
		assert.ok(min >= 19.5, `min delay ${min.toFixed(2)} ms`);
		assert.ok(p99 <= 60, `p99 delay ${p99.toFixed(2)} ms`);
		assert.ok(max <= 100, `max delay ${max.toFixed(2)} ms`);
		// Spread over the jitter range, not bunched at one end.
		const median = delays[500];
		assert.ok(median > 28 && median < 45, `median delay ${median.toFixed(2)} ms`);
		let reordered = 0;
		for (let i = 1; i < s.got.up.length; i++) if (s.got.up[i].seq < s.got.up[i - 1].seq) reordered++;
		assert.ok(reordered > 0, 'jitter never reordered');
		t.diagnostic(`delay min ${min.toFixed(1)} median ${median.toFixed(1)} p99 ${p99.toFixed(1)} max ${max.toFixed(1)} ms, ${reordered} reordered`);
	} finally {
		await s.close();
	}
});

test('reorder: false keeps the order under jitter', async () => {
	const s = await setup({ seed: 7, delayMs: 5, jitterMs: 30, reorder: false });
	try {
		await s.burst('up', 500, { batch: 10, everyMs: 2 });
		await s.settle('up', 500);
		const seqs = s.got.up.map((p) => p.seq);
		assert.equal(seqs.length, 500);
		assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
		assert.ok(Math.min(...s.got.up.map((p) => p.delay)) >= 4.5);
	} finally {
		await s.close();
	}
});

test('duplicate 0.2 sends about a fifth of the packets twice', async () => {
	const s = await setup({ seed: 3, duplicate: 0.2 });
	try {
		await s.burst('up', 1000);
		await s.settle('up', 1000);
		const st = s.relay.stats.up;
		assert.ok(st.duplicated >= 150 && st.duplicated <= 250, JSON.stringify(st));
		assert.equal(st.forwarded, 1000 + st.duplicated);
		assert.equal(s.got.up.length, st.forwarded);
	} finally {
		await s.close();
	}
});

test('rateKbps 800 caps throughput within 20 %, then setParams lifts the cap', async (t) => {
	// Offer ~1600 kbit/s (1000 B every 5 ms) for 3 s through an 800 kbit/s bottleneck.
	const s = await setup({ seed: 1, rateKbps: 800, queueMs: 100 });
	try {
		const start = performance.now();
		const sending = s.burst('up', 600, { size: 1000, batch: 2, everyMs: 10 });
		await sending;
		const sendMs = performance.now() - start;
		await s.settle('up', 600);
		const st = s.relay.stats.up;
		const bytes = s.got.up.reduce((n, p) => n + p.size, 0);
		// The bottleneck drained the queue during sendMs plus at most queueMs more.
		const kbps = (bytes * 8) / (sendMs + 100);
		assert.ok(st.queueDropped > 0, `nothing dropped at the bottleneck: ${JSON.stringify(st)}`);
		assert.ok(Math.abs(kbps - 800) <= 160, `throughput ${kbps.toFixed(0)} kbit/s through an 800 kbit/s cap (sent for ${sendMs.toFixed(0)} ms): ${JSON.stringify(st)}`);
		t.diagnostic(`capped: ${kbps.toFixed(0)} kbit/s, ${st.queueDropped} queue drops of 600, offered ${((600 * 8000) / sendMs).toFixed(0)} kbit/s`);

		s.relay.setParams({ rateKbps: 0 });
		const before = { received: st.received, got: s.got.up.length };
		await s.burst('up', 600, { size: 1000, batch: 2, everyMs: 10 });
		await s.settle('up', before.received + 600);
		assert.equal(s.got.up.length - before.got, 600, `after lifting the cap: ${JSON.stringify(s.relay.stats.up)}`);
	} finally {
		await s.close();
	}
});

test('keeps up with ~5000 packets/s of 1200 B with jitter', async (t) => {
	const s = await setup({ seed: 9, loss: 0.05, delayMs: 20, jitterMs: 30 });
	try {
		const count = 10000;
		const start = performance.now();
		// 25 packets every 5 ms ≈ 5000 packets/s ≈ 48 Mbit/s.
		await s.burst('up', count, { size: 1200, batch: 25, everyMs: 5 });
		const sendMs = performance.now() - start;
		await s.settle('up', count);
		const st = s.relay.stats.up;
		assert.equal(st.received, count, JSON.stringify(st));
		assert.equal(s.got.up.length, st.forwarded);
		const delays = s.got.up.map((p) => p.delay).sort((a, b) => a - b);
		const p99 = delays[Math.floor(delays.length * 0.99)];
		assert.ok(p99 < 50 + 25, `p99 delay ${p99.toFixed(1)} ms: the relay falls behind`);
		t.diagnostic(`${count} packets in ${sendMs.toFixed(0)} ms (${((count / sendMs) * 1000).toFixed(0)}/s), p99 delay ${p99.toFixed(1)} ms, max ${delays[delays.length - 1].toFixed(1)} ms`);
	} finally {
		await s.close();
	}
});

test('filter drops chosen datagrams before any impairment; onPacket taps every verdict', async () => {
	const verdicts = {};
	const s = await setup({
		seed: 11,
		loss: 0.1,
		filter: (dir, msg) => msg.readUInt32BE(0) % 2 === 0, // odd sequence numbers go
		onPacket: (dir, msg, verdict) => {
			verdicts[verdict] = (verdicts[verdict] || 0) + 1;
		},
	});
	try {
		await s.burst('up', 1000);
		await s.settle('up', 1000);
		const st = s.relay.stats.up;
		assert.equal(st.filtered, 500, JSON.stringify(st));
		assert.ok(s.got.up.every((p) => p.seq % 2 === 0));
		assert.equal(st.forwarded + st.dropped + st.filtered, 1000);
		assert.deepEqual(verdicts, { filtered: 500, lost: st.lossDropped, forward: st.forwarded });
	} finally {
		await s.close();
	}
});

test('upstream: a fixed upstream address, known before any packet; one client at a time', async () => {
	const sockets = [];
	const socket = async () => {
		const s = dgram.createSocket('udp4');
		sockets.push(s);
		await bind(s);
		return s;
	};
	const client = await socket();
	const intruder = await socket();
	const target = await socket();
	const relay = await startRelay({
		listen: { ip: '127.0.0.1', port: 0 },
		upstream: { ip: '127.0.0.1', port: 0 },
		target: { ip: '127.0.0.1', port: target.address().port },
		seed: 5,
		idleTimeoutMs: 0,
	});
	try {
		const upstream = relay.upstreamAddress;
		assert.equal(upstream.ip, '127.0.0.1');
		assert.ok(upstream.port > 0 && upstream.port !== relay.address.port);
		const got = { target: [], client: [], intruder: [] };
		target.on('message', (msg, rinfo) => got.target.push({ text: msg.toString(), from: `${rinfo.address}:${rinfo.port}` }));
		client.on('message', (msg) => got.client.push(msg.toString()));
		intruder.on('message', (msg) => got.intruder.push(msg.toString()));
		const to = (s, text, port) => s.send(Buffer.from(text), port, '127.0.0.1');

		// The target answers the fixed address before any client: nobody to send it to.
		to(target, 'too early', upstream.port);
		const deadline = Date.now() + 2000;
		while (relay.stats.rejected < 1 && Date.now() < deadline) await sleep(5);
		assert.equal(relay.stats.rejected, 1);
		assert.equal(relay.stats.down.received, 0);

		// The first client owns the fixed socket: the target sees it at the announced address.
		to(client, 'hello', relay.address.port);
		while (got.target.length < 1 && Date.now() < deadline) await sleep(5);
		assert.deepEqual(got.target, [{ text: 'hello', from: `127.0.0.1:${upstream.port}` }]);
		to(target, 'reply', upstream.port);
		while (got.client.length < 1 && Date.now() < deadline) await sleep(5);
		assert.deepEqual(got.client, ['reply']);

		// A second client is dropped, not given another socket.
		to(intruder, 'me too', relay.address.port);
		while (relay.stats.rejected < 2 && Date.now() < deadline) await sleep(5);
		to(client, 'again', relay.address.port);
		while (got.target.length < 2 && Date.now() < deadline) await sleep(5);
		await sleep(50);
		assert.deepEqual(got.target.map((p) => p.text), ['hello', 'again']);
		assert.equal(relay.stats.rejected, 2);
		assert.equal(relay.stats.flows, 1);
		assert.equal(relay.stats.up.received, 2);
		assert.deepEqual(got.intruder, []);
	} finally {
		await relay.close();
		for (const s of sockets) s.close();
	}
	// Port taken: start() rejects, and the listen socket it bound is released.
	const taken = await socket();
	await assert.rejects(
		startRelay({ listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: '127.0.0.1', port: taken.address().port }, target: { ip: '127.0.0.1', port: 9 } }),
		/EADDRINUSE/,
	);
	taken.close();
	assert.throws(() => new Relay({ listen: '127.0.0.1:0', upstream: '[::1]:0', target: '127.0.0.1:9' }), /IP family/);
});

test('CLI: --upstream binds the fixed upstream address; stats print on SIGTERM', async () => {
	const target = dgram.createSocket('udp4');
	const client = dgram.createSocket('udp4');
	await bind(target);
	await bind(client);
	// A free port for the fixed upstream socket (closed again before the relay binds it).
	const probe = dgram.createSocket('udp4');
	const upstreamPort = await bind(probe);
	await new Promise((r) => probe.close(r));
	const cli = spawn(process.execPath, [path.join(__dirname, 'impair-relay.js'), '--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${upstreamPort}`, '--target', `127.0.0.1:${target.address().port}`, '--seed', '3'], {
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	try {
		let stderr = '';
		let stdout = '';
		cli.stderr.on('data', (d) => (stderr += d));
		cli.stdout.on('data', (d) => (stdout += d));
		const deadline = Date.now() + 5000;
		let m;
		while (!(m = /\] 127\.0\.0\.1:(\d+) -> \(from 127\.0\.0\.1:(\d+)\)/.exec(stderr)) && Date.now() < deadline) await sleep(10);
		assert.ok(m, `no start line: ${stderr}`);
		assert.equal(Number(m[2]), upstreamPort);
		const from = [];
		target.on('message', (msg, rinfo) => from.push(rinfo.port));
		while (from.length === 0 && Date.now() < deadline) {
			client.send(Buffer.from('x'), Number(m[1]), '127.0.0.1');
			await sleep(20);
		}
		assert.ok(from.length > 0 && from.every((p) => p === upstreamPort), `target saw ${from}`);
		const exited = new Promise((r) => cli.once('exit', r));
		cli.kill('SIGTERM');
		assert.equal(await exited, 0);
		const stats = JSON.parse(stdout.trim().split('\n').pop());
		assert.equal(stats.flows, 1);
		assert.ok(stats.up.forwarded >= 1);
	} finally {
		if (cli.exitCode === null) cli.kill('SIGKILL');
		target.close();
		client.close();
	}
});
