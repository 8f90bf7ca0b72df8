'use strict';

// enableTraceEvent(): producers and consumers emit mediasoup-shaped 'trace' events (on the object
// and its observer) for the types asked for, and only those; bad types are TypeErrors.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

test('producer and consumer trace rtp packets; types are validated and dumped', async () => {
	const worker = await mediasoup.createWorker();
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const sendTransport = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
		const producer = await sendTransport.produce({ kind: 'audio', rtpParameters: h.opusParameters(5555) });
		const receiver = await h.udpSocket();
		const recvTransport = await router.createPlainTransport({ listenInfo: h.listenInfo });
		await recvTransport.connect({ ip: '127.0.0.1', port: receiver.address().port });
		const consumer = await recvTransport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
		const received = h.collectRtp(receiver);

		await assert.rejects(producer.enableTraceEvent(['bogus']), (e) => e instanceof TypeError && /bogus/.test(e.message));
		await assert.rejects(consumer.enableTraceEvent(['sr']), TypeError, 'consumers have no sr traces');
		await assert.rejects(consumer.enableTraceEvent('rtp'), TypeError);
		await assert.rejects(recvTransport.enableTraceEvent(['rtp']), TypeError);
		await recvTransport.enableTraceEvent(['bwe']);
		assert.deepEqual((await recvTransport.dump()).traceEventTypes, ['bwe']);

		const producerTraces = [];
		const consumerTraces = [];
		const observed = [];
		producer.on('trace', (t) => producerTraces.push(t));
		consumer.on('trace', (t) => consumerTraces.push(t));
		consumer.observer.on('trace', (t) => observed.push(t));
		await producer.enableTraceEvent(['rtp']);
		await consumer.enableTraceEvent(['rtp', 'pli']);
		assert.deepEqual((await producer.dump()).traceEventTypes, ['rtp']);
		assert.deepEqual((await consumer.dump()).traceEventTypes, ['rtp', 'pli']);

		const sender = await h.udpSocket();
		for (let i = 0; i < 5; i++) {
			const packet = h.rtpPacket({ payloadType: 111, sequenceNumber: 100 + i, timestamp: 960 * i, ssrc: 5555, payload: Buffer.from([i, 1, 2]) });
			sender.send(packet, sendTransport.tuple.localPort, '127.0.0.1');
		}
		await h.waitUntil(() => received.length === 5 && consumerTraces.length === 5 && producerTraces.length === 5, () => `${received.length} received, ${producerTraces.length}/${consumerTraces.length} traces`);
		sender.close();
		receiver.close();

		for (const [i, t] of producerTraces.entries()) {
			assert.equal(t.type, 'rtp');
			assert.equal(t.direction, 'in');
			assert.equal(typeof t.timestamp, 'number');
			assert.equal(t.info.isRtx, false);
			assert.equal(t.info.rtpPacket.ssrc, 5555);
			assert.equal(t.info.rtpPacket.sequenceNumber, 100 + i);
			assert.equal(t.info.rtpPacket.payloadSize, 3);
		}
		const consumerSsrc = consumer.rtpParameters.encodings[0].ssrc;
		for (const [i, t] of consumerTraces.entries()) {
			assert.equal(t.direction, 'out');
			assert.equal(t.info.rtpPacket.ssrc, consumerSsrc);
			assert.equal(t.info.rtpPacket.sequenceNumber, received[i].sequenceNumber);
		}
		assert.equal(observed.length, 5, 'the observer sees trace events too');
	} finally {
		worker.close();
	}
});
