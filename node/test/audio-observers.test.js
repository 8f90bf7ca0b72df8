'use strict';

// AudioLevelObserver and ActiveSpeakerObserver through the mediasoup API, fed by real RTP with
// the ssrc-audio-level extension over a plain transport.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

function withLevelExt(packet, level) {
	// Insert a one-byte header extension (id 1, the RFC 6464 byte) after the 12-byte header.
	const ext = Buffer.from([0xbe, 0xde, 0x00, 0x01, 0x10, (level < 127 ? 0x80 : 0) | level, 0, 0]);
	const out = Buffer.concat([packet.subarray(0, 12), ext, packet.subarray(12)]);
	out[0] |= 0x10;
	return out;
}

test('volumes, silence and dominantspeaker with Producer objects; routerclose', async () => {
	const worker = await mediasoup.createWorker();
	const sender = await h.udpSocket();
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const newObservers = [];
		router.observer.on('newrtpobserver', (o) => newObservers.push(o));
		const transport = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
		const params = (ssrc) => ({
			...h.opusParameters(ssrc),
			headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 1 }],
		});
		const loud = await transport.produce({ kind: 'audio', rtpParameters: params(11) });
		const quiet = await transport.produce({ kind: 'audio', rtpParameters: params(22) });

		await assert.rejects(router.createAudioLevelObserver({ threshold: 10 }), (e) => e instanceof TypeError && /threshold/.test(e.message));
		const levels = await router.createAudioLevelObserver({ maxEntries: 2, threshold: -70, interval: 300, appData: { a: 1 } });
		const speaker = await router.createActiveSpeakerObserver({ interval: 150 });
		assert.equal(levels.type, 'audiolevel');
		assert.equal(speaker.type, 'activespeaker');
		assert.deepEqual(newObservers, [levels, speaker]);
		const added = [];
		levels.observer.on('addproducer', (p) => added.push(p));
		for (const p of [loud, quiet]) {
			await levels.addProducer({ producerId: p.id });
			await speaker.addProducer({ producerId: p.id });
		}
		assert.deepEqual(added, [loud, quiet]);
		await assert.rejects(levels.addProducer({ producerId: 'x' }), (e) => e.name === 'NotFoundError');
		await assert.rejects(levels.addProducer({}), TypeError);

		const volumes = [];
		const dominant = [];
		let silences = 0;
		levels.on('volumes', (v) => volumes.push(v));
		levels.on('silence', () => silences++);
		speaker.on('dominantspeaker', ({ producer }) => dominant.push(producer));

		const send = async (ms, loudLevel, quietLevel) => {
			for (let t = 0, seq = 0; t < ms; t += 20, seq++) {
				for (const [ssrc, level] of [[11, loudLevel], [22, quietLevel]]) {
					const p = h.rtpPacket({ payloadType: 111, sequenceNumber: seq, timestamp: seq * 960, ssrc, payload: Buffer.from([0xf8, 0xff]) });
					sender.send(withLevelExt(p, level), transport.tuple.localPort, '127.0.0.1');
				}
				await new Promise((r) => setTimeout(r, 20));
			}
		};
		await send(1200, 25, 55);
		await h.waitUntil(() => volumes.length > 0 && dominant.length > 0, () => `${volumes.length} volumes, ${dominant.length} dominant`);
		const last = volumes.at(-1);
		assert.equal(last[0].producer, loud);
		assert.equal(last[0].volume, -25);
		assert.equal(last[1].producer, quiet);
		assert.equal(dominant[0], loud);
		await send(800, 127, 127);
		await h.waitUntil(() => silences === 1, () => `${silences} silences`);

		const closed = [];
		levels.on('routerclose', () => closed.push('levels'));
		speaker.on('routerclose', () => closed.push('speaker'));
		router.close();
		assert.deepEqual(closed, ['levels', 'speaker']);
		assert.ok(levels.closed && speaker.closed);
		await assert.rejects(levels.pause(), (e) => e.name === 'InvalidStateError');
	} finally {
		sender.close();
		worker.close();
	}
});
