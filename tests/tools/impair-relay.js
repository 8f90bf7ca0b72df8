#!/usr/bin/env node
'use strict';

// A seeded UDP impairment relay: the kernel here has no netem, so tests emulate a bad network by
// putting this between a client and a server. Dependency-free (node:dgram only).
//
//   client ──► listen socket ──(impair "up")──► per-client upstream socket ──► target
//   client ◄── listen socket ◄──(impair "down")── per-client upstream socket ◄── target
//
// For each client address (ip:port) seen on the listen socket the relay opens one upstream socket
// on an ephemeral port (same IP family as the target), so the target sees one distinct peer per
// client, and sends the target's replies back to that client out of the listen socket.
//
// `upstream: {ip, port}` binds the upstream socket to a fixed address instead (port 0: any port on
// that IP, read back from `relay.upstreamAddress`), bound when the relay starts. A peer that only
// accepts datagrams from a known address (a connected PipeTransport) can then be told, before any
// packet flows, where the relay's packets will come from. One fixed socket serves one client: the
// first client address seen owns it, and datagrams from any other client are dropped (counted in
// `stats.rejected`) until that flow expires (`idleTimeoutMs`). Replies the target sends before the
// first client datagram have no client to go to and are dropped too (also `rejected`).
//
// Impairments, per direction (every option takes a number for both directions or {up, down}):
//   loss        drop probability per packet
//   rateKbps    bottleneck rate, 0 = unlimited: a link that serialises packets at that rate with a
//               drop-tail queue holding at most `queueMs` of data (UDP payload bytes are counted)
//   queueMs     the queue limit of that link (default 200 ms)
//   delayMs     fixed one-way delay, added after the bottleneck
//   jitterMs    extra delay, uniform in [0, jitterMs); packets may overtake each other, unless
//               `reorder: false`, which never schedules a packet before the previous one of its flow
//   duplicate   probability that a forwarded packet is sent twice
// `onPacket(direction, datagram, verdict, flowKey)` taps every datagram (e.g. to log RTP headers);
// `filter(direction, datagram, flowKey)` returning false drops one on purpose (e.g. all RTCP).
// Randomness comes from a seeded PRNG (mulberry32) with independent streams per direction and per
// purpose (loss, jitter, duplicate), so a seed gives the same drop pattern of the n-th packet in a
// direction however the two directions interleave and whatever the other options are.
//
// Delayed packets wait in one binary heap with a single timer armed for the earliest one (not a
// setTimeout per packet); packets due now are sent at once.
//
// Library:
//   const { startRelay } = require('./impair-relay');
//   const relay = await startRelay({ listen: {ip, port}, target: {ip, port}, seed, loss, delayMs, … });
//   (optionally upstream: {ip, port}; then relay.upstreamAddress is the fixed upstream address)
//   relay.stats; relay.address; relay.setParams({ loss: 0, rateKbps: 0 }); await relay.close();
// CLI:
//   node tests/tools/impair-relay.js --listen 127.0.0.2:40000 --target 127.0.0.1:40000 \
//     --seed 1 --loss 0.05 --delay 20 --jitter 30 [--rate 1000] [--queue 200] [--duplicate 0.01] \
//     [--no-reorder] [--stats-every 5] [--upstream 10.0.0.1:40002]
//   Values may be "up/down" (e.g. --loss 0.05/0) for a different value per direction. Prints the
//   stats as JSON on SIGINT/SIGTERM (and every --stats-every seconds) to stdout.

const dgram = require('node:dgram');
const net = require('node:net');
const { performance } = require('node:perf_hooks');

const DIRECTIONS = ['up', 'down'];
const PER_DIRECTION = ['loss', 'delayMs', 'jitterMs', 'rateKbps', 'queueMs', 'duplicate'];
const DEFAULTS = { loss: 0, delayMs: 0, jitterMs: 0, rateKbps: 0, queueMs: 200, duplicate: 0 };

// ---------------------------------------------------------------------------------------------
// PRNG

/** mulberry32: a small, fast, well-distributed 32-bit PRNG. Returns floats in [0, 1). */
function mulberry32(seed) {
	let a = seed >>> 0;
	return function next() {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** A 32-bit seed for stream `index` of `seed` (splitmix-style mixing, so streams are unrelated). */
function streamSeed(seed, index) {
	let z = (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca77)) >>> 0;
	z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
	z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
	return (z ^ (z >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// A min-heap of scheduled sends, ordered by time then by insertion (FIFO among equal times).

class SendQueue {
	constructor() {
		this.items = [];
		this.counter = 0;
	}

	get size() {
		return this.items.length;
	}

	peek() {
		return this.items[0];
	}

	push(item) {
		item.order = this.counter++;
		const a = this.items;
		a.push(item);
		let i = a.length - 1;
		while (i > 0) {
			const p = (i - 1) >> 1;
			if (!SendQueue.less(a[i], a[p])) break;
			[a[i], a[p]] = [a[p], a[i]];
			i = p;
		}
	}

	pop() {
		const a = this.items;
		const top = a[0];
		const last = a.pop();
		if (a.length > 0) {
			a[0] = last;
			let i = 0;
			for (;;) {
				const l = 2 * i + 1;
				const r = l + 1;
				let m = i;
				if (l < a.length && SendQueue.less(a[l], a[m])) m = l;
				if (r < a.length && SendQueue.less(a[r], a[m])) m = r;
				if (m === i) break;
				[a[i], a[m]] = [a[m], a[i]];
				i = m;
			}
		}
		return top;
	}

	clear() {
		this.items = [];
	}

	static less(x, y) {
		return x.at < y.at || (x.at === y.at && x.order < y.order);
	}
}

// ---------------------------------------------------------------------------------------------
// Options

function parseAddress(value, what) {
	if (value && typeof value === 'object') return { ip: String(value.ip || value.address), port: Number(value.port || 0) };
	const s = String(value || '');
	const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) || /^([^:]+):(\d+)$/.exec(s);
	if (!m) throw new TypeError(`${what}: expected ip:port or [ipv6]:port, got ${JSON.stringify(value)}`);
	return { ip: m[1], port: Number(m[2]) };
}

function familyOf(ip) {
	return net.isIPv6(ip) ? 'udp6' : 'udp4';
}

/** {up, down} from a number, a {up, down} object, or an "up/down" string. */
function perDirection(name, value, fallback) {
	let up;
	let down;
	if (value === undefined || value === null) return { up: fallback.up, down: fallback.down };
	if (typeof value === 'object') {
		up = value.up === undefined ? fallback.up : value.up;
		down = value.down === undefined ? fallback.down : value.down;
	} else if (typeof value === 'string' && value.includes('/')) {
		[up, down] = value.split('/');
	} else {
		up = value;
		down = value;
	}
	const out = { up: Number(up), down: Number(down) };
	for (const d of DIRECTIONS) {
		const v = out[d];
		if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name}.${d}: expected a number ≥ 0, got ${JSON.stringify(value)}`);
		if ((name === 'loss' || name === 'duplicate') && v > 1) throw new RangeError(`${name}.${d}: a probability, got ${v}`);
	}
	return out;
}

function emptyStats() {
	return {
		received: 0, // datagrams that arrived at the relay in this direction
		bytes: 0, // their UDP payload bytes
		dropped: 0, // lost on purpose: lossDropped + queueDropped
		lossDropped: 0, // dropped by `loss`
		queueDropped: 0, // dropped by the rate limiter's full queue
		filtered: 0, // dropped by the `filter` option
		forwarded: 0, // datagrams sent on (duplicates included)
		bytesForwarded: 0,
		duplicated: 0, // extra copies sent
		sendErrors: 0,
		queued: 0, // waiting in the delay queue right now
	};
}

// ---------------------------------------------------------------------------------------------
// The relay

class Relay {
	constructor(options) {
		this.listenAddr = parseAddress(options.listen, 'listen');
		this.target = parseAddress(options.target, 'target');
		if (!this.target.port) throw new TypeError('target: a port is needed');
		/** A fixed local address for the (single) upstream socket, or null: one ephemeral socket per client. */
		this.upstreamAddr = options.upstream === undefined || options.upstream === null ? null : parseAddress(options.upstream, 'upstream');
		if (this.upstreamAddr && familyOf(this.upstreamAddr.ip) !== familyOf(this.target.ip)) {
			throw new TypeError(`upstream: ${this.upstreamAddr.ip} is not of the target's IP family`);
		}
		this.seed = options.seed === undefined ? 1 : Number(options.seed) >>> 0;
		this.idleTimeoutMs = options.idleTimeoutMs === undefined ? 120_000 : Number(options.idleTimeoutMs);
		this.bufferSize = options.socketBufferSize === undefined ? 4 * 1024 * 1024 : Number(options.socketBufferSize);
		/** Optional tap: onPacket(direction, datagram, verdict, flowKey) for every datagram received,
		 * verdict 'lost' | 'queue-full' | 'forward' | 'duplicate'. Must not keep or modify `datagram`. */
		this.onPacket = typeof options.onPacket === 'function' ? options.onPacket : null;
		/** Optional filter: filter(direction, datagram, flowKey) returning false drops the datagram
		 * before any impairment (counted in `filtered`, not `dropped`). */
		this.filter = typeof options.filter === 'function' ? options.filter : null;
		this.params = { up: { ...DEFAULTS }, down: { ...DEFAULTS }, reorder: true };
		this.setParams(options);
		// Independent random streams: [direction][loss, jitter, duplicate].
		this.random = {};
		DIRECTIONS.forEach((d, i) => {
			this.random[d] = {
				loss: mulberry32(streamSeed(this.seed, i * 3)),
				jitter: mulberry32(streamSeed(this.seed, i * 3 + 1)),
				duplicate: mulberry32(streamSeed(this.seed, i * 3 + 2)),
			};
		});
		// rejected: datagrams with no flow to carry them (fixed upstream: a second client, or the
		// target's replies before any client); they count in no direction's stats.
		this.stats = { up: emptyStats(), down: emptyStats(), flows: 0, rejected: 0 };
		/** bottleneck link: time (ms, performance.now) at which it is free again, per direction */
		this.linkFreeAt = { up: 0, down: 0 };
		/** "ip:port" -> flow */
		this.flows = new Map();
		this.queue = new SendQueue();
		this.timer = null;
		this.timerAt = Infinity;
		this.closed = false;
		this.socket = null;
		this.sweeper = null;
		/** With `upstream`: the fixed upstream socket and the flow that owns it (null: none yet). */
		this.fixedUpstream = null;
		this.fixedFlow = null;
	}

	/** Changes impairments live. Takes the same keys as startRelay (loss, delayMs, …, reorder). */
	setParams(p = {}) {
		for (const name of PER_DIRECTION) {
			if (p[name] === undefined) continue;
			const v = perDirection(name, p[name], { up: this.params.up[name], down: this.params.down[name] });
			this.params.up[name] = v.up;
			this.params.down[name] = v.down;
		}
		if (p.reorder !== undefined) this.params.reorder = Boolean(p.reorder);
		return this.getParams();
	}

	getParams() {
		return { up: { ...this.params.up }, down: { ...this.params.down }, reorder: this.params.reorder };
	}

	/** The listen socket's actual address ({ip, port}). */
	get address() {
		const a = this.socket.address();
		return { ip: a.address, port: a.port };
	}

	/** With `upstream`: the fixed upstream socket's actual address ({ip, port}); else null. */
	get upstreamAddress() {
		if (!this.fixedUpstream) return null;
		const a = this.fixedUpstream.address();
		return { ip: a.address, port: a.port };
	}

	async start() {
		this.socket = dgram.createSocket({ type: familyOf(this.listenAddr.ip), reuseAddr: false });
		this.socket.on('error', (error) => this.#onError('listen socket', error));
		this.socket.on('message', (msg, rinfo) => this.#fromClient(msg, rinfo));
		await bindSocket(this.socket, this.listenAddr);
		this.#growBuffers(this.socket);
		if (this.upstreamAddr) {
			const upstream = dgram.createSocket({ type: familyOf(this.upstreamAddr.ip), reuseAddr: false });
			upstream.on('error', (error) => this.#onError('fixed upstream socket', error));
			upstream.on('message', (msg, from) => {
				const flow = this.fixedFlow;
				if (from.port !== this.target.port) return;
				if (!flow) {
					this.stats.rejected++;
					return;
				}
				this.#fromTarget(flow, msg);
			});
			try {
				await bindSocket(upstream, this.upstreamAddr);
			} catch (error) {
				this.socket.close();
				throw error;
			}
			this.fixedUpstream = upstream;
			this.#growBuffers(upstream);
		}
		if (this.idleTimeoutMs > 0) {
			this.sweeper = setInterval(() => this.#sweep(), Math.min(this.idleTimeoutMs, 10_000));
			this.sweeper.unref();
		}
		return this;
	}

	async close() {
		if (this.closed) return;
		this.closed = true;
		if (this.timer) clearTimeout(this.timer);
		if (this.sweeper) clearInterval(this.sweeper);
		this.timer = null;
		this.queue.clear();
		this.stats.up.queued = 0;
		this.stats.down.queued = 0;
		const sockets = new Set([this.socket, this.fixedUpstream, ...[...this.flows.values()].map((f) => f.upstream)]);
		sockets.delete(null);
		const closing = [...sockets].map(
			(s) => new Promise((resolve) => {
				try {
					s.close(resolve);
				} catch {
					resolve();
				}
			}),
		);
		this.flows.clear();
		this.fixedFlow = null;
		await Promise.all(closing);
	}

	#onError(where, error) {
		if (this.closed) return;
		if (process.env.IMPAIR_RELAY_DEBUG) console.error(`[impair-relay] ${where}: ${error.message}`);
	}

	#growBuffers(socket) {
		if (!this.bufferSize) return;
		try {
			socket.setRecvBufferSize(this.bufferSize);
			socket.setSendBufferSize(this.bufferSize);
		} catch {
			// capped by the kernel (net.core.rmem_max): keep what we got
		}
	}

	#flowOf(rinfo) {
		const key = `${rinfo.address}:${rinfo.port}`;
		let flow = this.flows.get(key);
		if (flow) return flow;
		if (this.fixedUpstream) {
			// One client per fixed upstream socket.
			if (this.fixedFlow) return null;
			flow = { key, address: rinfo.address, port: rinfo.port, upstream: this.fixedUpstream, fixed: true, lastSeen: 0, lastAt: { up: 0, down: 0 } };
			this.fixedFlow = flow;
			this.flows.set(key, flow);
			this.stats.flows = this.flows.size;
			return flow;
		}
		const upstream = dgram.createSocket(familyOf(this.target.ip));
		flow = { key, address: rinfo.address, port: rinfo.port, upstream, lastSeen: 0, lastAt: { up: 0, down: 0 } };
		upstream.on('error', (error) => this.#onError(`upstream socket of ${key}`, error));
		upstream.on('message', (msg, from) => {
			// Only the target's replies go back to the client.
			if (from.port !== this.target.port) return;
			this.#fromTarget(flow, msg);
		});
		// Sends issued before the bind completes are queued by dgram.
		upstream.bind(0, () => this.#growBuffers(upstream));
		this.flows.set(key, flow);
		this.stats.flows = this.flows.size;
		return flow;
	}

	#fromClient(msg, rinfo) {
		if (this.closed) return;
		const flow = this.#flowOf(rinfo);
		if (!flow) {
			this.stats.rejected++;
			return;
		}
		flow.lastSeen = performance.now();
		this.#impair('up', flow, msg);
	}

	#fromTarget(flow, msg) {
		if (this.closed) return;
		flow.lastSeen = performance.now();
		this.#impair('down', flow, msg);
	}

	#impair(dir, flow, msg) {
		if (this.closed) return;
		const p = this.params[dir];
		const st = this.stats[dir];
		const rnd = this.random[dir];
		st.received++;
		st.bytes += msg.length;
		if (this.filter && this.filter(dir, msg, flow.key) === false) {
			st.filtered++;
			if (this.onPacket) this.onPacket(dir, msg, 'filtered', flow.key);
			return;
		}
		// Every packet draws from every stream, so one option never shifts another's pattern.
		const lose = rnd.loss() < p.loss;
		const jitter = rnd.jitter() * p.jitterMs;
		const dup = rnd.duplicate() < p.duplicate;
		if (lose) {
			st.dropped++;
			st.lossDropped++;
			if (this.onPacket) this.onPacket(dir, msg, 'lost', flow.key);
			return;
		}
		const now = performance.now();
		let at = now;
		if (p.rateKbps > 0) {
			const txMs = (msg.length * 8) / p.rateKbps; // kbit/s = bit/ms
			const start = Math.max(now, this.linkFreeAt[dir]);
			// Drop-tail: the backlog in front of this packet may not exceed queueMs.
			if (start - now > p.queueMs) {
				st.dropped++;
				st.queueDropped++;
				if (this.onPacket) this.onPacket(dir, msg, 'queue-full', flow.key);
				return;
			}
			this.linkFreeAt[dir] = start + txMs;
			at = start + txMs;
		}
		at += p.delayMs + jitter;
		if (!this.params.reorder && at < flow.lastAt[dir]) at = flow.lastAt[dir];
		flow.lastAt[dir] = at;
		const copies = dup ? 2 : 1;
		if (dup) st.duplicated++;
		if (this.onPacket) this.onPacket(dir, msg, dup ? 'duplicate' : 'forward', flow.key);
		for (let i = 0; i < copies; i++) {
			if (at <= now && this.queue.size === 0) this.#send(dir, flow, msg);
			else this.#schedule({ at, dir, flow, msg });
		}
	}

	#send(dir, flow, msg) {
		const st = this.stats[dir];
		st.forwarded++;
		st.bytesForwarded += msg.length;
		const done = (error) => {
			if (error) {
				st.sendErrors++;
				this.#onError(`send ${dir}`, error);
			}
		};
		try {
			if (dir === 'up') flow.upstream.send(msg, this.target.port, this.target.ip, done);
			else this.socket.send(msg, flow.port, flow.address, done);
		} catch (error) {
			done(error); // the socket closed under us
		}
	}

	#schedule(item) {
		this.queue.push(item);
		this.stats[item.dir].queued++;
		this.#arm();
	}

	#arm() {
		if (this.closed || this.queue.size === 0) return;
		const next = this.queue.peek().at;
		// Re-arm only for an earlier deadline; a later timer firing early just re-arms.
		if (this.timer && next >= this.timerAt) return;
		if (this.timer) clearTimeout(this.timer);
		this.timerAt = next;
		this.timer = setTimeout(() => this.#drain(), Math.max(0, next - performance.now()));
	}

	#drain() {
		this.timer = null;
		this.timerAt = Infinity;
		if (this.closed) return;
		// Timers have 1 ms granularity: send whatever is due within the next half millisecond.
		const horizon = performance.now() + 0.5;
		while (this.queue.size > 0 && this.queue.peek().at <= horizon) {
			const item = this.queue.pop();
			this.stats[item.dir].queued--;
			if (!this.flows.has(item.flow.key)) continue; // flow expired meanwhile
			this.#send(item.dir, item.flow, item.msg);
		}
		this.#arm();
	}

	#sweep() {
		const limit = performance.now() - this.idleTimeoutMs;
		for (const [key, flow] of this.flows) {
			if (flow.lastSeen >= limit) continue;
			this.flows.delete(key);
			if (flow.fixed) {
				// The fixed socket stays; the next client may take it.
				this.fixedFlow = null;
				continue;
			}
			try {
				flow.upstream.close();
			} catch {
				// already closed
			}
		}
		this.stats.flows = this.flows.size;
	}
}

function bindSocket(socket, { ip, port }) {
	return new Promise((resolve, reject) => {
		const fail = (error) => reject(error);
		socket.once('error', fail);
		socket.bind(port, ip, () => {
			socket.removeListener('error', fail);
			resolve();
		});
	});
}

/** Starts a relay; resolves once the listen socket (and a fixed upstream socket) is bound. See the top of this file. */
async function startRelay(options) {
	const relay = new Relay(options);
	return relay.start();
}

// ---------------------------------------------------------------------------------------------
// CLI

function parseCli(argv) {
	const opts = { reorder: true };
	const names = {
		'--listen': 'listen',
		'--target': 'target',
		'--upstream': 'upstream',
		'--seed': 'seed',
		'--loss': 'loss',
		'--delay': 'delayMs',
		'--jitter': 'jitterMs',
		'--rate': 'rateKbps',
		'--queue': 'queueMs',
		'--duplicate': 'duplicate',
		'--stats-every': 'statsEvery',
		'--idle-timeout': 'idleTimeoutMs',
	};
	for (let i = 0; i < argv.length; i++) {
		let arg = argv[i];
		let value;
		if (arg === '-h' || arg === '--help') return { help: true };
		if (arg === '--no-reorder') {
			opts.reorder = false;
			continue;
		}
		const eq = arg.indexOf('=');
		if (eq > 0) {
			value = arg.slice(eq + 1);
			arg = arg.slice(0, eq);
		}
		const key = names[arg];
		if (!key) throw new Error(`unknown option ${arg}`);
		if (value === undefined) value = argv[++i];
		if (value === undefined) throw new Error(`${arg} needs a value`);
		opts[key] = value;
	}
	if (!opts.listen || !opts.target) throw new Error('--listen and --target are required');
	for (const k of ['seed', 'statsEvery', 'idleTimeoutMs']) if (opts[k] !== undefined) opts[k] = Number(opts[k]);
	return opts;
}

const USAGE = `usage: node impair-relay.js --listen IP:PORT --target IP:PORT [--seed N] [--loss P] [--delay MS]
       [--jitter MS] [--rate KBPS] [--queue MS] [--duplicate P] [--no-reorder] [--stats-every S]
       [--upstream IP:PORT]
  Values may be given per direction as UP/DOWN, e.g. --loss 0.05/0. Stats print on SIGINT.
  --upstream sends to the target from that fixed address (one client at a time).`;

async function main() {
	let opts;
	try {
		opts = parseCli(process.argv.slice(2));
	} catch (error) {
		console.error(`${error.message}\n${USAGE}`);
		process.exit(2);
	}
	if (opts.help) {
		console.log(USAGE);
		return;
	}
	const relay = await startRelay(opts);
	const a = relay.address;
	const u = relay.upstreamAddress;
	console.error(
		`[impair-relay] ${a.ip}:${a.port} -> ${u ? `(from ${u.ip}:${u.port}) ` : ''}${relay.target.ip}:${relay.target.port} seed ${relay.seed} ${JSON.stringify(relay.getParams())}`,
	);
	const print = () => console.log(JSON.stringify({ time: new Date().toISOString(), ...relay.stats }));
	if (opts.statsEvery > 0) setInterval(print, opts.statsEvery * 1000);
	const stop = async () => {
		print();
		await relay.close();
		process.exit(0);
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
}

if (require.main === module) {
	main().catch((error) => {
		console.error(error);
		process.exit(1);
	});
}

module.exports = { startRelay, Relay, mulberry32, parseAddress };
