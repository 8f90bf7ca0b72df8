'use strict';

// A listener that throws, or returns a rejected promise, is caught, logged and reported as
// 'listenererror'; the call that emitted the event completes and the host keeps running.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

let unhandled = [];
const onUnhandled = (reason) => unhandled.push(reason);
const ctx = {};

before(async () => {
	process.on('unhandledRejection', onUnhandled);
	// Swallowed listener errors are logged to stderr by default; keep the test output clean.
	mediasoup.setLogEventListeners({ onerror: () => {} });
	ctx.worker = await mediasoup.createWorker();
	ctx.router = await ctx.worker.createRouter({ mediaCodecs: h.mediaCodecs });
});

after(() => {
	ctx.worker.close();
	mediasoup.setLogEventListeners();
	process.off('unhandledRejection', onUnhandled);
});

test('a throwing observer listener does not break createPlainTransport()', async () => {
	const boom = new Error('listener boom');
	ctx.router.observer.once('newtransport', () => {
		throw boom;
	});
	const reported = h.nextEvent(ctx.router.observer, 'listenererror');
	const transport = await ctx.router.createPlainTransport({ listenInfo: h.listenInfo });
	assert.equal(transport.closed, false);
	const [eventName, error] = await reported;
	assert.equal(eventName, 'newtransport');
	assert.equal(error, boom);
});

test('a throwing close listener does not stop the cascade', async () => {
	const router = await ctx.worker.createRouter({ mediaCodecs: h.mediaCodecs });
	const t1 = await router.createPlainTransport({ listenInfo: h.listenInfo });
	const t2 = await router.createPlainTransport({ listenInfo: h.listenInfo });
	t1.on('routerclose', () => {
		throw new Error('routerclose boom');
	});
	let t2Closed = false;
	t2.on('routerclose', () => {
		t2Closed = true;
	});
	assert.doesNotThrow(() => router.close());
	assert.equal(t1.closed, true);
	assert.equal(t2Closed, true);
});

test('a throwing listener on an engine-delivered event leaves later events flowing', async () => {
	const send = await ctx.router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
	const recv = await ctx.router.createPlainTransport({ listenInfo: h.listenInfo });
	const producer = await send.produce({ kind: 'audio', rtpParameters: h.opusParameters(4242) });
	const c1 = await recv.consume({ producerId: producer.id, rtpCapabilities: ctx.router.rtpCapabilities });
	const c2 = await recv.consume({ producerId: producer.id, rtpCapabilities: ctx.router.rtpCapabilities });
	c1.on('producerclose', () => {
		throw new Error('producerclose boom');
	});
	const reported = h.nextEvent(c1, 'listenererror');
	const c2Closed = h.nextEvent(c2, 'producerclose');
	producer.close();
	await reported;
	await c2Closed;
	assert.equal(c1.closed, true);
	assert.equal(c2.closed, true);
});

test('an async listener that rejects is reported, not an unhandled rejection', async () => {
	const transport = await ctx.router.createPlainTransport({ listenInfo: h.listenInfo });
	const producer = await transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(4343) });
	producer.observer.on('pause', async () => {
		throw new Error('async boom');
	});
	const reported = h.nextEvent(producer.observer, 'listenererror');
	await producer.pause();
	const [eventName, error] = await reported;
	assert.equal(eventName, 'pause');
	assert.match(error.message, /async boom/);
	await h.sleep(20);
	assert.deepEqual(unhandled, []);
});
