'use strict';

// A consumer of Chrome's simulcast camera producer reports one encoding with the scalability
// mode rewritten to L{spatial}T{temporal}, and preferred layers clamped rather than rejected.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

test('simulcast consumer: one L3T3 encoding, clamped preferred layers', async () => {
	const worker = await mediasoup.createWorker();
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const transport = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
		const producer = await transport.produce({ kind: 'video', rtpParameters: h.chromeVideo.rtpParameters, appData: h.chromeVideo.appData });
		assert.equal(producer.type, 'simulcast');
		const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, paused: true });
		assert.equal(consumer.type, 'simulcast');
		assert.equal(consumer.rtpParameters.encodings.length, 1);
		assert.equal(consumer.rtpParameters.encodings[0].scalabilityMode, 'L3T3');
		assert.deepEqual(consumer.preferredLayers, { spatialLayer: 2, temporalLayer: 2 });
		await consumer.setPreferredLayers({ spatialLayer: 9, temporalLayer: 9 });
		assert.deepEqual(consumer.preferredLayers, { spatialLayer: 2, temporalLayer: 2 });
		await consumer.setPreferredLayers({ spatialLayer: 0 });
		assert.equal(consumer.preferredLayers.spatialLayer, 0);
		await consumer.requestKeyFrame();
		await consumer.resume();
		assert.equal(consumer.paused, false);
		await consumer.setPriority(5);
		assert.equal(consumer.priority, 5);
		await consumer.unsetPriority();
		assert.equal(consumer.priority, 1);
	} finally {
		worker.close();
	}
});

/** A comedia plain transport with a VP8 producer of three SSRC-identified encodings (1000/2000/3000). */
async function threeSsrcProducer(router) {
	const input = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
	const producer = await input.produce({
		kind: 'video',
		rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }], encodings: [{ ssrc: 1000 }, { ssrc: 2000 }, { ssrc: 3000 }] },
	});
	return { input, producer };
}

test('simulcast consumer: layerschange and currentLayers follow the forwarded layer', async () => {
	const dgram = require('node:dgram');
	const worker = await mediasoup.createWorker();
	const tx = dgram.createSocket('udp4');
	const rx = dgram.createSocket('udp4');
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const { input, producer } = await threeSsrcProducer(router);
		await new Promise((r) => rx.bind(0, '127.0.0.1', r));
		const output = await router.createPlainTransport({ listenInfo: h.listenInfo });
		await output.connect({ ip: '127.0.0.1', port: rx.address().port });
		const consumer = await output.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
		assert.equal(consumer.currentLayers, undefined, 'nothing forwarded yet');
		const changed = new Promise((resolve) => consumer.on('layerschange', resolve));
		const observed = new Promise((resolve) => consumer.observer.on('layerschange', resolve));
		const seqs = [0, 0, 0];
		const send = (layer, key) => {
			const b = Buffer.alloc(15);
			b[0] = 0x80;
			b[1] = 96;
			b.writeUInt16BE(seqs[layer]++, 2);
			b.writeUInt32BE(seqs[layer] * 3000, 4);
			b.writeUInt32BE([1000, 2000, 3000][layer], 8);
			b[12] = 0x10; // VP8 descriptor: start of partition 0
			b[13] = key ? 0x00 : 0x01; // P bit clear on key frames
			tx.send(b, input.tuple.localPort, '127.0.0.1');
		};
		for (let i = 0; i < 30; i++) {
			for (const l of [0, 1, 2]) send(l, false);
			await new Promise((r) => setTimeout(r, 10));
		}
		for (const l of [0, 1, 2]) send(l, true);
		const layers = await Promise.race([changed, new Promise((_, rej) => setTimeout(() => rej(new Error('no layerschange within 3 s')), 3000))]);
		assert.equal(layers.spatialLayer, 2);
		assert.deepEqual(await observed, layers);
		assert.deepEqual(consumer.currentLayers, layers);
	} finally {
		tx.close();
		rx.close();
		worker.close();
	}
});

test('simulcast consumer: key frame requests go to the encoding it forwards, not to all of them', async () => {
	const dgram = require('node:dgram');
	const worker = await mediasoup.createWorker();
	const tx = dgram.createSocket('udp4');
	const rx = dgram.createSocket('udp4');
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const { input, producer } = await threeSsrcProducer(router);
		await new Promise((r) => tx.bind(0, '127.0.0.1', r));
		await new Promise((r) => rx.bind(0, '127.0.0.1', r));
		// PLIs (PSFB 206, FMT 1) the publisher gets, by media SSRC.
		const plis = [];
		tx.on('message', (m) => {
			for (let off = 0; off + 12 <= m.length; ) {
				const len = (m.readUInt16BE(off + 2) + 1) * 4;
				if (m[off + 1] === 206 && (m[off] & 0x1f) === 1) plis.push(m.readUInt32BE(off + 8));
				off += len;
			}
		});
		// The publisher is known (comedia) and all three encodings arrive (delta frames).
		for (let i = 0; i < 5; i++) {
			for (const ssrc of [1000, 2000, 3000]) {
				tx.send(h.rtpPacket({ payloadType: 96, sequenceNumber: i, timestamp: i * 3000, ssrc, payload: Buffer.from([0x10, 0x01, 0, 0]) }), input.tuple.localPort, '127.0.0.1');
			}
			await h.sleep(10);
		}
		await h.sleep(100);
		plis.length = 0;
		const output = await router.createPlainTransport({ listenInfo: h.listenInfo });
		await output.connect({ ip: '127.0.0.1', port: rx.address().port });
		const consumer = await output.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, paused: true, preferredLayers: { spatialLayer: 1 } });
		await consumer.resume();
		await h.waitUntil(() => plis.length > 0, () => 'no PLI after resume');
		await h.sleep(200);
		assert.deepEqual([...new Set(plis)], [2000], `PLIs for ${plis}`);
		plis.length = 0;
		await consumer.requestKeyFrame();
		await h.waitUntil(() => plis.length > 0, () => 'no PLI after requestKeyFrame()');
		assert.deepEqual([...new Set(plis)], [2000], `PLIs for ${plis}`);
	} finally {
		tx.close();
		rx.close();
		worker.close();
	}
});
