'use strict';

// Closed objects must not stay reachable from the worker: a long-running app creates and closes
// transports, producers and consumers all day (the soak bench, benches/soak, counts them too).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const v8 = require('node:v8');
const vm = require('node:vm');
const mediasoup = require('..');
const h = require('./helpers');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

test('closed transports, producers and consumers are garbage-collectable while the worker lives', async () => {
	const worker = await mediasoup.createWorker();
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const refs = { transport: [], producer: [], consumer: [] };
		const other = await router.createPlainTransport({ listenInfo: h.listenInfo });
		// In a function of its own, so that no local of this one holds the last objects.
		const cycle = async (i) => {
			const transport = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
			const producer = await transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(1000 + i) });
			const consumer = await other.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
			refs.transport.push(new WeakRef(transport));
			refs.producer.push(new WeakRef(producer));
			refs.consumer.push(new WeakRef(consumer));
			// Both ways of closing: the producer itself, or its transport.
			if (i % 2) producer.close();
			transport.close();
		};
		for (let i = 0; i < 20; i++) await cycle(i);
		await cycle(20); // whatever the engine or V8 still holds of the very last one is not checked
		for (const list of Object.values(refs)) list.pop();
		for (let i = 0; i < 5; i++) {
			await h.sleep(20);
			gc();
		}
		for (const [kind, list] of Object.entries(refs)) {
			assert.deepEqual(list.map((r, i) => (r.deref() ? i : -1)).filter((i) => i >= 0), [], `closed ${kind}s still reachable`);
		}
		other.close();
	} finally {
		worker.close();
	}
});
