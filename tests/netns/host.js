'use strict';

// One "host" of the two-namespace pipe test, run inside a network namespace by
// pipe-netns.test.js (`ip netns exec <ns> node host.js`) with its own libsfu worker. It answers
// {id, cmd, args} messages on Node's IPC channel with {id, cmd, ok, result | error}.
//
// Both hosts: `init` (worker, router, a PipeTransport with SRTP and RTX on the namespace's address,
// a DirectTransport), `connect`, `stats`, `exit`.
// Sending host (A): `produce` (a VP8 video producer with RTX and an opus producer on the
// DirectTransport, each consumed into the pipe), `send` (paced synthetic media), `keyFrameRequests`.
// Receiving host (B): `pipeProduce` (the pipe consumers' parameters produced on the pipe, and
// consumed on the DirectTransport), `received`, `requestKeyFrame`.
//
// Every media packet's payload carries MARKER and a u32 index (the n-th packet of its kind), so
// the receiver counts distinct packets whatever sequence numbers the consumers rewrite to, and the
// relay can tell that the bytes on the wire are encrypted.

const path = require('node:path');
const mediasoup = require(path.join(__dirname, '..', '..', 'node'));
const h = require(path.join(__dirname, '..', '..', 'node', 'test', 'helpers'));

const MARKER = Buffer.from('LIBSFU-NETNS-MARK');
const VIDEO = { ssrc: 0x11110001, rtxSsrc: 0x11110002, pt: 96, rtxPt: 97 };
const AUDIO = { ssrc: 0x22220001, pt: 111 };

function videoParameters() {
	return {
		codecs: [
			{
				mimeType: 'video/VP8',
				payloadType: VIDEO.pt,
				clockRate: 90000,
				rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
			},
			{ mimeType: 'video/rtx', payloadType: VIDEO.rtxPt, clockRate: 90000, parameters: { apt: VIDEO.pt } },
		],
		encodings: [{ ssrc: VIDEO.ssrc, rtx: { ssrc: VIDEO.rtxSsrc } }],
	};
}

const state = {
	worker: null,
	router: null,
	pipe: null,
	direct: null,
	producers: {}, // kind -> producer (A)
	pipeConsumers: {}, // kind -> pipe consumer (A)
	pipeProducers: {}, // kind -> pipe producer (B)
	consumers: {}, // kind -> direct consumer (B)
	received: {}, // kind -> { packets, distinct: Set of indices, keyFrames, plainMarker }
	keyFrameRequests: { traces: [], rtcpPli: 0, rtcpFir: 0 }, // what A's video producer asked for
	wantKeyFrame: false,
};

/** The payload of packet `index` of a kind: [VP8 descriptor + header] MARKER u32 index, filler. */
function payloadOf(kind, index, { size, descriptor }) {
	const head = Buffer.concat([descriptor, MARKER, Buffer.alloc(4)]);
	head.writeUInt32BE(index, descriptor.length + MARKER.length);
	const filler = Buffer.alloc(Math.max(0, size - head.length));
	for (let i = 0; i < filler.length; i++) filler[i] = (index + i * 7) & 0xff;
	return Buffer.concat([head, filler]);
}

// RFC 7741: descriptor S=1 PID=0 on a frame's first packet, then the VP8 payload header whose
// bit 0 (P) is 0 on key frames (a key frame also carries the start code and the size).
const VP8_KEY_START = Buffer.from([0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]);
const VP8_DELTA_START = Buffer.from([0x10, 0x11]);
const VP8_CONTINUATION = Buffer.from([0x00]);

const commands = {
	async init({ listenIp }) {
		state.worker = await mediasoup.createWorker({ logLevel: 'warn' });
		state.worker.on('died', (error) => {
			console.error(`[host ${process.pid}] worker died: ${error}`);
			process.exit(1);
		});
		state.router = await state.worker.createRouter({ mediaCodecs: h.mediaCodecs });
		state.pipe = await state.router.createPipeTransport({ listenInfo: { protocol: 'udp', ip: listenIp }, enableSrtp: true, enableRtx: true });
		state.direct = await state.router.createDirectTransport();
		state.direct.on('rtcp', (buf) => {
			// RTCP the engine sends the application for its producers: count PLI (PSFB FMT 1) and
			// FIR (PSFB FMT 4) of a compound packet.
			for (let off = 0; off + 4 <= buf.length; ) {
				const pt = buf[off + 1];
				const fmt = buf[off] & 0x1f;
				if (pt === 206 && fmt === 1) state.keyFrameRequests.rtcpPli++;
				if (pt === 206 && fmt === 4) state.keyFrameRequests.rtcpFir++;
				if (pt === 206) state.wantKeyFrame = true;
				off += 4 * (buf.readUInt16BE(off + 2) + 1);
			}
		});
		return { tuple: state.pipe.tuple, srtpParameters: state.pipe.srtpParameters };
	},

	async connect(args) {
		await state.pipe.connect(args);
		return { tuple: state.pipe.tuple };
	},

	// A: producers on the DirectTransport, consumed into the pipe.
	async produce() {
		const out = [];
		const video = await state.direct.produce({ kind: 'video', rtpParameters: videoParameters() });
		const audio = await state.direct.produce({ kind: 'audio', rtpParameters: h.opusParameters(AUDIO.ssrc) });
		await video.enableTraceEvent(['pli', 'fir', 'keyframe']);
		video.on('trace', (t) => {
			if (t.type === 'pli' || t.type === 'fir') state.keyFrameRequests.traces.push({ type: t.type, direction: t.direction });
		});
		for (const producer of [video, audio]) {
			state.producers[producer.kind] = producer;
			const consumer = await state.pipe.consume({ producerId: producer.id });
			state.pipeConsumers[producer.kind] = consumer;
			out.push({ producerId: producer.id, kind: consumer.kind, rtpParameters: consumer.rtpParameters, paused: consumer.producerPaused });
		}
		return out;
	},

	// A: `seconds` of media: 30 frames/s of `packetsPerFrame` 1000-byte VP8 packets (a key frame
	// first, every `keyFrameEverySec` and when a key frame was asked for) and 50/s opus packets.
	async send({ seconds, packetsPerFrame = 4, keyFrameEverySec = 2 }) {
		const video = state.producers.video;
		const audio = state.producers.audio;
		const frames = Math.round(seconds * 30);
		const audioPackets = Math.round(seconds * 50);
		const counts = { video: 0, audio: 0, keyFrames: 0 };
		const start = performance.now();
		let frame = 0;
		let audioIndex = 0;
		let lastKey = -Infinity;
		while (frame < frames || audioIndex < audioPackets) {
			const now = performance.now() - start;
			while (frame < frames && frame * (1000 / 30) <= now) {
				const key = frame === 0 || state.wantKeyFrame || frame - lastKey >= keyFrameEverySec * 30;
				if (key) {
					state.wantKeyFrame = false;
					lastKey = frame;
					counts.keyFrames++;
				}
				for (let i = 0; i < packetsPerFrame; i++) {
					const descriptor = i > 0 ? VP8_CONTINUATION : key ? VP8_KEY_START : VP8_DELTA_START;
					const payload = payloadOf('video', counts.video, { size: 1000, descriptor });
					video.send(h.rtpPacket({ payloadType: VIDEO.pt, sequenceNumber: 1000 + counts.video, timestamp: 3000 * frame, ssrc: VIDEO.ssrc, marker: i === packetsPerFrame - 1, payload }));
					counts.video++;
				}
				frame++;
			}
			while (audioIndex < audioPackets && audioIndex * 20 <= now) {
				const payload = payloadOf('audio', audioIndex, { size: 120, descriptor: Buffer.alloc(0) });
				audio.send(h.rtpPacket({ payloadType: AUDIO.pt, sequenceNumber: 5000 + audioIndex, timestamp: 960 * audioIndex, ssrc: AUDIO.ssrc, payload }));
				audioIndex++;
				counts.audio++;
			}
			await new Promise((r) => setTimeout(r, 5));
		}
		counts.ms = Math.round(performance.now() - start);
		return counts;
	},

	keyFrameRequests() {
		return state.keyFrameRequests;
	},

	// B: the far end of the pipe: produce what A's pipe consumers carry, consume it here.
	async pipeProduce({ consumers }) {
		for (const c of consumers) {
			const producer = await state.pipe.produce({ id: c.producerId, kind: c.kind, rtpParameters: c.rtpParameters, paused: c.paused });
			state.pipeProducers[c.kind] = producer;
			const consumer = await state.direct.consume({ producerId: producer.id, rtpCapabilities: state.router.rtpCapabilities });
			state.consumers[c.kind] = consumer;
			const rec = { packets: 0, distinct: new Set(), keyFrames: 0, withoutMarker: 0 };
			state.received[c.kind] = rec;
			consumer.on('rtp', (buf) => {
				rec.packets++;
				const { payload } = h.parseRtp(buf);
				const at = payload.indexOf(MARKER);
				if (at < 0 || at + MARKER.length + 4 > payload.length) {
					rec.withoutMarker++;
					return;
				}
				rec.distinct.add(payload.readUInt32BE(at + MARKER.length));
				if (c.kind === 'video' && payload[0] & 0x10 && (payload[1] & 0x01) === 0) rec.keyFrames++;
			});
		}
		return Object.fromEntries(Object.entries(state.consumers).map(([k, c]) => [k, c.id]));
	},

	received() {
		const out = {};
		for (const [kind, rec] of Object.entries(state.received)) {
			out[kind] = { packets: rec.packets, distinct: rec.distinct.size, keyFrames: rec.keyFrames, withoutMarker: rec.withoutMarker };
		}
		return out;
	},

	async requestKeyFrame({ kind = 'video' }) {
		await state.consumers[kind].requestKeyFrame();
		return true;
	},

	async stats() {
		const out = { pipe: await state.pipe.getStats(), dump: await state.pipe.dump() };
		for (const group of ['producers', 'pipeConsumers', 'pipeProducers', 'consumers']) {
			out[group] = {};
			for (const [kind, o] of Object.entries(state[group])) out[group][kind] = await o.getStats();
		}
		return out;
	},

	exit() {
		if (state.worker) state.worker.close();
		setImmediate(() => process.exit(0));
		return true;
	},
};

process.on('message', async ({ id, cmd, args }) => {
	try {
		const fn = commands[cmd];
		if (!fn) throw new Error(`unknown command ${cmd}`);
		const result = await fn(args || {});
		process.send({ id, cmd, ok: true, result });
	} catch (error) {
		process.send({ id, cmd, ok: false, error: error && error.stack ? error.stack : String(error) });
	}
});

// The test went away (crashed or was killed): do not linger in the namespace.
process.on('disconnect', () => process.exit(0));
