'use strict';

// Resource limits (not in mediasoup): createWorker({ maxTransports, maxProducersPerTransport,
// maxConsumersPerTransport }) bound what one worker and one transport hold. Going over fails with
// an InvalidStateError naming the limit; the worker keeps serving, and room freed by a close is
// usable again.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

test('limits: bad values are TypeErrors naming the field', async () => {
	for (const field of ['maxTransports', 'maxProducersPerTransport', 'maxConsumersPerTransport']) {
		await assert.rejects(mediasoup.createWorker({ [field]: 0 }), (e) => e instanceof TypeError && e.message.includes(field));
		await assert.rejects(mediasoup.createWorker({ [field]: -1 }), (e) => e instanceof TypeError && e.message.includes(field));
		await assert.rejects(mediasoup.createWorker({ [field]: 'many' }), (e) => e instanceof TypeError && e.message.includes(field));
	}
});

test('limits: transports per worker, producers and consumers per transport', async () => {
	const worker = await mediasoup.createWorker({ maxTransports: 3, maxProducersPerTransport: 2, maxConsumersPerTransport: 2 });
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const send = await router.createPlainTransport({ listenInfo: h.listenInfo });
		const recv = await router.createPlainTransport({ listenInfo: h.listenInfo });
		const direct = await router.createDirectTransport();
		for (const create of [
			() => router.createPlainTransport({ listenInfo: h.listenInfo }),
			() => router.createWebRtcTransport({ listenInfos: [h.listenInfo] }),
			() => router.createPipeTransport({ listenInfo: h.listenInfo }),
			() => router.createDirectTransport(),
		]) {
			await assert.rejects(create(), (e) => e instanceof mediasoup.errors.InvalidStateError && /maxTransports: 3/.test(e.message));
		}
		// Room freed by a close is usable again.
		direct.close();
		const direct2 = await router.createDirectTransport();

		const p1 = await send.produce({ kind: 'audio', rtpParameters: h.opusParameters(1001) });
		const p2 = await send.produce({ kind: 'audio', rtpParameters: h.opusParameters(1002) });
		await assert.rejects(send.produce({ kind: 'audio', rtpParameters: h.opusParameters(1003) }), (e) => e instanceof mediasoup.errors.InvalidStateError && /maxProducersPerTransport: 2/.test(e.message));
		const caps = router.rtpCapabilities;
		await recv.consume({ producerId: p1.id, rtpCapabilities: caps });
		const c2 = await recv.consume({ producerId: p2.id, rtpCapabilities: caps });
		await assert.rejects(recv.consume({ producerId: p1.id, rtpCapabilities: caps }), (e) => e instanceof mediasoup.errors.InvalidStateError && /maxConsumersPerTransport: 2/.test(e.message));
		c2.close();
		await recv.consume({ producerId: p1.id, rtpCapabilities: caps });

		// Data producers and consumers count on their own, against the same limits.
		const d1 = await direct2.produceData({ label: 'a' });
		await direct2.produceData({ label: 'b' });
		await assert.rejects(direct2.produceData({ label: 'c' }), (e) => e instanceof mediasoup.errors.InvalidStateError && /data producers.*maxProducersPerTransport/.test(e.message));
		await direct2.consumeData({ dataProducerId: d1.id });
		await direct2.consumeData({ dataProducerId: d1.id });
		await assert.rejects(direct2.consumeData({ dataProducerId: d1.id }), (e) => e instanceof mediasoup.errors.InvalidStateError && /data consumers.*maxConsumersPerTransport/.test(e.message));

		// The worker keeps serving.
		assert.ok((await worker.dump()).routerIds.includes(router.id));
		assert.equal((await send.getStats())[0].type, 'plain-rtp-transport');
	} finally {
		worker.close();
	}
});
