#!/usr/bin/env node
'use strict';

// The end-to-end load bench. It drives an SFU through the mediasoup v3 Node API — libsfu by
// default, or whatever module SFU_MODULE names (e.g. SFU_MODULE=mediasoup where one is installed) —
// and measures, in the same run, a raw forwarder that moves the same packets with no SFU logic:
//
//   sfu-load gen ──► producer transport (PlainTransport comedia, or WebRtcTransport: the generator
//                    does the client side of ICE, DTLS and SRTP)
//                    └─► N consumer transports (video + audio consumer each) ──► sfu-load sink
//   sfu-load gen ──► sfu-load raw (recvfrom, then sendto per destination) ──► sfu-load sink
//
// The generator sends VP8 simulcast (3 SSRCs, 30 fps, 1200 B top-layer packets, key frames every
// 2 s and on PLI) and opus-sized audio; every consumer gets the top layer (~200 pkt/s) and the
// audio (50 pkt/s). The generator and the sink are separate processes (benches/src/bin/sfu-load.rs),
// so the engine's process holds only the engine: its CPU time (getrusage of this process, plus the
// worker process when the SFU runs one) over the measured window is the engine's cost.
//
// Figures per scenario: forwarded packets/s, forwarded packets/s per core of engine CPU, engine
// CPU % at the offered load, one-way latency p50/p99 (generator clock → sink clock, both
// CLOCK_MONOTONIC), loss, memory per consumer transport (RSS growth from creating them: the
// transport and its two consumers) and, reported apart, the RSS growth once media flowed
// (retransmission buffers and other per-packet state). Then control-plane pairs/s
// (createWebRtcTransport + consume). The headline is libsfu / raw packets per core.
//
// Run: benches/load/run.sh [options]   (builds release binaries, then runs this script)
//      node benches/load/load.js --help

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '..', '..');
const IP = '127.0.0.1';

// plain: PlainTransports; webrtc: a WebRtcTransport per consumer with its own port;
// webrtc-server: consumer WebRtcTransports of one WebRtcServer (one shared socket).
const MODES = ['plain', 'webrtc', 'webrtc-server'];
// Requests in flight in the pipelined control-plane runs.
const CONTROL_DEPTH = 32;
// Pairs alive in the churn run (each new pair closes the oldest).
const CONTROL_LIVE = 1000;


function parseArgs(argv) {
	const opt = {
		modes: ['plain', 'webrtc', 'webrtc-server'],
		// 200: about half of one worker's saturation (the latency target's load point).
		consumers: [1, 10, 100, 200, 500],
		seconds: 8,
		warmup: 3,
		control: 1000,
		// Transports (two consumers each) of the idle run.
		idle: 5000,
		raw: true,
		// The sinks take a GSO send as one datagram (UDP_GRO), as a NIC with receive offload
		// would: over loopback their per-datagram delivery is charged to the sending process.
		sinkGro: true,
		out: null,
		bin: process.env.SFU_LOAD_BIN || path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'release', 'sfu-load'),
	};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const next = () => {
			if (i + 1 >= argv.length) throw new TypeError(`${a} needs a value`);
			return argv[++i];
		};
		if (a === '--modes') opt.modes = next().split(',');
		else if (a === '--consumers') opt.consumers = next().split(',').map(Number);
		else if (a === '--seconds') opt.seconds = Number(next());
		else if (a === '--warmup') opt.warmup = Number(next());
		else if (a === '--control') opt.control = Number(next());
		else if (a === '--idle') opt.idle = Number(next());
		else if (a === '--no-raw') opt.raw = false;
		else if (a === '--no-sink-gro') opt.sinkGro = false;
		else if (a === '--control-only') opt.consumers = [];
		else if (a === '--out') opt.out = next();
		else if (a === '--bin') opt.bin = next();
		else if (a === '--help' || a === '-h') {
			console.log(`usage: node benches/load/load.js [--modes plain,webrtc,webrtc-server] [--consumers 1,10,100,200,500]
       [--seconds 8] [--warmup 3] [--control 1000] [--idle 5000] [--control-only] [--no-raw] [--no-sink-gro] [--out file.json] [--bin path/to/sfu-load]
SFU_MODULE: the mediasoup-API module to drive (default: this repo's node/ package, libsfu)`);
			process.exit(0);
		} else throw new TypeError(`unknown option ${a}`);
	}
	for (const m of opt.modes) if (!MODES.includes(m)) throw new TypeError(`--modes: unknown mode ${m} (${MODES.join(', ')})`);
	for (const n of opt.consumers) if (!Number.isInteger(n) || n < 1) throw new TypeError(`--consumers: ${n} is not a positive integer`);
	if (!(opt.seconds > 0) || !(opt.warmup >= 0)) throw new TypeError('--seconds must be > 0 and --warmup >= 0');
	if (!fs.existsSync(opt.bin)) throw new Error(`${opt.bin} not found: cargo build --release -p sfu-benches --bin sfu-load`);
	return opt;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A UDP port free right now on IP (the kernel's pick for a socket closed at once). */
function freeUdpPort() {
	const s = require('node:dgram').createSocket('udp4');
	return new Promise((resolve, reject) => {
		s.once('error', reject);
		s.bind(0, IP, () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

/** A sfu-load child process: JSON commands on stdin, JSON events on stdout. */
class Proc {
	constructor(bin, role, args = []) {
		this.role = role;
		this.child = spawn(bin, [role, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
		this.events = [];
		this.waiters = [];
		this.exited = null;
		readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
			let ev;
			try {
				ev = JSON.parse(line);
			} catch {
				return;
			}
			if (ev.ev === 'error') this.error = new Error(`sfu-load ${role}: ${ev.message}`);
			this.events.push(ev);
			this.wake();
		});
		this.child.on('exit', (code, signal) => {
			this.exited = { code, signal };
			this.wake();
		});
	}
	wake() {
		for (const w of this.waiters.splice(0)) w();
	}
	send(cmd) {
		this.child.stdin.write(JSON.stringify(cmd) + '\n');
	}
	/** The first unconsumed event matching `pred` (waits up to `ms`). */
	async next(pred, ms = 30000) {
		const end = Date.now() + ms;
		for (;;) {
			if (this.error) throw this.error;
			const i = this.events.findIndex(pred);
			if (i >= 0) return this.events.splice(i, 1)[0];
			if (this.exited) throw new Error(`sfu-load ${this.role} exited (${JSON.stringify(this.exited)})`);
			const left = end - Date.now();
			if (left <= 0) throw new Error(`sfu-load ${this.role}: timed out waiting for an event`);
			await new Promise((r) => {
				const t = setTimeout(r, left);
				this.waiters.push(() => {
					clearTimeout(t);
					r();
				});
			});
		}
	}
	async request(cmd, ev) {
		this.send(cmd);
		return this.next((e) => e.ev === ev);
	}
	get pid() {
		return this.child.pid;
	}
	async stop() {
		if (this.exited) return;
		this.send({ cmd: 'stop' });
		await Promise.race([this.next((e) => e.ev === 'stopped', 5000).catch(() => {}), sleep(5000)]);
		this.child.kill('SIGKILL');
	}
}

const CLK_TCK = 100;
/** CPU seconds (user + system) of another process. */
function procCpu(pid) {
	const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
	const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
function procRss(pid) {
	const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
	return m ? Number(m[1]) * 1024 : 0;
}

/** The engine's CPU seconds and RSS: this process, plus the worker's when it is another one. */
function engineCpu(worker) {
	const u = process.cpuUsage();
	let s = (u.user + u.system) / 1e6;
	if (worker && worker.pid && worker.pid !== process.pid) s += procCpu(worker.pid);
	return s;
}
function engineRss(worker) {
	let rss = process.memoryUsage().rss;
	if (worker && worker.pid && worker.pid !== process.pid) rss += procRss(worker.pid);
	return rss;
}

const MEDIA_CODECS = [
	{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
	{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
];
const VIDEO_SSRCS = [0x11110001, 0x11110002, 0x11110003];
const AUDIO_SSRC = 0x22220001;
const LISTEN = { protocol: 'udp', ip: IP };
/** The generator's start command, but for its target. */
const GEN_START = { cmd: 'start', videoSsrcs: VIDEO_SSRCS, audioSsrc: AUDIO_SSRC, videoPt: 96, audioPt: 100 };

function quantile(sorted, q) {
	if (!sorted.length) return null;
	return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Warm-up, then one measured window: returns the figures. */
async function measure(opt, { gen, sink, cpu, rssBefore, rssAfterSetup, rss, consumers, extra }) {
	await sleep(opt.warmup * 1000);
	await sink.request({ cmd: 'reset' }, 'reset');
	const g0 = await gen.request({ cmd: 'stats' }, 'stats');
	const c0 = cpu();
	const t0 = process.hrtime.bigint();
	await sleep(opt.seconds * 1000);
	const s1 = await sink.request({ cmd: 'stats' }, 'stats');
	const c1 = cpu();
	const wall = Number(process.hrtime.bigint() - t0) / 1e9;
	const g1 = await gen.request({ cmd: 'stats' }, 'stats');
	const extraStats = extra ? await extra() : {};
	const cpuSec = c1 - c0;
	const rssAfterMedia = rss();
	return {
		consumers,
		offeredPps: Math.round((g1.packets - g0.packets) / wall),
		forwardedPps: Math.round(s1.packets / wall),
		engineCpuPercent: +((100 * cpuSec) / wall).toFixed(1),
		ppsPerCore: cpuSec > 0 ? Math.round(s1.packets / cpuSec) : null,
		latencyUs: { p50: s1.latencyUs.p50, p99: s1.latencyUs.p99, max: s1.latencyUs.max },
		lossPercent: s1.expected ? +((100 * s1.lost) / s1.expected).toFixed(3) : null,
		streams: s1.streams,
		undecryptable: s1.undecryptable,
		// Packets per datagram the sinks received: how many a GSO send carried on average
		// (the sinks take a GSO send whole, UDP_GRO; 1 when `--no-sink-gro`).
		packetsPerDatagram: s1.datagrams ? +(s1.packets / s1.datagrams).toFixed(2) : null,
		memoryPerConsumerKiB: rssBefore != null && consumers >= 50 ? +((rssAfterSetup - rssBefore) / consumers / 1024).toFixed(1) : null,
		mediaMemoryPerConsumerKiB: rssAfterSetup != null && consumers >= 50 ? +((rssAfterMedia - rssAfterSetup) / consumers / 1024).toFixed(1) : null,
		keyFrameRequests: g1.keyFrameRequests,
		...extraStats,
	};
}

async function runSfu(sfu, opt, mode, n) {
	const worker = await sfu.createWorker({ logLevel: 'warn' });
	const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
	const gen = new Proc(opt.bin, 'gen');
	const sink = new Proc(opt.bin, 'sink', opt.sinkGro ? [] : ['no-gro']);
	const procs = [gen, sink];
	try {
		await gen.next((e) => e.ev === 'ready');
		const sinkReady = await sink.next((e) => e.ev === 'ready');

		let producerTransport;
		if (mode === 'plain') {
			producerTransport = await router.createPlainTransport({ listenInfo: LISTEN, rtcpMux: true, comedia: true });
		} else {
			producerTransport = await router.createWebRtcTransport({ listenInfos: [LISTEN] });
		}
		const videoFeedback = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }];
		const video = await producerTransport.produce({
			kind: 'video',
			rtpParameters: {
				codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: videoFeedback }],
				encodings: VIDEO_SSRCS.map((ssrc) => ({ ssrc })),
			},
		});
		const audio = await producerTransport.produce({
			kind: 'audio',
			rtpParameters: {
				codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
				encodings: [{ ssrc: AUDIO_SSRC }],
			},
		});

		// The consumers, their transports connected to the sink.
		// An explicit port: mediasoup's WebRtcServer requires one.
		const webRtcServer = mode === 'webrtc-server' ? await worker.createWebRtcServer({ listenInfos: [{ ...LISTEN, port: await freeUdpPort() }] }) : null;
		const rssBefore = engineRss(worker);
		const transports = [];
		for (let i = 0; i < n; i++) {
			let t;
			if (mode === 'plain') {
				t = await router.createPlainTransport({ listenInfo: LISTEN, rtcpMux: true, comedia: false });
				await t.connect({ ip: IP, port: sinkReady.port });
			} else {
				// No feedback comes from the sink: start the estimate high enough for the top layer.
				const where = webRtcServer ? { webRtcServer } : { listenInfos: [LISTEN] };
				t = await router.createWebRtcTransport({ ...where, initialAvailableOutgoingBitrate: 10_000_000 });
			}
			await t.consume({ producerId: video.id, rtpCapabilities: router.rtpCapabilities });
			await t.consume({ producerId: audio.id, rtpCapabilities: router.rtpCapabilities });
			transports.push(t);
		}
		const rssAfterSetup = engineRss(worker);
		if (mode !== 'plain') {
			// Every consumer transport: sink client session, connect(), ICE + DTLS.
			const targets = transports.map((t) => `${IP}:${t.iceCandidates.find((c) => c.protocol === 'udp').port}`);
			for (let i = 0; i < n; i++) {
				sink.send({
					cmd: 'client',
					id: String(i),
					target: targets[i],
					ownSocket: webRtcServer !== null,
					ice: transports[i].iceParameters,
					fingerprints: transports[i].dtlsParameters.fingerprints,
				});
			}
			for (let i = 0; i < n; i++) {
				const ev = await sink.next((e) => e.ev === 'dtls');
				await transports[Number(ev.id)].connect({ dtlsParameters: ev.dtlsParameters });
				sink.send({ cmd: 'connect', id: ev.id, target: targets[Number(ev.id)] });
			}
			for (let i = 0; i < n; i++) await sink.next((e) => e.ev === 'connected', 60000);
		}

		// The generator.
		let srtpCryptoSuite = null;
		if (mode === 'plain') {
			await gen.request({ ...GEN_START, target: `${IP}:${producerTransport.tuple.localPort}` }, 'started');
		} else {
			const cand = producerTransport.iceCandidates.find((c) => c.protocol === 'udp');
			const d = await gen.request({ cmd: 'client', ice: producerTransport.iceParameters, fingerprints: producerTransport.dtlsParameters.fingerprints }, 'dtls');
			await producerTransport.connect({ dtlsParameters: d.dtlsParameters });
			const started = await gen.request({ ...GEN_START, target: `${IP}:${cand.port}` }, 'started');
			srtpCryptoSuite = started.srtpCryptoSuite;
		}
		const r = await measure(opt, {
			gen,
			sink,
			cpu: () => engineCpu(worker),
			rssBefore,
			rssAfterSetup,
			rss: () => engineRss(worker),
			consumers: n,
		});
		r.srtpCryptoSuite = srtpCryptoSuite;
		return r;
	} finally {
		for (const p of procs) await p.stop();
		worker.close();
	}
}

// The raw forwarder: recvfrom, then one sendto per destination per packet; `batched`: the
// engine's I/O method instead — a turn's packets (up to 64 reads) per destination in one
// sendmmsg, equal-size runs as UDP GSO messages.
async function runRaw(opt, n, batched = false) {
	const gen = new Proc(opt.bin, 'gen');
	const sink = new Proc(opt.bin, 'sink', opt.sinkGro ? [] : ['no-gro']);
	const raw = new Proc(opt.bin, 'raw', batched ? ['batched'] : []);
	try {
		await gen.next((e) => e.ev === 'ready');
		const sinkReady = await sink.next((e) => e.ev === 'ready');
		const rawReady = await raw.next((e) => e.ev === 'ready');
		await raw.request({ cmd: 'start', dests: Array(n).fill(`${IP}:${sinkReady.port}`), ssrcs: [VIDEO_SSRCS[2], AUDIO_SSRC] }, 'started');
		await gen.request({ ...GEN_START, target: `${IP}:${rawReady.port}` }, 'started');
		return await measure(opt, { gen, sink, cpu: () => procCpu(raw.pid), rss: () => procRss(raw.pid), consumers: n });
	} finally {
		for (const p of [gen, sink, raw]) await p.stop();
	}
}

/** A worker whose router has a video (simulcast) and an audio producer for the control runs to consume. */
async function controlSetup(sfu) {
	const worker = await sfu.createWorker({ logLevel: 'warn' });
	try {
		const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
		const pt = await router.createPlainTransport({ listenInfo: LISTEN, rtcpMux: true, comedia: true });
		const video = await pt.produce({
			kind: 'video',
			rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }], encodings: VIDEO_SSRCS.map((ssrc) => ({ ssrc })) },
		});
		const audio = await pt.produce({
			kind: 'audio',
			rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: AUDIO_SSRC }] },
		});
		return { worker, router, video, audio };
	} catch (error) {
		worker.close();
		throw error;
	}
}

/** createWebRtcTransport + consume pairs per second on one worker, awaited one after another. */
// createWebRtcTransport + consume pairs through the Node API: `depth` callers, each awaiting its
// own pairs in turn (depth 1: one request at a time; more: a signaling server with many clients
// at once), each transport with its own port or all on one WebRtcServer.
// With `live` > 0, `live` pairs exist first (untimed) and each new pair closes the oldest, as on
// a server in steady state.
async function runControl(sfu, count, { depth = 1, server = false, live = 0 } = {}) {
	const { worker, router, video } = await controlSetup(sfu);
	try {
		const webRtcServer = server ? await worker.createWebRtcServer({ listenInfos: [{ ...LISTEN, port: 0 }] }) : null;
		const options = webRtcServer ? { webRtcServer } : { listenInfos: [LISTEN] };
		const warm = await router.createWebRtcTransport(options);
		await warm.consume({ producerId: video.id, rtpCapabilities: router.rtpCapabilities });
		const population = [];
		for (let i = 0; i < live; i++) {
			const t = await router.createWebRtcTransport(options);
			await t.consume({ producerId: video.id, rtpCapabilities: router.rtpCapabilities });
			population.push(t);
		}
		const cpu0 = engineCpu(worker);
		const t0 = process.hrtime.bigint();
		const lat = [];
		const transports = [];
		const caller = async (n) => {
			for (let i = 0; i < n; i++) {
				const a = process.hrtime.bigint();
				const t = await router.createWebRtcTransport(options);
				await t.consume({ producerId: video.id, rtpCapabilities: router.rtpCapabilities });
				lat.push(Number(process.hrtime.bigint() - a) / 1000);
				if (live > 0) {
					population.push(t);
					if (population.length > live) population.shift().close();
				} else transports.push(t);
			}
		};
		await Promise.all(Array.from({ length: depth }, (_, i) => caller(Math.floor(count / depth) + (i < count % depth ? 1 : 0))));
		const wall = Number(process.hrtime.bigint() - t0) / 1e9;
		const cpuSec = engineCpu(worker) - cpu0;
		lat.sort((a, b) => a - b);
		for (const t of transports.concat(population)) t.close();
		return {
			pairs: count,
			inFlight: depth,
			webRtcServer: server,
			live,
			pairsPerSecond: Math.round(count / wall),
			pairsPerCpuSecond: cpuSec > 0 ? Math.round(count / cpuSec) : null,
			pairLatencyUs: { p50: Math.round(quantile(lat, 0.5)), p99: Math.round(quantile(lat, 0.99)) },
		};
	} finally {
		worker.close();
	}
}

/**
 * What a worker spends on transports nobody has connected to (yet): a signaling server creates
 * them as clients join, some never connect. Worker thread CPU over a quiet window, from
 * getResourceUsage() (the worker subprocess's usage, for mediasoup).
 */
async function runIdle(sfu, transports, seconds = 5) {
	const { worker, router, video, audio } = await controlSetup(sfu);
	try {
		const webRtcServer = await worker.createWebRtcServer({ listenInfos: [{ ...LISTEN, port: 0 }] });
		await Promise.all(
			Array.from({ length: CONTROL_DEPTH }, async (_, i) => {
				for (let n = i; n < transports; n += CONTROL_DEPTH) {
					const t = await router.createWebRtcTransport({ webRtcServer });
					await t.consume({ producerId: video.id, rtpCapabilities: router.rtpCapabilities });
					await t.consume({ producerId: audio.id, rtpCapabilities: router.rtpCapabilities });
				}
			}),
		);
		await sleep(1000);
		const cpuMs = (u) => u.ru_utime + u.ru_stime;
		const u0 = await worker.getResourceUsage();
		const t0 = process.hrtime.bigint();
		await sleep(seconds * 1000);
		const u1 = await worker.getResourceUsage();
		const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
		const ms = cpuMs(u1) - cpuMs(u0);
		return {
			transports,
			consumersPerTransport: 2,
			seconds: Math.round(wallMs) / 1000,
			workerCpuPercent: Math.round((ms / wallMs) * 10000) / 100,
			cpuUsPerTransportPerSecond: Math.round(((ms * 1000) / (wallMs / 1000) / transports) * 100) / 100,
		};
	} finally {
		worker.close();
	}
}

function diff(a, b) {
	return a == null || b == null ? null : a - b;
}

function fmt(v, digits = 0) {
	if (v == null) return '—';
	return typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: digits }) : String(v);
}

async function main() {
	const opt = parseArgs(process.argv.slice(2));
	const moduleName = process.env.SFU_MODULE || path.join(ROOT, 'node');
	const sfu = require(moduleName);
	const label = process.env.SFU_MODULE ? process.env.SFU_MODULE : 'libsfu';
	const results = {
		date: new Date().toISOString(),
		machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release(), node: process.version },
		module: label,
		moduleVersion: sfu.version,
		options: { seconds: opt.seconds, warmup: opt.warmup, consumers: opt.consumers, modes: opt.modes, sinkGro: opt.sinkGro },
		scenarios: [],
		control: null,
		controlRust: null,
	};
	console.log(`load bench: ${label} ${sfu.version ?? ''} vs raw forwarder, ${opt.seconds} s windows (${opt.warmup} s warm-up), ${os.cpus().length} CPUs`);
	console.log('scenario              consumers  offered pps  forwarded pps  engine CPU %  pps/core    vs raw  vs batched  p50 µs  p99 µs  added p50/p99 µs  loss %  KiB/consumer');
	const rawByN = new Map();
	const batchedByN = new Map();
	for (const n of opt.consumers) {
		if (opt.raw) {
			const r = await runRaw(opt, n);
			rawByN.set(n, r);
			results.scenarios.push({ name: 'raw', ...r });
			print('raw forwarder', r);
			const b = await runRaw(opt, n, true);
			batchedByN.set(n, b);
			results.scenarios.push({ name: 'raw batched', ...b });
			print('raw, batched + GSO', b);
		}
		for (const mode of opt.modes) {
			const r = await runSfu(sfu, opt, mode, n);
			const raw = rawByN.get(n);
			r.vsRaw = raw && raw.ppsPerCore && r.ppsPerCore ? +(r.ppsPerCore / raw.ppsPerCore).toFixed(3) : null;
			const batched = batchedByN.get(n);
			r.vsRawBatched = batched && batched.ppsPerCore && r.ppsPerCore ? +(r.ppsPerCore / batched.ppsPerCore).toFixed(3) : null;
			// Added latency: the SFU's one-way latency minus the raw forwarder's at the same N.
			r.addedLatencyUs = raw ? { p50: diff(r.latencyUs.p50, raw.latencyUs.p50), p99: diff(r.latencyUs.p99, raw.latencyUs.p99) } : null;
			r.addedLatencyVsBatchedUs = batched ? { p50: diff(r.latencyUs.p50, batched.latencyUs.p50), p99: diff(r.latencyUs.p99, batched.latencyUs.p99) } : null;
			results.scenarios.push({ name: `${label} ${mode}`, mode, ...r });
			print(`${label} ${mode}`, r);
		}
	}
	if (opt.control > 0) {
		// One request at a time with a port per transport (as before), then on one WebRtcServer,
		// then with CONTROL_DEPTH requests in flight.
		const variants = [{ depth: 1, server: false }, { depth: 1, server: true }, { depth: CONTROL_DEPTH, server: false }, { depth: CONTROL_DEPTH, server: true }, { depth: CONTROL_DEPTH, server: true, live: CONTROL_LIVE }];
		results.controlVariants = [];
		for (const v of variants) {
			const c = await runControl(sfu, opt.control, v);
			results.controlVariants.push(c);
			if (!results.control) results.control = c;
			console.log(`control plane (${label} Node API, ${v.live ? `churn at ${v.live} live, ` : ''}${v.depth} in flight, ${v.server ? 'on a WebRtcServer' : 'port each'}): ${fmt(c.pairsPerSecond)} createWebRtcTransport + consume pairs/s (${fmt(c.pairsPerCpuSecond)} per CPU second), p50 ${c.pairLatencyUs.p50} µs, p99 ${c.pairLatencyUs.p99} µs per pair`);
		}
		if (!process.env.SFU_MODULE) {
			// The same pairs through the Rust API: the engine's own cost, without the Node face.
			const p = new Proc(opt.bin, 'control', [String(opt.control)]);
			p.child.stdin.end();
			const r = await p.next((e) => e.ev === 'control', 120000);
			delete r.ev;
			results.controlRust = r;
			console.log(`control plane (libsfu Rust API, 1 in flight, port each): ${fmt(r.pairsPerSecond)} pairs/s (${fmt(r.pairsPerCpuSecond)} per CPU second), p50 ${r.pairLatencyUs.p50} µs, p99 ${r.pairLatencyUs.p99} µs per pair`);
			for (const [name, v] of [['1 in flight, on a WebRtcServer', r.webRtcServer], [`${r.pipelined.ports.inFlight} in flight, port each`, r.pipelined.ports], [`${r.pipelined.webRtcServer.inFlight} in flight, on a WebRtcServer`, r.pipelined.webRtcServer], [`churn at ${r.churn.ports.live} live, ${r.churn.ports.inFlight} in flight, port each`, r.churn.ports], [`churn at ${r.churn.webRtcServer.live} live, ${r.churn.webRtcServer.inFlight} in flight, on a WebRtcServer`, r.churn.webRtcServer]]) {
				console.log(`control plane (libsfu Rust API, ${name}): ${fmt(v.pairsPerSecond)} pairs/s (${fmt(v.pairsPerCpuSecond)} per CPU second), p50 ${v.pairLatencyUs.p50} µs, p99 ${v.pairLatencyUs.p99} µs per pair`);
			}
		}
	}
	if (opt.idle > 0) {
		const idle = await runIdle(sfu, opt.idle);
		results.idle = idle;
		console.log(`idle: ${fmt(idle.transports)} WebRTC transports never connected, ${idle.consumersPerTransport} consumers each: ${fmt(idle.workerCpuPercent, 2)} % of a core (${fmt(idle.cpuUsPerTransportPerSecond, 2)} µs per transport per second)`);
	}
	const out = opt.out || path.join(__dirname, 'out', `load-${results.date.replace(/[:.]/g, '-')}.json`);
	fs.mkdirSync(path.dirname(out), { recursive: true });
	fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
	console.log(`results: ${out}`);
	// Workers are closed; stray handles (sockets of closed transports) must not keep us alive.
	process.exit(0);
}

function print(name, r) {
	console.log(
		[
			name.padEnd(22),
			fmt(r.consumers).padStart(9),
			fmt(r.offeredPps).padStart(12),
			fmt(r.forwardedPps).padStart(14),
			fmt(r.engineCpuPercent, 1).padStart(13),
			fmt(r.ppsPerCore).padStart(9),
			(r.vsRaw != null ? `${r.vsRaw.toFixed(2)}x` : '').padStart(9),
			(r.vsRawBatched != null ? `${r.vsRawBatched.toFixed(2)}x` : '').padStart(11),
			fmt(r.latencyUs.p50).padStart(7),
			fmt(r.latencyUs.p99).padStart(7),
			(r.addedLatencyUs ? `${fmt(r.addedLatencyUs.p50)} / ${fmt(r.addedLatencyUs.p99)}` : '').padStart(17),
			fmt(r.lossPercent, 2).padStart(7),
			fmt(r.memoryPerConsumerKiB, 1).padStart(13),
		].join(' '),
	);
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
