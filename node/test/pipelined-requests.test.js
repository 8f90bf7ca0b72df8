'use strict';

// createWebRtcTransport() and consume() are pipelined: the addon posts the request to the worker
// thread and returns; the reply settles the promise on the worker's event channel, after the
// events the request emitted. Many requests in flight are answered in order; requests the
// engine cannot answer (the worker closed or died, or the router/transport closed meanwhile)
// reject with the errors mediasoup apps expect instead of hanging.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

const { InvalidStateError, WorkerClosedError } = mediasoup.errors;

const listenInfos = [{ protocol: 'udp', ip: '127.0.0.1' }];

async function setup() {
	const worker = await mediasoup.createWorker();
	const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
	const source = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
	const producer = await source.produce({ kind: 'audio', rtpParameters: h.opusParameters(1111) });
	return { worker, router, producer };
}

test('many requests in flight: each pair resolves to its own transport and consumer', async () => {
	const { worker, router, producer } = await setup();
	const pairs = await Promise.all(
		Array.from({ length: 64 }, async () => {
			const transport = await router.createWebRtcTransport({ listenInfos });
			const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
			return { transport, consumer };
		}),
	);
	assert.equal(new Set(pairs.map((p) => p.transport.id)).size, 64);
	assert.equal(new Set(pairs.map((p) => p.consumer.id)).size, 64);
	const dump = await router.dump();
	assert.equal(dump.transportIds.length, 65);
	assert.deepEqual(dump.mapProducerIdConsumerIds.find((m) => m.key === producer.id).values.sort(), pairs.map((p) => p.consumer.id).sort());
	for (const { transport, consumer } of pairs) {
		assert.equal(consumer.producerId, producer.id);
		assert.equal(consumer.kind, 'audio');
		const t = await transport.dump();
		assert.deepEqual(t.consumerIds, [consumer.id]);
	}
	worker.close();
});

test('bad options still reject with a TypeError naming the field, and nothing is left pending', async () => {
	const { worker, router, producer } = await setup();
	await assert.rejects(router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: 'nonsense' }] }), (e) => e instanceof TypeError && /ip/.test(e.message));
	const transport = await router.createWebRtcTransport({ listenInfos });
	await assert.rejects(transport.consume({ producerId: producer.id }), (e) => e instanceof TypeError && /rtpCapabilities/.test(e.message));
	// The engine's own refusals come back through the reply.
	await assert.rejects(transport.consume({ producerId: 'no-such-producer', rtpCapabilities: router.rtpCapabilities }), /producer/i);
	assert.equal((await transport.dump()).consumerIds.length, 0);
	worker.close();
});

test('a transport closed while its consume() is in flight: InvalidStateError, and the engine drops the consumer', async () => {
	const { worker, router, producer } = await setup();
	const transport = await router.createWebRtcTransport({ listenInfos });
	const pending = transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
	transport.close();
	await assert.rejects(pending, InvalidStateError);
	const dump = await router.dump();
	assert.deepEqual(dump.transportIds.filter((id) => id === transport.id), []);
	assert.deepEqual(dump.mapProducerIdConsumerIds.find((m) => m.key === producer.id).values, []);
	worker.close();
});

test('a router closed while createWebRtcTransport() is in flight: InvalidStateError', async () => {
	const { worker, router } = await setup();
	const pending = router.createWebRtcTransport({ listenInfos });
	router.close();
	await assert.rejects(pending, InvalidStateError);
	const dump = await worker.dump();
	assert.deepEqual(dump.routerIds, []);
	worker.close();
});

test('requests in flight when the worker closes reject with WorkerClosedError (an InvalidStateError)', async () => {
	const { worker, router, producer } = await setup();
	const transport = await router.createWebRtcTransport({ listenInfos });
	const pending = [
		...Array.from({ length: 16 }, () => router.createWebRtcTransport({ listenInfos })),
		...Array.from({ length: 16 }, () => transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities })),
	];
	worker.close();
	const outcomes = await Promise.allSettled(pending);
	for (const o of outcomes) {
		assert.equal(o.status, 'rejected');
		assert.ok(o.reason instanceof WorkerClosedError && o.reason instanceof InvalidStateError, String(o.reason));
	}
	await assert.rejects(router.createWebRtcTransport({ listenInfos }), InvalidStateError);
});

test('requests queued behind a worker death reject instead of hanging', async () => {
	const { worker, router, producer } = await setup();
	const transport = await router.createWebRtcTransport({ listenInfos });
	const died = new Promise((resolve) => worker.once('died', resolve));
	worker._injectPanicForTests('boom');
	const pending = [router.createWebRtcTransport({ listenInfos }), transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities })];
	const outcomes = await Promise.allSettled(pending);
	for (const o of outcomes) {
		assert.equal(o.status, 'rejected');
		assert.ok(o.reason instanceof InvalidStateError, String(o.reason));
	}
	await died;
	assert.equal(worker.died, true);
});

test('consumer pause()/resume() and webRtcTransport.connect() are pipelined too: state changes once the engine did', async () => {
	const { worker, router, producer } = await setup();
	const transport = await router.createWebRtcTransport({ listenInfos });
	const consumers = await Promise.all(Array.from({ length: 8 }, () => transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities })));
	const observed = [];
	for (const c of consumers) c.observer.on('pause', () => observed.push(c.id));
	const pausing = consumers.map((c) => c.pause());
	// As in mediasoup: `paused` flips when the engine answered, not before.
	assert.deepEqual(consumers.map((c) => c.paused), Array(8).fill(false));
	await Promise.all(pausing);
	assert.deepEqual(consumers.map((c) => c.paused), Array(8).fill(true));
	assert.deepEqual(observed.sort(), consumers.map((c) => c.id).sort());
	for (const c of consumers) assert.equal((await c.dump()).paused, true);
	await Promise.all(consumers.map((c) => c.resume()));
	for (const c of consumers) assert.equal((await c.dump()).paused, false);

	// connect(): parsed on the worker thread, still a TypeError naming the field.
	await assert.rejects(transport.connect({ dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 42 }] } }), (e) => e instanceof TypeError && /fingerprints/.test(e.message));
	const fingerprint = { algorithm: 'sha-256', value: Array(32).fill('AB').join(':') };
	await transport.connect({ dtlsParameters: { role: 'client', fingerprints: [fingerprint] } });
	assert.equal(transport.dtlsParameters.role, 'server');
	await assert.rejects(transport.connect({ dtlsParameters: { role: 'client', fingerprints: [fingerprint] } }), InvalidStateError);

	// In flight when the worker closes: rejected, not left hanging.
	const pending = consumers.map((c) => c.pause());
	worker.close();
	for (const o of await Promise.allSettled(pending)) assert.ok(o.status === 'rejected' && o.reason instanceof WorkerClosedError, String(o.reason));
});

test('a WebRtcServer closed while createWebRtcTransport() on it is in flight: InvalidStateError', async () => {
	const { worker, router } = await setup();
	const webRtcServer = await worker.createWebRtcServer({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1', port: 0 }] });
	const pending = router.createWebRtcTransport({ webRtcServer });
	webRtcServer.close();
	await assert.rejects(pending, InvalidStateError);
	assert.deepEqual((await router.dump()).transportIds.length, 1, 'only the producing plain transport');
	worker.close();
});

test('produce() is pipelined: concurrent producers resolve with their parameters; a transport closed meanwhile rejects', async () => {
	const { worker, router } = await setup();
	const transport = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
	const producers = await Promise.all([2001, 2002, 2003, 2004].map((ssrc) => transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(ssrc), appData: { ssrc } })));
	assert.deepEqual(producers.map((p) => p.rtpParameters.encodings[0].ssrc), [2001, 2002, 2003, 2004]);
	assert.deepEqual(producers.map((p) => p.appData.ssrc), [2001, 2002, 2003, 2004]);
	for (const p of producers) {
		assert.equal(p.kind, 'audio');
		assert.equal(p.type, 'simple');
		assert.equal(p.paused, false);
		assert.equal((await p.dump()).id, p.id);
	}
	// Bad options: the TypeError naming the field, through the reply.
	await assert.rejects(transport.produce({ kind: 'audio', rtpParameters: { codecs: 'nope' } }), (e) => e instanceof TypeError && /codecs/.test(e.message));
	const pending = transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(2005) });
	transport.close();
	await assert.rejects(pending, InvalidStateError);
	const dump = await router.dump();
	assert.equal(dump.mapProducerIdConsumerIds.length, 1, 'only the setup producer is left');
	worker.close();
});
