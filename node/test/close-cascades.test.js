'use strict';

// close() is synchronous from the app's view: `closed`, the children's *close events and the
// observers' 'close' all happen before it returns; the engine follows. Observer 'new*' events
// report every object created.

const { test, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

const workers = [];
afterEach(() => {
	for (const w of workers.splice(0)) w.close();
});

// worker → router → (send transport: producer) + (recv transport: consumer), with an event log.
async function graph() {
	const log = [];
	const worker = await mediasoup.createWorker();
	workers.push(worker);
	const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
	const send = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
	const recv = await router.createPlainTransport({ listenInfo: h.listenInfo });
	await recv.connect({ ip: '127.0.0.1', port: 9 });
	const producer = await send.produce({ kind: 'audio', rtpParameters: h.opusParameters(1234) });
	const consumer = await recv.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
	const record = (name, emitter, events) => {
		for (const e of events) emitter.on(e, () => log.push(`${name}:${e}`));
	};
	record('router', router, ['workerclose']);
	record('router.observer', router.observer, ['close']);
	record('send', send, ['routerclose']);
	record('send.observer', send.observer, ['close']);
	record('recv', recv, ['routerclose']);
	record('recv.observer', recv.observer, ['close']);
	record('producer', producer, ['transportclose']);
	record('producer.observer', producer.observer, ['close']);
	record('consumer', consumer, ['transportclose', 'producerclose']);
	record('consumer.observer', consumer.observer, ['close']);
	record('worker.observer', worker.observer, ['close']);
	return { log, worker, router, send, recv, producer, consumer };
}

test('producer.close() closes its consumers through the engine with producerclose', async () => {
	const g = await graph();
	g.producer.close();
	assert.equal(g.producer.closed, true);
	assert.deepEqual(g.log, ['producer.observer:close']);
	await h.nextEvent(g.consumer, 'producerclose');
	assert.equal(g.consumer.closed, true);
	assert.deepEqual(g.log, ['producer.observer:close', 'consumer:producerclose', 'consumer.observer:close']);
	const dump = await g.recv.dump();
	assert.deepEqual(dump.consumerIds, [], 'the engine dropped the consumer');
	assert.equal(g.router.canConsume({ producerId: g.producer.id, rtpCapabilities: g.router.rtpCapabilities }), false);
});

test('transport.close() emits transportclose on its producers synchronously', async () => {
	const g = await graph();
	g.send.close();
	assert.equal(g.send.closed, true);
	assert.equal(g.producer.closed, true);
	assert.deepEqual(g.log, ['producer:transportclose', 'producer.observer:close', 'send.observer:close']);
	// The consumer on the other transport learns from the engine that its producer is gone.
	await h.nextEvent(g.consumer, 'producerclose');
	const dump = await g.router.dump();
	assert.deepEqual(dump.transportIds, [g.recv.id], 'the engine closed the transport');
});

test('transport.close() emits transportclose on its consumers synchronously', async () => {
	const g = await graph();
	g.recv.close();
	assert.equal(g.consumer.closed, true);
	assert.deepEqual(g.log, ['consumer:transportclose', 'consumer.observer:close', 'recv.observer:close']);
	assert.equal(g.producer.closed, false);
	await h.sleep(50);
	assert.ok(!g.log.includes('consumer:producerclose'), 'no late producerclose after transportclose');
});

test('router.close() cascades routerclose and transportclose before returning', async () => {
	const g = await graph();
	g.router.close();
	for (const o of [g.router, g.send, g.recv, g.producer, g.consumer]) assert.equal(o.closed, true);
	assert.deepEqual(g.log, [
		'producer:transportclose',
		'producer.observer:close',
		'send:routerclose',
		'send.observer:close',
		'consumer:transportclose',
		'consumer.observer:close',
		'recv:routerclose',
		'recv.observer:close',
		'router.observer:close',
	]);
	assert.deepEqual((await g.worker.dump()).routerIds, []);
});

test('worker.close() cascades workerclose, routerclose, transportclose and observer close', async () => {
	const g = await graph();
	const subprocessClose = h.nextEvent(g.worker, 'subprocessclose');
	g.worker.close();
	for (const o of [g.worker, g.router, g.send, g.recv, g.producer, g.consumer]) assert.equal(o.closed, true);
	assert.deepEqual(g.log, [
		'producer:transportclose',
		'producer.observer:close',
		'send:routerclose',
		'send.observer:close',
		'consumer:transportclose',
		'consumer.observer:close',
		'recv:routerclose',
		'recv.observer:close',
		'router:workerclose',
		'router.observer:close',
		'worker.observer:close',
	]);
	assert.equal(g.worker.died, false);
	await subprocessClose;
	assert.equal(g.worker.subprocessClosed, true);
	g.worker.close(); // idempotent
});

test('observers report new objects, pause and resume', async () => {
	const log = [];
	const onNewWorker = (w) => log.push(['newworker', w]);
	mediasoup.observer.on('newworker', onNewWorker);
	const worker = await mediasoup.createWorker();
	workers.push(worker);
	mediasoup.observer.off('newworker', onNewWorker);
	worker.observer.on('newrouter', (r) => log.push(['newrouter', r]));
	const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
	router.observer.on('newtransport', (t) => log.push(['newtransport', t]));
	const send = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
	const recv = await router.createPlainTransport({ listenInfo: h.listenInfo });
	send.observer.on('newproducer', (p) => log.push(['newproducer', p]));
	recv.observer.on('newconsumer', (c) => log.push(['newconsumer', c]));
	const producer = await send.produce({ kind: 'audio', rtpParameters: h.opusParameters(5678) });
	const consumer = await recv.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
	assert.deepEqual(log.map(([e]) => e), ['newworker', 'newrouter', 'newtransport', 'newtransport', 'newproducer', 'newconsumer']);
	assert.deepEqual(log.map(([, o]) => o), [worker, router, send, recv, producer, consumer]);

	const states = [];
	producer.observer.on('pause', () => states.push('producer:pause'));
	producer.observer.on('resume', () => states.push('producer:resume'));
	consumer.observer.on('pause', () => states.push('consumer:pause'));
	consumer.observer.on('resume', () => states.push('consumer:resume'));
	await producer.pause();
	await producer.pause(); // no second event
	await consumer.pause(); // already not sending: no observer event
	await producer.resume(); // consumer still paused: no consumer event
	await consumer.resume();
	await consumer.resume();
	assert.deepEqual(states, ['consumer:pause', 'producer:pause', 'producer:resume', 'consumer:resume']);
	assert.equal(producer.paused, false);
	assert.equal(consumer.paused, false);
	assert.equal(consumer.producerPaused, false);
});

test('a consumer created while its producer is paused reports producerPaused', async () => {
	const g = await graph();
	await g.producer.pause();
	const c2 = await g.recv.consume({ producerId: g.producer.id, rtpCapabilities: g.router.rtpCapabilities, paused: true });
	assert.equal(c2.producerPaused, true);
	assert.equal(c2.paused, true);
	const resumed = h.nextEvent(c2, 'producerresume');
	await g.producer.resume();
	await resumed;
	assert.equal(c2.producerPaused, false);
});
