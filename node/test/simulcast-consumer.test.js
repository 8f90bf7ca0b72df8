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
