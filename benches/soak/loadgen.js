'use strict';

// The soak bench's load generator and receivers, run as two child processes of soak.js (role
// 'send': the senders and their relays; role 'sink': the consumers' relay and the sink), so that
// the engine process holds only the engine (its CPU, fds and memory are then the engine's own) and
// the JS side of the load uses both cores.
//
//   sender socket ──► impair relay (per sender) ──► sender PlainTransport (comedia)
//                 ◄── RTCP (PLI, FIR, NACK) ◄──
//   consumer PlainTransports ──► impair relay (one upstream socket per consumer) ──► sink socket
//   (SHARDS relay + sink pairs, so that the kernel buffers more when this process falls behind)
//                            ◄── RTCP (NACK, PLI, RR) ◄──
//
// Senders: synthetic VP8 simulcast (3 SSRCs, L1T3 with a full VP8 payload descriptor: PictureID,
// TL0PICIDX, TID/Y; key frames with a real key frame header) at ~30 fps, and opus-sized audio every
// 20 ms. A key frame goes out periodically and on PLI/FIR; NACKed packets are resent (same SSRC,
// the producers have no RTX) from a 1024-packet history.
// Sink: one socket for every consumer; streams are told apart by SSRC (soak.js sends each
// consumer's SSRC and RTX SSRC over IPC). It tracks gaps in each stream's sequence numbers, NACKs
// what is still missing after the jitter window, counts what RTX or a late arrival recovered and
// what was never recovered (lost), sends a receiver report per stream every second, and a PLI when
// a video stream lost a packet for good (at most one per 2 s).
//
// IPC (process.send): parent → child {type: init|addSender|removeSender|addConsumer|removeConsumer|
// stats|stop}; child → parent {type: ready|senderAdded|senderRemoved|stats|stopped|error}.

const dgram = require('node:dgram');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { startRelay, mulberry32 } = require(path.join(__dirname, '..', '..', 'tests', 'tools', 'impair-relay.js'));

const IP = '127.0.0.1';
const MAX_PAYLOAD = 1100;
const HISTORY = 1024; // per-SSRC resend history (power of two)
const NACK_AFTER_MS = 40; // jitter window (30 ms) + margin before a gap is NACKed
const LOST_AFTER_MS = 1000; // a gap still open after this is lost for good
const PLI_EVERY_MS = 2000;
const LAYER_SIZE = [
	{ w: 320, h: 180 },
	{ w: 640, h: 360 },
	{ w: 1280, h: 720 },
];

let cfg = null;
const senders = new Map(); // index -> Sender
let shards = []; // sink role: [{relay, sink}], consumers spread over them (more socket buffer)
const streams = new Map(); // ssrc -> Stream (media and RTX SSRCs both map to the stream)
const consumers = new Map(); // consumer id -> Stream[]
const pendingStreams = new Set(); // streams with open gaps
let frameTimer = null;
let audioTimer = null;
let nackTimer = null;
let rrTimer = null;
let stopping = false;
let role = null; // 'send': senders and their relays; 'sink': the consumers' relay and the sink

const totals = {
	video: { packets: 0, bytes: 0, layerPackets: [0, 0, 0], layerBytes: [0, 0, 0], keyFrames: 0 },
	audio: { packets: 0, bytes: 0 },
	rtcpIn: { pli: 0, fir: 0, nack: 0, nackItems: 0, other: 0 },
	resent: 0,
	resendMiss: 0,
	sendErrors: 0,
	sink: {
		rtp: 0, // media packets received (first copies, RTX excluded)
		bytes: 0,
		rtx: 0, // RTX packets received
		duplicates: 0,
		gaps: 0, // sequence numbers seen missing
		lateRecovered: 0, // a gap filled by a late (reordered) packet
		rtxRecovered: 0, // a gap filled by a retransmission
		lost: 0, // gaps never filled within LOST_AFTER_MS
		lostVideo: 0,
		lostAudio: 0, // audio is not NACKed: its gaps are all lost
		abandoned: 0, // gaps open when the consumer left
		unknown: 0, // packets of SSRCs not (or no longer) known
		rtcp: 0,
		nackPackets: 0,
		nackItems: 0,
		pli: 0,
		rr: 0,
		videoRtp: 0,
		audioRtp: 0,
	},
	retiredRelays: { up: zeroRelay(), down: zeroRelay() },
};

function zeroRelay() {
	return { received: 0, dropped: 0, lossDropped: 0, forwarded: 0, bytesForwarded: 0, sendErrors: 0 };
}

function addRelay(acc, st) {
	for (const k of Object.keys(acc)) acc[k] += st[k] || 0;
}


function bind(socket) {
	return new Promise((resolve, reject) => {
		socket.once('error', reject);
		socket.bind(0, IP, () => {
			socket.removeListener('error', reject);
			resolve();
		});
	});
}

function closeSocket(s) {
	return new Promise((resolve) => {
		try {
			s.close(resolve);
		} catch {
			resolve();
		}
	});
}

// ---------------------------------------------------------------------------------------------
// Senders

class Sender {
	constructor(msg) {
		this.index = msg.index;
		this.generation = msg.generation;
		this.target = msg.port;
		this.video = msg.video; // {pt, ssrcs: [3]}
		this.audio = msg.audio; // {pt, ssrc} | null
		this.random = mulberry32(cfg.seed * 7919 + msg.generation * 104729 + msg.index);
		this.layers = this.video.ssrcs.map((ssrc, l) => ({
			ssrc,
			seq: Math.floor(this.random() * 65536),
			ts: Math.floor(this.random() * 2 ** 32),
			pictureId: Math.floor(this.random() * 32768),
			tl0: 0,
			frame: 0,
			keyPending: true,
			lastKeyAt: 0,
			history: new Array(HISTORY),
			frameBytes: Math.max(200, Math.round((cfg.layerKbps[l] * 1000) / 8 / cfg.fps)),
			size: LAYER_SIZE[l],
		}));
		this.bySsrc = new Map(this.layers.map((l) => [l.ssrc, l]));
		if (this.audio) {
			this.audioState = { seq: Math.floor(this.random() * 65536), ts: Math.floor(this.random() * 2 ** 32) };
		}
		this.socket = null;
		this.relay = null;
	}

	async start() {
		this.relay = await startRelay({
			listen: { ip: IP, port: 0 },
			target: { ip: IP, port: this.target },
			seed: (cfg.seed * 1000003 + this.generation * 31 + this.index) >>> 0,
			loss: cfg.loss,
			jitterMs: cfg.jitterMs,
			idleTimeoutMs: 0,
		});
		this.socket = dgram.createSocket('udp4');
		this.socket.on('error', () => totals.sendErrors++);
		this.socket.on('message', (msg) => this.onRtcp(msg));
		await bind(this.socket);
		try {
			this.socket.setSendBufferSize(2 * 1024 * 1024);
			this.socket.setRecvBufferSize(1024 * 1024);
		} catch {
			// capped by the kernel
		}
		this.relayPort = this.relay.address.port;
	}

	async stop() {
		const st = this.relay.stats;
		await closeSocket(this.socket);
		await this.relay.close();
		addRelay(totals.retiredRelays.up, st.up);
		addRelay(totals.retiredRelays.down, st.down);
	}

	send(buf) {
		this.socket.send(buf, this.relayPort, IP, (error) => {
			if (error) totals.sendErrors++;
		});
	}

	/** One video frame on every layer. */
	sendFrames(now) {
		for (let l = 0; l < 3; l++) {
			const L = this.layers[l];
			let key = L.keyPending || now - L.lastKeyAt >= cfg.keyFrameEveryMs;
			const phase = L.frame % 4;
			let tid = key ? 0 : [0, 2, 1, 2][phase];
			if (key) {
				L.keyPending = false;
				L.lastKeyAt = now;
				L.frame = 0; // restart the temporal pattern at the key frame
				tid = 0;
				totals.video.keyFrames++;
			}
			const sync = !key && (phase === 1 || phase === 2);
			if (tid === 0) L.tl0 = (L.tl0 + 1) & 0xff;
			L.pictureId = (L.pictureId + 1) & 0x7fff;
			L.ts = (L.ts + 90000 / cfg.fps) >>> 0;
			let size = Math.round(L.frameBytes * (key ? 3 : tid === 0 ? 1.3 : 0.85) * (0.9 + 0.2 * this.random()));
			const count = Math.max(1, Math.ceil(size / MAX_PAYLOAD));
			const per = Math.ceil(size / count);
			for (let i = 0; i < count; i++) {
				const payloadLen = Math.min(per, size);
				size -= payloadLen;
				const pkt = this.vp8Packet(L, i === 0, i === count - 1, key, tid, sync, Math.max(payloadLen, 10));
				totals.video.packets++;
				totals.video.bytes += pkt.length;
				totals.video.layerPackets[l]++;
				totals.video.layerBytes[l] += pkt.length;
				L.history[L.seq & (HISTORY - 1)] = pkt;
				L.seq = (L.seq + 1) & 0xffff;
				this.send(pkt);
			}
			L.frame++;
		}
	}

	vp8Packet(L, first, last, key, tid, sync, payloadLen) {
		const desc = 6; // X, I|L|T, PictureID (2), TL0PICIDX, TID|Y
		const buf = Buffer.allocUnsafe(12 + desc + payloadLen);
		buf[0] = 0x80;
		buf[1] = (last ? 0x80 : 0) | this.video.pt;
		buf.writeUInt16BE(L.seq, 2);
		buf.writeUInt32BE(L.ts, 4);
		buf.writeUInt32BE(L.ssrc, 8);
		buf[12] = 0x80 | (first ? 0x10 : 0); // X, S (partition 0)
		buf[13] = 0xe0; // I, L, T
		buf[14] = 0x80 | (L.pictureId >> 8); // M: 15-bit PictureID
		buf[15] = L.pictureId & 0xff;
		buf[16] = L.tl0;
		buf[17] = (tid << 6) | (sync ? 0x20 : 0);
		const p = 18;
		buf.fill(0x55, p);
		if (first) {
			// VP8 frame tag: P bit (bit 0) clear on key frames, show_frame, first partition size.
			const partSize = Math.min(payloadLen, 0x7ffff);
			const tag = (key ? 0 : 1) | 0x10 | (partSize << 5);
			buf[p] = tag & 0xff;
			buf[p + 1] = (tag >> 8) & 0xff;
			buf[p + 2] = (tag >> 16) & 0xff;
			if (key && payloadLen >= 10) {
				buf[p + 3] = 0x9d;
				buf[p + 4] = 0x01;
				buf[p + 5] = 0x2a;
				buf.writeUInt16LE(L.size.w, p + 6);
				buf.writeUInt16LE(L.size.h, p + 8);
			}
		}
		return buf;
	}

	sendAudio() {
		const A = this.audioState;
		A.ts = (A.ts + 960) >>> 0;
		const len = 60 + Math.floor(this.random() * 60);
		const buf = Buffer.allocUnsafe(12 + len);
		buf[0] = 0x80;
		buf[1] = this.audio.pt;
		buf.writeUInt16BE(A.seq, 2);
		buf.writeUInt32BE(A.ts, 4);
		buf.writeUInt32BE(this.audio.ssrc, 8);
		buf.fill(0x33, 12);
		buf[12] = 0x78; // opus TOC: CELT FB 20 ms
		A.seq = (A.seq + 1) & 0xffff;
		totals.audio.packets++;
		totals.audio.bytes += buf.length;
		this.send(buf);
	}

	onRtcp(msg) {
		let off = 0;
		while (off + 4 <= msg.length) {
			const fmt = msg[off] & 0x1f;
			const pt = msg[off + 1];
			const len = (msg.readUInt16BE(off + 2) + 1) * 4;
			if (off + len > msg.length || len < 4) break;
			if (pt === 206 && fmt === 1 && len >= 12) {
				totals.rtcpIn.pli++;
				this.keyFrameFor(msg.readUInt32BE(off + 8));
			} else if (pt === 206 && fmt === 4 && len >= 20) {
				totals.rtcpIn.fir++;
				for (let o = off + 12; o + 8 <= off + len; o += 8) this.keyFrameFor(msg.readUInt32BE(o));
			} else if (pt === 205 && fmt === 1 && len >= 16) {
				totals.rtcpIn.nack++;
				const L = this.bySsrc.get(msg.readUInt32BE(off + 8));
				for (let o = off + 12; o + 4 <= off + len; o += 4) {
					const pid = msg.readUInt16BE(o);
					const blp = msg.readUInt16BE(o + 2);
					this.resend(L, pid);
					for (let b = 0; b < 16; b++) if (blp & (1 << b)) this.resend(L, (pid + b + 1) & 0xffff);
				}
			} else {
				totals.rtcpIn.other++;
			}
			off += len;
		}
	}

	keyFrameFor(ssrc) {
		const L = this.bySsrc.get(ssrc);
		if (L) L.keyPending = true;
	}

	resend(L, seq) {
		totals.rtcpIn.nackItems++;
		const pkt = L && L.history[seq & (HISTORY - 1)];
		if (!pkt || pkt.readUInt16BE(2) !== seq) {
			totals.resendMiss++;
			return;
		}
		totals.resent++;
		this.send(pkt);
	}
}

// ---------------------------------------------------------------------------------------------
// Sink

class Stream {
	constructor(consumerId, kind, ssrc, rtxSsrc) {
		this.consumerId = consumerId;
		this.kind = kind;
		this.ssrc = ssrc;
		this.rtxSsrc = rtxSsrc;
		this.max = -1; // extended highest sequence number
		this.base = -1;
		this.received = 0;
		this.missing = new Map(); // extended seq -> {at, nacked}
		this.remote = null; // {address, port}: the relay flow that carries this consumer
		this.sink = null; // the sink socket it arrives on (replies must come from it)
		this.lostTotal = 0;
		this.lostAtLastRr = 0;
		this.expectedAtLastRr = 0;
		this.receivedAtLastRr = 0;
		this.lastPliAt = 0;
		this.gone = false;
	}

	extend(seq) {
		if (this.max < 0) return seq;
		const cur = this.max & 0xffff;
		let delta = (seq - cur) & 0xffff;
		if (delta >= 0x8000) delta -= 0x10000;
		return this.max + delta;
	}

	onMedia(seq, now) {
		const ext = this.extend(seq);
		if (this.max < 0) {
			this.max = ext;
			this.base = ext;
			this.received++;
			totals.sink.rtp++;
			return;
		}
		if (ext > this.max) {
			const gap = ext - this.max - 1;
			if (gap > 0) {
				if (gap > 3000) {
					// A restart, not loss: forget the old numbering.
					this.abandonMissing();
					this.base = ext;
				} else {
					for (let s = this.max + 1; s < ext; s++) this.missing.set(s, { at: now, nacked: false });
					totals.sink.gaps += gap;
					pendingStreams.add(this);
				}
			}
			this.max = ext;
			this.received++;
			totals.sink.rtp++;
		} else if (this.missing.delete(ext)) {
			this.received++;
			totals.sink.rtp++;
			totals.sink.lateRecovered++;
		} else {
			totals.sink.duplicates++;
		}
	}

	onRtx(osn) {
		const ext = this.extend(osn);
		if (this.missing.delete(ext)) {
			this.received++;
			totals.sink.rtxRecovered++;
		} else {
			totals.sink.duplicates++;
		}
	}

	abandonMissing() {
		totals.sink.abandoned += this.missing.size;
		this.missing.clear();
		pendingStreams.delete(this);
	}
}

function onSinkMessage(msg, rinfo, socket) {
	if (msg.length < 12) return;
	const pt = msg[1];
	if (pt >= 192 && pt <= 223) {
		totals.sink.rtcp++; // sender reports etc. from the consumers
		return;
	}
	const ssrc = msg.readUInt32BE(8);
	const stream = streams.get(ssrc);
	if (!stream) {
		totals.sink.unknown++;
		return;
	}
	if (!stream.remote) {
		stream.remote = { address: rinfo.address, port: rinfo.port };
		stream.sink = socket;
	}
	totals.sink.bytes += msg.length;
	if (ssrc === stream.rtxSsrc) {
		totals.sink.rtx++;
		// The original sequence number is the RTX payload's first two bytes.
		const cc = msg[0] & 0x0f;
		let off = 12 + 4 * cc;
		if (msg[0] & 0x10) off += 4 + 4 * msg.readUInt16BE(off + 2);
		if (off + 2 <= msg.length) stream.onRtx(msg.readUInt16BE(off));
		return;
	}
	if (stream.kind === 'video') totals.sink.videoRtp++;
	else totals.sink.audioRtp++;
	stream.onMedia(msg.readUInt16BE(2), performance.now());
}

const SINK_SSRC = 0x5eed0001;

function nackTick() {
	const now = performance.now();
	for (const stream of pendingStreams) {
		const items = [];
		let lostNow = 0;
		for (const [ext, m] of stream.missing) {
			const age = now - m.at;
			if (age >= LOST_AFTER_MS) {
				stream.missing.delete(ext);
				stream.lostTotal++;
				lostNow++;
			} else if (!m.nacked && age >= NACK_AFTER_MS) {
				m.nacked = true;
				items.push(ext & 0xffff);
			}
		}
		totals.sink.lost += lostNow;
		if (stream.kind === 'video') totals.sink.lostVideo += lostNow;
		else totals.sink.lostAudio += lostNow;
		if (stream.missing.size === 0) pendingStreams.delete(stream);
		if (!stream.remote || stream.gone) continue;
		if (items.length > 0 && stream.kind === 'video') sendNack(stream, items);
		if (lostNow > 0 && stream.kind === 'video' && now - stream.lastPliAt >= PLI_EVERY_MS) {
			stream.lastPliAt = now;
			const b = Buffer.alloc(12);
			b[0] = 0x81;
			b[1] = 206;
			b.writeUInt16BE(2, 2);
			b.writeUInt32BE(SINK_SSRC, 4);
			b.writeUInt32BE(stream.ssrc, 8);
			totals.sink.pli++;
			stream.sink.send(b, stream.remote.port, stream.remote.address);
		}
	}
}

function sendNack(stream, seqs) {
	// Pack into PID + BLP pairs.
	seqs.sort((a, b) => ((a - seqs[0]) & 0xffff) - ((b - seqs[0]) & 0xffff));
	const fci = [];
	for (const s of seqs) {
		const last = fci[fci.length - 1];
		const d = last ? (s - last.pid) & 0xffff : 0;
		if (last && d >= 1 && d <= 16) last.blp |= 1 << (d - 1);
		else fci.push({ pid: s, blp: 0 });
	}
	const b = Buffer.alloc(12 + 4 * fci.length);
	b[0] = 0x81;
	b[1] = 205;
	b.writeUInt16BE(2 + fci.length, 2);
	b.writeUInt32BE(SINK_SSRC, 4);
	b.writeUInt32BE(stream.ssrc, 8);
	fci.forEach((f, i) => {
		b.writeUInt16BE(f.pid, 12 + 4 * i);
		b.writeUInt16BE(f.blp, 14 + 4 * i);
	});
	totals.sink.nackPackets++;
	totals.sink.nackItems += seqs.length;
	stream.sink.send(b, stream.remote.port, stream.remote.address);
}

function rrTick() {
	for (const list of consumers.values()) {
		for (const s of list) {
			if (!s.remote || s.max < 0 || s.gone) continue;
			const expected = s.max - s.base + 1;
			const expInt = expected - s.expectedAtLastRr;
			const recInt = s.received - s.receivedAtLastRr;
			s.expectedAtLastRr = expected;
			s.receivedAtLastRr = s.received;
			const lostInt = expInt - recInt;
			const fraction = expInt > 0 && lostInt > 0 ? Math.min(255, Math.floor((lostInt * 256) / expInt)) : 0;
			const cumLost = Math.max(0, Math.min(0x7fffff, expected - s.received));
			const b = Buffer.alloc(32);
			b[0] = 0x81;
			b[1] = 201;
			b.writeUInt16BE(7, 2);
			b.writeUInt32BE(SINK_SSRC, 4);
			b.writeUInt32BE(s.ssrc, 8);
			b[12] = fraction;
			b.writeUIntBE(cumLost, 13, 3);
			b.writeUInt32BE(s.max >>> 0, 16);
			// jitter, LSR, DLSR: 0
			totals.sink.rr++;
			s.sink.send(b, s.remote.port, s.remote.address);
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Timers

function startSenderTimers() {
	const frameMs = 1000 / cfg.fps;
	let nextFrame = performance.now();
	const frameLoop = () => {
		if (stopping) return;
		const now = performance.now();
		// Catch up at most 3 frames if the event loop fell behind; beyond that, drop frames.
		let n = 0;
		while (nextFrame <= now && n < 3) {
			for (const s of senders.values()) if (s.socket) s.sendFrames(now);
			nextFrame += frameMs;
			n++;
		}
		if (nextFrame <= now) {
			totals.video.framesSkipped = (totals.video.framesSkipped || 0) + Math.floor((now - nextFrame) / frameMs) + 1;
			nextFrame = now + frameMs;
		}
		frameTimer = setTimeout(frameLoop, Math.max(0, nextFrame - performance.now()));
	};
	frameLoop();
	let nextAudio = performance.now();
	const audioLoop = () => {
		if (stopping) return;
		const now = performance.now();
		let n = 0;
		while (nextAudio <= now && n < 3) {
			for (const s of senders.values()) if (s.socket && s.audio) s.sendAudio();
			nextAudio += 20;
			n++;
		}
		if (nextAudio <= now) nextAudio = now + 20;
		audioTimer = setTimeout(audioLoop, Math.max(0, nextAudio - performance.now()));
	};
	if (cfg.audio) audioLoop();
}

function startSinkTimers() {
	nackTimer = setInterval(nackTick, 20);
	rrTimer = setInterval(rrTick, 1000);
}

// ---------------------------------------------------------------------------------------------
// IPC

function relaySum() {
	const up = { ...totals.retiredRelays.up };
	const down = { ...totals.retiredRelays.down };
	for (const s of senders.values()) {
		if (!s.relay) continue;
		addRelay(up, s.relay.stats.up);
		addRelay(down, s.relay.stats.down);
	}
	return { up, down };
}

function statsMessage() {
	const cr = { up: zeroRelay(), down: zeroRelay(), flows: 0 };
	for (const { relay } of shards) {
		addRelay(cr.up, relay.stats.up);
		addRelay(cr.down, relay.stats.down);
		cr.flows += relay.stats.flows;
	}
	return {
		type: 'stats',
		role,
		at: Date.now(),
		totals: JSON.parse(JSON.stringify(totals)),
		senderRelays: relaySum(),
		consumerRelay: { up: { ...cr.up }, down: { ...cr.down }, flows: cr.flows },
		streams: streams.size,
		consumers: consumers.size,
		pendingGaps: [...pendingStreams].reduce((n, s) => n + s.missing.size, 0),
		senders: senders.size,
		rss: process.memoryUsage().rss,
		heapUsed: process.memoryUsage().heapUsed,
		cpu: process.cpuUsage(),
	};
}

async function handle(msg) {
	switch (msg.type) {
		case 'init': {
			cfg = msg.config;
			role = msg.role;
			if (role === 'send') {
				startSenderTimers();
				process.send({ type: 'ready', reqId: msg.reqId });
				break;
			}
			const ports = [];
			for (let i = 0; i < cfg.sinkShards; i++) {
				const sink = dgram.createSocket('udp4');
				sink.on('message', (m, rinfo) => onSinkMessage(m, rinfo, sink));
				sink.on('error', () => totals.sendErrors++);
				await bind(sink);
				try {
					sink.setRecvBufferSize(8 * 1024 * 1024);
				} catch {
					// capped by the kernel
				}
				const relay = await startRelay({
					listen: { ip: IP, port: 0 },
					target: { ip: IP, port: sink.address().port },
					seed: (cfg.seed * 2654435761 + 17 + i) >>> 0,
					loss: cfg.consumerLoss,
					jitterMs: cfg.consumerJitterMs,
					idleTimeoutMs: 5000, // departed consumers' upstream sockets close within 5-10 s
				});
				shards.push({ relay, sink });
				ports.push(relay.address.port);
			}
			startSinkTimers();
			process.send({ type: 'ready', reqId: msg.reqId, consumerRelayPorts: ports });
			break;
		}
		case 'addSender': {
			const s = new Sender(msg);
			await s.start();
			senders.set(msg.index, s);
			process.send({ type: 'senderAdded', reqId: msg.reqId, index: msg.index, generation: msg.generation, relayPort: s.relayPort });
			break;
		}
		case 'removeSender': {
			const s = senders.get(msg.index);
			senders.delete(msg.index);
			if (s) await s.stop();
			process.send({ type: 'senderRemoved', reqId: msg.reqId, index: msg.index, generation: msg.generation });
			break;
		}
		case 'addConsumer': {
			const list = msg.streams.map((d) => new Stream(msg.id, d.kind, d.ssrc, d.rtxSsrc));
			for (const s of list) {
				streams.set(s.ssrc, s);
				if (s.rtxSsrc) streams.set(s.rtxSsrc, s);
			}
			consumers.set(msg.id, list);
			break;
		}
		case 'removeConsumer': {
			const list = consumers.get(msg.id);
			consumers.delete(msg.id);
			if (!list) break;
			for (const s of list) {
				s.gone = true;
				s.abandonMissing();
			}
			// Late packets still in the relay count as this stream's for a while.
			setTimeout(() => {
				for (const s of list) {
					if (streams.get(s.ssrc) === s) streams.delete(s.ssrc);
					if (s.rtxSsrc && streams.get(s.rtxSsrc) === s) streams.delete(s.rtxSsrc);
				}
			}, 2000).unref();
			break;
		}
		case 'stats':
			process.send({ ...statsMessage(), reqId: msg.reqId });
			break;
		case 'stop': {
			stopping = true;
			clearTimeout(frameTimer);
			clearTimeout(audioTimer);
			clearInterval(nackTimer);
			clearInterval(rrTimer);
			const final = statsMessage();
			for (const s of senders.values()) await s.stop();
			senders.clear();
			for (const { relay, sink } of shards) {
				await relay.close();
				await closeSocket(sink);
			}
			process.send({ ...final, type: 'stopped', reqId: msg.reqId }, () => process.exit(0));
			break;
		}
		default:
			throw new Error(`unknown message ${msg.type}`);
	}
}

// Messages are handled one at a time, in order.
let chain = Promise.resolve();
process.on('message', (msg) => {
	chain = chain.then(() => handle(msg)).catch((error) => {
		process.send({ type: 'error', reqId: msg.reqId, message: error.stack || String(error) });
	});
});
process.on('disconnect', () => process.exit(0));
