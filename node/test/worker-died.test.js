'use strict';

// When the worker thread dies (a panic), the worker emits 'died', its routers 'workerclose',
// later calls reject with WorkerClosedError, and the host process carries on.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

test('worker.died fires and the host survives', async () => {
	mediasoup.setLogEventListeners({ onerror: () => {} });
	const worker = await mediasoup.createWorker();
	const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
	const transport = await router.createPlainTransport({ listenInfo: h.listenInfo });
	const producer = await transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(31337) });
	const log = [];
	router.on('workerclose', () => log.push('router:workerclose'));
	transport.on('routerclose', () => log.push('transport:routerclose'));
	producer.on('transportclose', () => log.push('producer:transportclose'));
	worker.observer.on('close', () => log.push('worker.observer:close'));

	const died = h.nextEvent(worker, 'died');
	worker._injectPanicForTests('injected by worker-died.test.js');
	const [error] = await died;
	mediasoup.setLogEventListeners();

	assert.ok(error instanceof Error);
	assert.match(error.message, /injected by worker-died\.test\.js/);
	assert.equal(worker.died, true);
	assert.equal(worker.closed, true);
	assert.deepEqual(log, ['producer:transportclose', 'transport:routerclose', 'router:workerclose', 'worker.observer:close']);
	await assert.rejects(worker.createRouter({ mediaCodecs: h.mediaCodecs }), (e) => e instanceof mediasoup.errors.WorkerClosedError && /died/.test(e.message));
	await assert.rejects(producer.getStats(), mediasoup.errors.WorkerClosedError);
	worker.close(); // harmless after death

	// The host goes on, and new workers work.
	const other = await mediasoup.createWorker();
	const r2 = await other.createRouter({ mediaCodecs: h.mediaCodecs });
	assert.ok(r2.rtpCapabilities.codecs.length > 0);
	other.close();
});

test('a worker dying does not disturb another worker forwarding media', async () => {
	mediasoup.setLogEventListeners({ onerror: () => {} });
	const doomed = await mediasoup.createWorker();
	await doomed.createRouter({ mediaCodecs: h.mediaCodecs });
	const alive = await mediasoup.createWorker();
	const sender = await h.udpSocket();
	const receiver = await h.udpSocket();
	try {
		const router = await alive.createRouter({ mediaCodecs: h.mediaCodecs });
		const send = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
		const recv = await router.createPlainTransport({ listenInfo: h.listenInfo });
		await recv.connect({ ip: '127.0.0.1', port: receiver.address().port });
		const producer = await send.produce({ kind: 'audio', rtpParameters: h.opusParameters(4242) });
		await recv.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
		const received = h.collectRtp(receiver);
		let seq = 0;
		const pump = setInterval(() => {
			const p = h.rtpPacket({ payloadType: 111, sequenceNumber: seq, timestamp: seq * 960, ssrc: 4242, payload: Buffer.alloc(60, 7) });
			seq++;
			sender.send(p, send.tuple.localPort, '127.0.0.1');
		}, 10);
		try {
			await h.waitUntil(() => received.length >= 20, () => `forwarding did not start: ${received.length}`);
			const died = h.nextEvent(doomed, 'died');
			doomed._injectPanicForTests('the other worker dies');
			await died;
			const before = received.length;
			await h.waitUntil(() => received.length >= before + 50, () => `forwarding stalled after the other worker died: ${before} → ${received.length}`);
			assert.equal(alive.died, false);
			assert.equal(alive.closed, false);
			// Sequence numbers stayed contiguous across the death: nothing was lost.
			const seqs = received.map((p) => p.sequenceNumber);
			for (let i = 1; i < seqs.length; i++) assert.equal((seqs[i] - seqs[i - 1] + 65536) % 65536, 1, `gap at ${i}: ${seqs[i - 1]} → ${seqs[i]}`);
		} finally {
			clearInterval(pump);
		}
	} finally {
		mediasoup.setLogEventListeners();
		sender.close();
		receiver.close();
		alive.close();
	}
});
