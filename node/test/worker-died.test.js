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
