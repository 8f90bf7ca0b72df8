#!/usr/bin/env node
'use strict';

// Soak bench (issue 9, "Reliability"): not part of the default test run.
//
//   node benches/soak/soak.js --minutes 30 [--seed N] [--out file.json]
//   node benches/soak/soak.js --seconds 60            (a quick run)
//
// In this process: libsfu (require('<repo>/node')), WORKERS workers each with a router (opus + VP8),
// SENDERS comedia PlainTransports (rtcpMux) each producing VP8 simulcast (3 SSRC encodings, L1T3)
// and opus, and ~CONSUMERS PlainTransports each consuming one random sender's video and audio.
// Every second CHURN consumers leave (transport.close()) and as many join, SWITCHES consumers get
// new preferred layers (simulcast and temporal switches), and every SENDER_CHURN seconds one
// sender leaves (its consumers are replaced) and a new one takes its place.
// In two child processes (loadgen.js), so that this process holds only the engine and the JS
// side of the load can use the other core: 'send' sends the senders' synthetic RTP through one
// seeded impairment relay per sender (tests/tools/impair-relay.js, 3% loss + 30 ms jitter both
// ways) and answers PLI/FIR/NACK; 'sink' receives the consumers' traffic through SINK_SHARDS more
// relays (3% + 30 ms) on sink sockets that count packets, NACK gaps, and count what is lost for good.
// Every SAMPLE seconds, after a full GC: RSS, JS heap, open fds, threads, worker CPU
// (getResourceUsage), live transports/producers/consumers (router.dump()), closed JS objects still
// reachable, packets offered/forwarded/lost, and kernel receive-buffer drops per process. The
// verdict fails (exit 1) on unbounded growth of memory, fds or threads, on forwarding that stops,
// on a dead worker, on closed objects the JS layer keeps, or when the fds do not come back to the
// baseline once every transport is closed.

const { fork } = require('node:child_process');
const v8 = require('node:v8');
const vm = require('node:vm');
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const repo = path.resolve(__dirname, '..', '..');
const libsfu = require(path.join(repo, 'node'));
const { mulberry32 } = require(path.join(repo, 'tests', 'tools', 'impair-relay.js'));

const IP = '127.0.0.1';
const MB = 1024 * 1024;

// A full GC before each sample, so that the JS heap figure is the live heap and closed objects that
// nothing holds any more are collected (and dropped from the weak references below).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
async function fullGc() {
	for (let i = 0; i < 3; i++) {
		gc();
		await new Promise((r) => setImmediate(r));
	}
}

// The JS layer must let go of what it closed: a weak reference to every closed libsfu object
// (transport, producer, consumer) until garbage collection reclaims it. (WeakRefs rather than a
// FinalizationRegistry, whose callbacks run long after the collection under load.)
const closedObjects = { transport: 0, producer: 0, consumer: 0 };
let closedRefs = { transport: [], producer: [], consumer: [] };
const closing = (obj, kind) => {
	if (!obj) return;
	closedObjects[kind]++;
	closedRefs[kind].push(new WeakRef(obj));
};
/** Closed objects still reachable (call after fullGc(), in a later job than the close). */
function retainedObjects() {
	closedRefs = Object.fromEntries(Object.entries(closedRefs).map(([k, refs]) => [k, refs.filter((r) => r.deref() !== undefined)]));
	return Object.fromEntries(Object.entries(closedRefs).map(([k, refs]) => [k, refs.length]));
}

// ---------------------------------------------------------------------------------------------
// Options

const USAGE = `usage: node benches/soak/soak.js (--minutes M | --seconds S) [options]
  --seed N               seed for the relays, the generator and the churn (default 1)
  --out FILE             JSON report (default benches/soak/out/soak-<date>.json)
  --workers N            workers, one router each (default 2)
  --senders N            senders (default 20)
  --consumers N          consumers alive at any time (default 100)
  --churn N              consumers leaving and joining every second (default 5)
  --switches N           setPreferredLayers() calls every second (default 10)
  --sender-churn S       one sender leaves and a new one joins every S seconds (default 10, 0: never)
  --scale F              multiplies the layer bitrates 150/500/1200 kbit/s (default 1)
  --fps N                video frame rate (default 30)
  --loss P               loss in both directions of every relay (default 0.03)
  --jitter MS            jitter in both directions of every relay (default 30)
  --consumer-loss P      loss on the consumers' side only (default: --loss)
  --consumer-jitter MS   jitter on the consumers' side only (default: --jitter)
  --no-audio             video producers only
  --sample S             sampling interval in seconds (default 10)
  --sink-shards N        consumer-side relay + sink socket pairs (default 10)`;

function parseArgs(argv) {
	const o = {
		seconds: 0,
		seed: 1,
		out: null,
		workers: 2,
		senders: 20,
		consumers: 100,
		churn: 5,
		switches: 10,
		senderChurn: 10,
		scale: 1,
		fps: 30,
		loss: 0.03,
		jitter: 30,
		consumerLoss: null,
		consumerJitter: null,
		audio: true,
		sample: 10,
		sinkShards: 10,
	};
	const num = (name, v) => {
		const n = Number(v);
		if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: expected a number ≥ 0, got ${v}`);
		return n;
	};
	for (let i = 0; i < argv.length; i++) {
		let a = argv[i];
		let v;
		const eq = a.indexOf('=');
		if (eq > 0) {
			v = a.slice(eq + 1);
			a = a.slice(0, eq);
		}
		const next = () => {
			if (v !== undefined) return v;
			if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
			return argv[++i];
		};
		switch (a) {
			case '-h':
			case '--help':
				console.log(USAGE);
				process.exit(0);
				break;
			case '--minutes':
				o.seconds = num(a, next()) * 60;
				break;
			case '--seconds':
				o.seconds = num(a, next());
				break;
			case '--seed':
				o.seed = num(a, next()) >>> 0;
				break;
			case '--out':
				o.out = next();
				break;
			case '--workers':
				o.workers = Math.max(1, Math.floor(num(a, next())));
				break;
			case '--senders':
				o.senders = Math.max(1, Math.floor(num(a, next())));
				break;
			case '--consumers':
				o.consumers = Math.floor(num(a, next()));
				break;
			case '--churn':
				o.churn = Math.floor(num(a, next()));
				break;
			case '--switches':
				o.switches = Math.floor(num(a, next()));
				break;
			case '--sender-churn':
				o.senderChurn = num(a, next());
				break;
			case '--scale':
				o.scale = num(a, next());
				break;
			case '--fps':
				o.fps = Math.max(1, num(a, next()));
				break;
			case '--loss':
				o.loss = num(a, next());
				break;
			case '--jitter':
				o.jitter = num(a, next());
				break;
			case '--consumer-loss':
				o.consumerLoss = num(a, next());
				break;
			case '--consumer-jitter':
				o.consumerJitter = num(a, next());
				break;
			case '--no-audio':
				o.audio = false;
				break;
			case '--sink-shards':
				o.sinkShards = Math.max(1, Math.floor(num(a, next())));
				break;
			case '--sample':
				o.sample = Math.max(1, num(a, next()));
				break;
			default:
				throw new Error(`unknown option ${a}\n${USAGE}`);
		}
	}
	if (!(o.seconds > 0)) throw new Error(`--minutes or --seconds is required\n${USAGE}`);
	if (!o.out) {
		const stamp = new Date().toISOString().replace(/[:]/g, '-').replace(/\..*/, '');
		o.out = path.join(__dirname, 'out', `soak-${stamp}.json`);
	}
	return o;
}

// ---------------------------------------------------------------------------------------------
// Helpers


const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function procStatus() {
	const s = fs.readFileSync('/proc/self/status', 'utf8');
	const kb = (name) => {
		const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(s);
		return m ? Number(m[1]) * 1024 : 0;
	};
	const threads = /^Threads:\s+(\d+)/m.exec(s);
	return { vmRss: kb('VmRSS'), vmHwm: kb('VmHWM'), rssAnon: kb('RssAnon'), threads: threads ? Number(threads[1]) : 0 };
}

function fdCount() {
	return fs.readdirSync('/proc/self/fd').length;
}

function fdKinds() {
	const kinds = {};
	for (const fd of fs.readdirSync('/proc/self/fd')) {
		let t;
		try {
			t = fs.readlinkSync(`/proc/self/fd/${fd}`);
		} catch {
			continue; // closed meanwhile (the readdir's own fd)
		}
		const k = t.startsWith('socket:') ? 'socket' : t.startsWith('anon_inode:') ? t.slice(11) : t.startsWith('pipe:') ? 'pipe' : 'file';
		kinds[k] = (kinds[k] || 0) + 1;
	}
	return kinds;
}

/**
 * Kernel receive-buffer drops (the last column of /proc/net/udp) on the UDP sockets of each named
 * process, summed over time: a socket that closed keeps counting with its last value seen.
 */
function udpDropCounter() {
	let live = new Map(); // inode -> {owner, drops}
	const retired = {};
	return (owners) => {
		const ownerOf = new Map();
		for (const [name, pid] of Object.entries(owners)) {
			if (!pid) continue;
			let fds = [];
			try {
				fds = fs.readdirSync(`/proc/${pid}/fd`);
			} catch {
				continue;
			}
			for (const fd of fds) {
				let link;
				try {
					link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
				} catch {
					continue;
				}
				const m = /^socket:\[(\d+)\]$/.exec(link);
				if (m) ownerOf.set(m[1], name);
			}
		}
		const now = new Map();
		for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
			let text = '';
			try {
				text = fs.readFileSync(file, 'utf8');
			} catch {
				continue;
			}
			for (const line of text.split('\n').slice(1)) {
				const cols = line.trim().split(/\s+/);
				if (cols.length < 13) continue;
				const owner = ownerOf.get(cols[9]);
				if (owner) now.set(cols[9], { owner, drops: Number(cols[cols.length - 1]) || 0 });
			}
		}
		for (const [inode, v] of live) if (!now.has(inode)) retired[v.owner] = (retired[v.owner] || 0) + v.drops;
		live = now;
		const totals = {};
		for (const name of Object.keys(owners)) totals[name] = retired[name] || 0;
		for (const v of now.values()) totals[v.owner] += v.drops;
		return totals;
	};
}

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const fmtMB = (b) => `${(b / MB).toFixed(1)}`;

/** Least-squares slope of ys over xs. */
function slope(xs, ys) {
	const n = xs.length;
	if (n < 2) return 0;
	const mx = mean(xs);
	const my = mean(ys);
	let num = 0;
	let den = 0;
	for (let i = 0; i < n; i++) {
		num += (xs[i] - mx) * (ys[i] - my);
		den += (xs[i] - mx) ** 2;
	}
	return den ? num / den : 0;
}

// ---------------------------------------------------------------------------------------------
// The bench

const mediaCodecs = [
	{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
	{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { 'x-google-start-bitrate': 1000 } },
];
const videoFeedback = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }];
const listenInfo = { protocol: 'udp', ip: IP };

async function main() {
	const opt = parseArgs(process.argv.slice(2));
	const random = mulberry32(opt.seed ^ 0xa5a5a5a5);
	const randInt = (n) => Math.floor(random() * n);
	const layerKbps = [150, 500, 1200].map((k) => k * opt.scale);
	console.log(
		`soak: ${opt.seconds} s, seed ${opt.seed}, ${opt.workers} worker(s), ${opt.senders} senders (VP8 3x simulcast L1T3 ${layerKbps.join('/')} kbit/s @ ${opt.fps} fps${opt.audio ? ' + opus' : ''}), ` +
			`${opt.consumers} consumers, churn ${opt.churn}/s, ${opt.switches} layer switches/s, sender churn every ${opt.senderChurn || '∞'} s, ` +
			`relays ${opt.loss * 100}% loss + ${opt.jitter} ms jitter both ways` +
			(opt.consumerLoss !== null || opt.consumerJitter !== null ? ` (consumers' side ${(opt.consumerLoss ?? opt.loss) * 100}% + ${opt.consumerJitter ?? opt.jitter} ms)` : ''),
	);

	const before = { fds: fdCount(), ...procStatus(), rss: process.memoryUsage().rss };

	// ---- the load generator children: senders, and the consumers' sink ----
	const config = {
		seed: opt.seed,
		loss: opt.loss,
		jitterMs: opt.jitter,
		consumerLoss: opt.consumerLoss ?? opt.loss,
		consumerJitterMs: opt.consumerJitter ?? opt.jitter,
		layerKbps,
		fps: opt.fps,
		keyFrameEveryMs: 3000,
		audio: opt.audio,
		sinkShards: opt.sinkShards,
	};
	const gen = spawnChild('send');
	const sinkProc = spawnChild('sink');
	await gen.request({ type: 'init', role: 'send', config });
	const ready = await sinkProc.request({ type: 'init', role: 'sink', config });
	const childExited = () => gen.exited || sinkProc.exited;
	const relayPorts = ready.consumerRelayPorts;

	// ---- the engine ----
	const workers = [];
	const routers = [];
	let workerDied = null;
	for (let w = 0; w < opt.workers; w++) {
		const worker = await libsfu.createWorker({ logLevel: 'warn' });
		worker.on('died', (error) => {
			workerDied = `worker ${w} died: ${error && error.message}`;
			console.error(workerDied);
		});
		workers.push(worker);
		routers.push(await worker.createRouter({ mediaCodecs }));
	}
	await sleep(200);
	const baseline = { fds: fdCount(), fdKinds: fdKinds(), ...procStatus(), rss: process.memoryUsage().rss };
	console.log(`baseline (workers up, no transports): fds ${baseline.fds} threads ${baseline.threads} rss ${fmtMB(baseline.rss)} MB`);

	// ---- senders and consumers ----
	const senders = new Array(opt.senders).fill(null);
	const consumers = new Map(); // transport id -> consumer record
	const counts = { joins: 0, leaves: 0, switches: 0, senderJoins: 0, senderLeaves: 0, errors: 0, consumerProducerClose: 0 };
	const errorSamples = [];
	const noteError = (what, error) => {
		counts.errors++;
		if (errorSamples.length < 20) errorSamples.push(`${what}: ${error.message}`);
		if (counts.errors <= 5) console.error(`error (${what}): ${error.message}`);
	};
	const ssrcRandom = mulberry32(opt.seed * 31 + 7);
	const newSsrc = () => (Math.floor(ssrcRandom() * 0xfffffff0) + 1) >>> 0;

	async function addSender(index, generation) {
		const router = routers[index % routers.length];
		const transport = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: true });
		const ssrcs = [newSsrc(), newSsrc(), newSsrc()];
		const video = await transport.produce({
			kind: 'video',
			rtpParameters: {
				codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: videoFeedback }],
				encodings: ssrcs.map((ssrc) => ({ ssrc, scalabilityMode: 'L1T3' })),
			},
		});
		let audio = null;
		const audioSsrc = newSsrc();
		if (opt.audio) {
			audio = await transport.produce({
				kind: 'audio',
				rtpParameters: {
					codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
					encodings: [{ ssrc: audioSsrc }],
				},
			});
		}
		const s = { index, generation, router, transport, video, audio, consumers: new Set() };
		senders[index] = s;
		await gen.request({
			type: 'addSender',
			index,
			generation,
			port: transport.tuple.localPort,
			video: { pt: 96, ssrcs },
			audio: opt.audio ? { pt: 100, ssrc: audioSsrc } : null,
		});
		counts.senderJoins++;
		return s;
	}

	async function removeSender(index) {
		const s = senders[index];
		senders[index] = null;
		await gen.request({ type: 'removeSender', index, generation: s.generation });
		const orphans = [...s.consumers];
		s.transport.close();
		counts.senderLeaves++;
		closing(s.transport, 'transport');
		closing(s.video, 'producer');
		closing(s.audio, 'producer');
		s.transport = s.video = s.audio = null;
		s.consumers.clear();
		for (const c of orphans) removeConsumer(c);
		return orphans.length;
	}

	async function addConsumer() {
		const live = senders.filter(Boolean);
		if (live.length === 0) return;
		const s = live[randInt(live.length)];
		const router = s.router;
		const transport = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: false });
		try {
			await transport.connect({ ip: IP, port: relayPorts[randInt(relayPorts.length)] });
			const video = await transport.consume({ producerId: s.video.id, rtpCapabilities: router.rtpCapabilities, paused: true });
			const audio = s.audio ? await transport.consume({ producerId: s.audio.id, rtpCapabilities: router.rtpCapabilities }) : null;
			const c = { id: transport.id, transport, video, audio, sender: s };
			const streams = [];
			for (const [kind, consumer] of [
				['video', video],
				['audio', audio],
			]) {
				if (!consumer) continue;
				const e = consumer.rtpParameters.encodings[0];
				streams.push({ kind, ssrc: e.ssrc, rtxSsrc: e.rtx ? e.rtx.ssrc : null });
			}
			// The engine closes a consumer whose producer closed; count it (it should only happen
			// when a sender leaves, whose consumers are removed right after).
			video.once('producerclose', () => counts.consumerProducerClose++);
			consumers.set(c.id, c);
			s.consumers.add(c);
			sinkProc.tell({ type: 'addConsumer', id: c.id, streams });
			const fixed = process.env.SOAK_PREFERRED_LAYERS; // debugging: "S,T" for every consumer
			const [sl, tl] = fixed ? fixed.split(',').map(Number) : [randInt(3), randInt(3)];
			await video.setPreferredLayers({ spatialLayer: sl, temporalLayer: tl });
			await video.resume();
			counts.joins++;
		} catch (error) {
			transport.close();
			throw error;
		}
	}

	function removeConsumer(c) {
		if (!consumers.delete(c.id)) return;
		c.sender.consumers.delete(c);
		c.transport.close(); // closes its consumers too
		closing(c.transport, 'transport');
		closing(c.video, 'consumer');
		closing(c.audio, 'consumer');
		sinkProc.tell({ type: 'removeConsumer', id: c.id });
		counts.leaves++;
		// The record may still sit in some array (or a suspended async frame's stale register):
		// it must not keep the closed objects reachable, or the retention check would count them.
		c.transport = c.video = c.audio = c.sender = null;
	}

	for (let i = 0; i < opt.senders; i++) await addSender(i, 0);
	for (let i = 0; i < opt.consumers; i++) await addConsumer();
	console.log(`set up: ${opt.senders} senders, ${consumers.size} consumers`);

	// ---- churn, once a second ----
	const startedAt = performance.now();
	const endAt = startedAt + opt.seconds * 1000;
	let generation = 1;
	let lastSenderChurn = startedAt;
	let running = true;
	const churnLoop = (async () => {
		let next = performance.now() + 1000;
		while (running && performance.now() < endAt) {
			await sleep(Math.max(0, next - performance.now()));
			next += 1000;
			if (!running || workerDied) break;
			const now = performance.now();
			try {
				if (opt.senderChurn > 0 && now - lastSenderChurn >= opt.senderChurn * 1000) {
					lastSenderChurn = now;
					const index = randInt(opt.senders);
					const orphans = await removeSender(index);
					await addSender(index, generation++);
					for (let i = 0; i < orphans; i++) await addConsumer();
				}
			} catch (error) {
				noteError('sender churn', error);
			}
			const list = [...consumers.values()];
			for (let i = 0; i < opt.churn && list.length > 0; i++) {
				const j = randInt(list.length);
				removeConsumer(list[j]);
				list.splice(j, 1);
			}
			while (consumers.size < opt.consumers) {
				try {
					await addConsumer();
				} catch (error) {
					noteError('join', error);
					break;
				}
			}
			const live = [...consumers.values()];
			for (let i = 0; i < opt.switches && live.length > 0; i++) {
				const c = live[randInt(live.length)];
				try {
					await c.video.setPreferredLayers({ spatialLayer: randInt(3), temporalLayer: randInt(3) });
					counts.switches++;
				} catch (error) {
					noteError('setPreferredLayers', error);
				}
			}
		}
	})();

	// ---- sampling ----
	const samples = [];
	let prev = null;
	const udpDrops = udpDropCounter();
	const owners = { engine: process.pid, send: gen.child.pid, sink: sinkProc.child.pid };
	const cpuStart = process.cpuUsage();
	async function takeSample() {
		await fullGc();
		const t = (performance.now() - startedAt) / 1000;
		const st = procStatus();
		const mem = process.memoryUsage();
		const fds = fdCount();
		let usage = [];
		let dumps = [];
		try {
			usage = await Promise.all(workers.map((w) => w.getResourceUsage()));
			dumps = await Promise.all(routers.map((r) => r.dump()));
		} catch (error) {
			noteError('sample', error);
		}
		let transports = 0;
		let producers = 0;
		let engineConsumers = 0;
		for (const d of dumps) {
			transports += (d.transportIds || []).length;
			// mediasoup's shape: [{key: producerId, values: [consumerId, …]}, …]
			const map = d.mapProducerIdConsumerIds || [];
			producers += map.length;
			for (const e of map) engineConsumers += (e.values || []).length;
		}
		const engineCpuMs = usage.reduce((a, u) => a + u.ru_utime + u.ru_stime, 0);
		const lg = await loadgenStats(gen, sinkProc);
		const procCpu = process.cpuUsage(cpuStart);
		const s = {
			t: Math.round(t),
			rss: mem.rss,
			vmRss: st.vmRss,
			vmHwm: st.vmHwm,
			rssAnon: st.rssAnon,
			heapUsed: mem.heapUsed,
			external: mem.external,
			arrayBuffers: mem.arrayBuffers,
			fds,
			threads: st.threads,
			engine: { transports, producers, consumers: engineConsumers },
			js: { consumers: consumers.size, senders: senders.filter(Boolean).length },
			engineCpuMs,
			processCpuMs: (procCpu.user + procCpu.system) / 1000,
			ru_maxrss: usage.length ? usage[0].ru_maxrss * 1024 : 0,
			counts: { ...counts },
			retained: retainedObjects(),
			udpDrops: udpDrops(owners),
			loadgen: lg && {
				sentVideo: lg.totals.video.packets,
				sentVideoBytes: lg.totals.video.bytes,
				layerBytes: lg.totals.video.layerBytes,
				sentAudio: lg.totals.audio.packets,
				sentAudioBytes: lg.totals.audio.bytes,
				keyFrames: lg.totals.video.keyFrames,
				framesSkipped: lg.totals.video.framesSkipped || 0,
				rtcpIn: lg.totals.rtcpIn,
				resent: lg.totals.resent,
				resendMiss: lg.totals.resendMiss,
				sink: lg.totals.sink,
				senderRelays: lg.senderRelays,
				consumerRelay: lg.consumerRelay,
				pendingGaps: lg.pendingGaps,
				streams: lg.streams,
				rss: lg.rss,
				cpuMs: lg.cpuMs,
			},
		};
		if (prev && prev.loadgen && s.loadgen) {
			const dt = s.t - prev.t || 1;
			s.rates = {
				engineCpuPct: ((s.engineCpuMs - prev.engineCpuMs) / (dt * 1000)) * 100,
				processCpuPct: ((s.processCpuMs - prev.processCpuMs) / (dt * 1000)) * 100,
				loadgenCpuPct: ((s.loadgen.cpuMs - prev.loadgen.cpuMs) / (dt * 1000)) * 100,
				offeredKbps: ((s.loadgen.sentVideoBytes + s.loadgen.sentAudioBytes - prev.loadgen.sentVideoBytes - prev.loadgen.sentAudioBytes) * 8) / dt / 1000,
				inPps: (s.loadgen.senderRelays.up.forwarded - prev.loadgen.senderRelays.up.forwarded) / dt,
				outPps: (s.loadgen.consumerRelay.up.received - prev.loadgen.consumerRelay.up.received) / dt,
				sinkPps: (s.loadgen.sink.rtp - prev.loadgen.sink.rtp) / dt,
				lostPerS: (s.loadgen.sink.lost - prev.loadgen.sink.lost) / dt,
			};
		}
		samples.push(s);
		prev = s;
		const r = s.rates;
		console.log(
			`t=${String(s.t).padStart(5)}s rss ${fmtMB(s.rss)} MB (heap ${fmtMB(s.heapUsed)}) fds ${s.fds} thr ${s.threads} ` +
				`engine T/P/C ${transports}/${producers}/${engineConsumers} ` +
				(r
					? `cpu engine ${r.engineCpuPct.toFixed(0)}% proc ${r.processCpuPct.toFixed(0)}% gen ${r.loadgenCpuPct.toFixed(0)}% ` +
						`offered ${(r.offeredKbps / 1000).toFixed(1)} Mbit/s in ${r.inPps.toFixed(0)} pps out ${r.outPps.toFixed(0)} pps sink ${r.sinkPps.toFixed(0)} pps lost ${r.lostPerS.toFixed(1)}/s `
					: '') +
				`retained closed T/P/C ${s.retained.transport}/${s.retained.producer}/${s.retained.consumer} ` +
				`drops engine/gen/sink ${s.udpDrops.engine}/${s.udpDrops.send}/${s.udpDrops.sink} ` +
				`joins ${counts.joins} leaves ${counts.leaves} switches ${counts.switches} senders +${counts.senderJoins}/-${counts.senderLeaves} err ${counts.errors}`,
		);
		return s;
	}

	await takeSample();
	let nextSample = startedAt + opt.sample * 1000;
	while (performance.now() < endAt && !workerDied && !childExited()) {
		await sleep(Math.max(0, Math.min(nextSample, endAt) - performance.now()));
		if (performance.now() >= nextSample) {
			await takeSample();
			nextSample += opt.sample * 1000;
		}
	}
	running = false;
	await churnLoop;
	if (process.env.SOAK_HEAP_SNAPSHOT) {
		// Debugging: what holds on to closed objects (open the file in Chrome's DevTools).
		await fullGc();
		console.log(`heap snapshot: ${v8.writeHeapSnapshot(process.env.SOAK_HEAP_SNAPSHOT)}`);
	}
	if (samples[samples.length - 1].t < opt.seconds - 1) await takeSample();

	// ---- shutdown ----
	console.log('closing everything…');
	const liveAtEnd = { consumers: consumers.size, senders: senders.filter(Boolean).length };
	for (const c of [...consumers.values()]) removeConsumer(c);
	counts.leaves -= liveAtEnd.consumers; // the teardown is not churn
	// Final counters first (the children keep running, so the fd baseline still holds their IPC
	// channels), then every transport closes, then the fds are counted against the baseline.
	const final = await loadgenStats(gen, sinkProc, 'stats');
	for (const s of senders) {
		if (!s) continue;
		s.transport.close();
		closing(s.transport, 'transport');
		closing(s.video, 'producer');
		closing(s.audio, 'producer');
	}
	senders.fill(null);
	await sleep(1500);
	await fullGc();
	const retainedAfterClose = { closed: { ...closedObjects }, retained: retainedObjects() };
	const afterTransports = { fds: fdCount(), fdKinds: fdKinds(), ...procStatus(), rss: process.memoryUsage().rss };
	let engineAfter = null;
	try {
		const dumps = await Promise.all(routers.map((r) => r.dump()));
		engineAfter = { transports: dumps.reduce((n, d) => n + (d.transportIds || []).length, 0) };
	} catch (error) {
		noteError('dump after close', error);
	}
	await loadgenStats(gen, sinkProc, 'stop').catch((error) => noteError('loadgen stop', error));
	const finalUsage = await Promise.all(workers.map((w) => (w.closed ? null : w.getResourceUsage().catch(() => null))));
	for (const w of workers) w.close();
	await Promise.all([gen.exitPromise, sinkProc.exitPromise]);
	await sleep(500);
	const afterWorkers = { fds: fdCount(), fdKinds: fdKinds(), ...procStatus(), rss: process.memoryUsage().rss };

	// ---- verdict ----
	const verdict = analyse({ samples, baseline, afterTransports, engineAfter, workerDied, retainedAfterClose, opt });
	const summary = summarise({ samples, final, counts, opt, finalUsage, startedAt });

	printSummary({ summary, verdict, baseline, afterTransports, afterWorkers, before, retainedAfterClose });
	const report = {
		date: new Date().toISOString(),
		options: opt,
		machine: { cpus: require('node:os').cpus().length, node: process.version, loadavg: require('node:os').loadavg() },
		before,
		baseline,
		afterTransports,
		engineAfterClose: engineAfter,
		afterWorkers,
		liveAtEnd,
		summary,
		verdict,
		errors: errorSamples,
		loadgenFinal: final,
		samples,
	};
	fs.mkdirSync(path.dirname(opt.out), { recursive: true });
	fs.writeFileSync(opt.out, JSON.stringify(report, null, 1));
	console.log(`report: ${path.relative(process.cwd(), opt.out)}`);
	console.log(verdict.pass ? 'SOAK PASS' : `SOAK FAIL: ${verdict.failures.join('; ')}`);
	process.exitCode = verdict.pass ? 0 : 1;
}

/** A load generator child (loadgen.js) with request/response over IPC. */
function spawnChild(role) {
	const child = fork(path.join(__dirname, 'loadgen.js'), [role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
	const h = { role, child, exited: null, seq: 0, pending: new Map() };
	child.on('message', (m) => {
		const p = h.pending.get(m.reqId);
		if (!p) {
			if (m.type === 'error') console.error(`loadgen (${role}) error: ${m.message}`);
			return;
		}
		h.pending.delete(m.reqId);
		if (m.type === 'error') p.reject(new Error(`loadgen (${role}): ${m.message}`));
		else p.resolve(m);
	});
	h.exitPromise = new Promise((resolve) => {
		child.on('exit', (code, signal) => {
			h.exited = { code, signal };
			for (const p of h.pending.values()) p.reject(new Error(`loadgen (${role}) exited (${code ?? signal})`));
			h.pending.clear();
			resolve();
		});
	});
	h.request = (msg) =>
		new Promise((resolve, reject) => {
			if (h.exited) return reject(new Error(`loadgen (${role}) is gone`));
			const reqId = ++h.seq;
			h.pending.set(reqId, { resolve, reject });
			child.send({ ...msg, reqId });
		});
	h.tell = (msg) => {
		if (!h.exited && child.connected) child.send(msg);
	};
	return h;
}

/** Both children's counters as one: the sender side from 'send', the sink side from 'sink'. */
async function loadgenStats(gen, sinkProc, type = 'stats') {
	let a;
	let b;
	try {
		[a, b] = await Promise.all([gen.request({ type }), sinkProc.request({ type })]);
	} catch (error) {
		if (type === 'stop') throw error;
		return null;
	}
	const totals = { ...a.totals, sink: b.totals.sink };
	return {
		totals,
		senderRelays: a.senderRelays,
		consumerRelay: b.consumerRelay,
		pendingGaps: b.pendingGaps,
		streams: b.streams,
		rss: a.rss + b.rss,
		rssSend: a.rss,
		rssSink: b.rss,
		cpuMs: (a.cpu.user + a.cpu.system + b.cpu.user + b.cpu.system) / 1000,
		sendErrors: a.totals.sendErrors + b.totals.sendErrors,
	};
}

function analyse({ samples, baseline, afterTransports, engineAfter, workerDied, retainedAfterClose, opt }) {
	const failures = [];
	const notes = [];
	if (workerDied) failures.push(workerDied);
	// Quarters of the run: warm-up is the first; compare the last with the second.
	const n = samples.length;
	const q2 = samples.slice(Math.floor(n / 4), Math.floor(n / 2));
	const q4 = samples.slice(Math.floor((3 * n) / 4));
	const growth = {};
	if (q2.length >= 1 && q4.length >= 1) {
		for (const [key, get] of [
			['rss', (s) => s.rss],
			['heapUsed', (s) => s.heapUsed],
			['fds', (s) => s.fds],
			['threads', (s) => s.threads],
			['engineTransports', (s) => s.engine.transports],
		]) {
			const a = mean(q2.map(get));
			const b = mean(q4.map(get));
			growth[key] = { q2: a, q4: b, ratio: a ? b / a : 0, delta: b - a };
		}
		const g = growth.rss;
		if (g.ratio > 1.2 && g.delta > 50 * MB) failures.push(`RSS grew ${((g.ratio - 1) * 100).toFixed(0)}% (+${fmtMB(g.delta)} MB) from the 2nd to the 4th quarter`);
		for (const k of ['fds', 'threads']) {
			if (growth[k].ratio > 1.1) failures.push(`${k} grew ${((growth[k].ratio - 1) * 100).toFixed(0)}% (${growth[k].q2.toFixed(1)} → ${growth[k].q4.toFixed(1)})`);
		}
	} else {
		notes.push('too few samples for the growth check');
	}
	// RSS slope over the second half, MB per hour (for the record).
	const half = samples.slice(Math.floor(n / 2));
	const rssSlopeMBperHour = (slope(half.map((s) => s.t), half.map((s) => s.rss)) * 3600) / MB;
	// Forwarding must not stop: every interval after the first must deliver packets.
	const rates = samples.filter((s) => s.rates).map((s) => s.rates.sinkPps);
	if (rates.length) {
		const sorted = [...rates].sort((a, b) => a - b);
		const median = sorted[Math.floor(sorted.length / 2)];
		const stalled = samples.filter((s) => s.rates && s.rates.sinkPps < 0.05 * median);
		if (median <= 0) failures.push('nothing was forwarded');
		else if (stalled.length) failures.push(`forwarding stalled at t=${stalled.map((s) => s.t).join(',')} s (< 5% of the median ${median.toFixed(0)} pps)`);
	}
	// Everything closed: the engine holds no transport, and the fds are back near the baseline.
	if (engineAfter && engineAfter.transports !== 0) failures.push(`${engineAfter.transports} transports left in the engine after closing them all`);
	// Closed JS objects still reachable once everything is closed (the worker still open): the
	// JS layer holds on to them. A few may be in flight; a share of the closed ones is a leak.
	for (const [kind, n] of Object.entries(retainedAfterClose.retained)) {
		const closed = retainedAfterClose.closed[kind];
		if (n > 5 && n > 0.02 * closed) failures.push(`${n} of ${closed} closed ${kind}s are still reachable after GC (the JS layer keeps them)`);
	}
	const fdDelta = afterTransports.fds - baseline.fds;
	if (Math.abs(fdDelta) > 3) failures.push(`fds after closing every transport: ${afterTransports.fds} vs ${baseline.fds} at the baseline`);
	return { pass: failures.length === 0, failures, notes, growth, rssSlopeMBperHour, fdDeltaAfterClose: fdDelta, retainedAfterClose, seconds: opt.seconds };
}

function summarise({ samples, final, counts, opt, finalUsage, startedAt }) {
	const first = samples[0];
	const last = samples[samples.length - 1];
	const range = (get) => {
		const xs = samples.map(get);
		return { first: get(first), last: get(last), min: Math.min(...xs), max: Math.max(...xs) };
	};
	const withRates = samples.filter((s) => s.rates);
	const avg = (k) => mean(withRates.map((s) => s.rates[k]));
	const t = final && final.totals;
	const elapsed = (performance.now() - startedAt) / 1000;
	return {
		seconds: elapsed,
		rss: range((s) => s.rss),
		heapUsed: range((s) => s.heapUsed),
		fds: range((s) => s.fds),
		threads: range((s) => s.threads),
		engineTransports: range((s) => s.engine.transports),
		engineConsumers: range((s) => s.engine.consumers),
		engineCpuPct: avg('engineCpuPct'),
		processCpuPct: avg('processCpuPct'),
		loadgenCpuPct: avg('loadgenCpuPct'),
		offeredMbps: avg('offeredKbps') / 1000,
		inPps: avg('inPps'),
		outPps: avg('outPps'),
		sinkPps: avg('sinkPps'),
		engineCpuSecondsTotal: finalUsage.filter(Boolean).reduce((a, u) => a + (u.ru_utime + u.ru_stime) / 1000, 0),
		counts,
		udpDrops: last.udpDrops,
		packets: t && {
			sentVideo: t.video.packets,
			sentAudio: t.audio.packets,
			offeredLayerKbps: t.video.layerBytes.map((b) => (b * 8) / 1000 / elapsed / opt.senders),
			keyFrames: t.video.keyFrames,
			framesSkipped: t.video.framesSkipped || 0,
			resentToProducers: t.resent,
			producerNackItems: t.rtcpIn.nackItems,
			pliFirFromEngine: t.rtcpIn.pli + t.rtcpIn.fir,
			senderRelayDropped: final.senderRelays.up.dropped,
			senderRelayForwarded: final.senderRelays.up.forwarded,
			consumerRelayIn: final.consumerRelay.up.received,
			consumerRelayDropped: final.consumerRelay.up.dropped,
			sinkReceived: t.sink.rtp,
			sinkGaps: t.sink.gaps,
			recoveredByRtx: t.sink.rtxRecovered,
			recoveredLate: t.sink.lateRecovered,
			lostVideo: t.sink.lostVideo,
			lostAudio: t.sink.lostAudio,
			abandonedAtLeave: t.sink.abandoned,
			unknownSsrc: t.sink.unknown,
			nacksSent: t.sink.nackItems,
			plisSent: t.sink.pli,
			rrSent: t.sink.rr,
			sinkDuplicates: t.sink.duplicates,
		},
		loadgenRss: final ? final.rss : null,
	};
}

function printSummary({ summary: s, verdict: v, baseline, afterTransports, afterWorkers, before, retainedAfterClose: ra }) {
	const row = (name, r, f = (x) => x) => console.log(`  ${name.padEnd(22)} first ${f(r.first)}  last ${f(r.last)}  min ${f(r.min)}  max ${f(r.max)}`);
	console.log(`\nsummary (${s.seconds.toFixed(0)} s)`);
	row('RSS (MB)', s.rss, fmtMB);
	row('JS heap used (MB)', s.heapUsed, fmtMB);
	row('fds', s.fds);
	row('threads', s.threads);
	row('engine transports', s.engineTransports);
	row('engine consumers', s.engineConsumers);
	const g = v.growth;
	if (g.rss) {
		console.log(
			`  growth q2→q4: RSS ${fmtMB(g.rss.q2)} → ${fmtMB(g.rss.q4)} MB (${((g.rss.ratio - 1) * 100).toFixed(1)}%), fds ${g.fds.q2.toFixed(1)} → ${g.fds.q4.toFixed(1)}, ` +
				`threads ${g.threads.q2.toFixed(1)} → ${g.threads.q4.toFixed(1)}; RSS slope over the 2nd half ${v.rssSlopeMBperHour.toFixed(1)} MB/h`,
		);
	}
	console.log(
		`  CPU: engine ${s.engineCpuPct.toFixed(1)}% of a core (all workers), engine process ${s.processCpuPct.toFixed(1)}%, load generator ${s.loadgenCpuPct.toFixed(1)}%`,
	);
	console.log(`  offered ${s.offeredMbps.toFixed(1)} Mbit/s; into the engine ${s.inPps.toFixed(0)} pps, out ${s.outPps.toFixed(0)} pps, sink ${s.sinkPps.toFixed(0)} pps`);
	const c = s.counts;
	console.log(
		`  churn: ${c.joins} joins, ${c.leaves} leaves, ${c.switches} layer switches, senders +${c.senderJoins}/-${c.senderLeaves}, errors ${c.errors}, producerclose ${c.consumerProducerClose}`,
	);
	const p = s.packets;
	if (p) {
		console.log(
			`  packets: sent video ${p.sentVideo} audio ${p.sentAudio} (per sender kbit/s by layer ${p.offeredLayerKbps.map((x) => x.toFixed(0)).join('/')}), ` +
				`key frames ${p.keyFrames}, frames skipped ${p.framesSkipped}`,
		);
		console.log(
			`  uplink: relay dropped ${p.senderRelayDropped} of ${p.senderRelayDropped + p.senderRelayForwarded}, engine NACKed ${p.producerNackItems}, resent ${p.resentToProducers}, PLI/FIR ${p.pliFirFromEngine}`,
		);
		console.log(
			`  downlink: relay dropped ${p.consumerRelayDropped} of ${p.consumerRelayIn}; sink received ${p.sinkReceived}, gaps ${p.sinkGaps}, recovered by RTX ${p.recoveredByRtx}, late ${p.recoveredLate}, ` +
				`lost video ${p.lostVideo} audio ${p.lostAudio}, abandoned at leave ${p.abandonedAtLeave}, NACKed ${p.nacksSent}, PLIs ${p.plisSent}, unknown SSRC ${p.unknownSsrc}`,
		);
	}
	console.log(`  kernel drops (full receive buffers): engine sockets ${s.udpDrops.engine}, senders' side ${s.udpDrops.send}, sink side ${s.udpDrops.sink}`);
	console.log(
		`  fds: before libsfu ${before.fds}, baseline (workers, no transports) ${baseline.fds}, after closing all transports ${afterTransports.fds}, after closing the workers ${afterWorkers.fds}`,
	);
	console.log(
		`  closed JS objects still reachable after GC (everything closed): transports ${ra.retained.transport}/${ra.closed.transport}, ` +
			`producers ${ra.retained.producer}/${ra.closed.producer}, consumers ${ra.retained.consumer}/${ra.closed.consumer}`,
	);
	console.log(`  threads: baseline ${baseline.threads}, after closing the workers ${afterWorkers.threads}; RSS after closing ${fmtMB(afterWorkers.rss)} MB`);
}

main().catch((error) => {
	console.error(error);
	process.exit(2);
});
