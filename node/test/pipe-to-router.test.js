'use strict';

// router.pipeToRouter() between two workers: a producer on worker 1 consumed on worker 2 (media
// arrives, pause follows, closing the producer closes the chain with 'producerclose'), the pipe
// pair is reused, SRTP pipes work, and a data producer crosses over SCTP.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

test('pipeToRouter over SRTP/UDP: media, pause, close chain, pair reuse, data', () => pipeToRouter(true));
test('pipeToRouter in memory (no enableSrtp): media, pause, close chain, pair reuse, data', () => pipeToRouter(false));

async function pipeToRouter(enableSrtp) {
	const w1 = await mediasoup.createWorker();
	const w2 = await mediasoup.createWorker();
	const sockets = [];
	try {
		const r1 = await w1.createRouter({ mediaCodecs: h.mediaCodecs });
		const r2 = await w2.createRouter({ mediaCodecs: h.mediaCodecs });
		const send = await r1.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
		const producer = await send.produce({ kind: 'audio', rtpParameters: h.opusParameters(3333), appData: { who: 'mic' } });
		const producer2 = await send.produce({ kind: 'audio', rtpParameters: h.opusParameters(4444) });

		await assert.rejects(r1.pipeToRouter({ router: r2 }), TypeError);
		await assert.rejects(r1.pipeToRouter({ producerId: producer.id, router: r1 }), TypeError);
		await assert.rejects(r1.pipeToRouter({ producerId: 'nope', router: r2 }), TypeError);

		const { pipeConsumer, pipeProducer } = await r1.pipeToRouter({ producerId: producer.id, router: r2, enableSrtp });
		assert.equal(pipeConsumer.type, 'pipe');
		assert.equal(pipeProducer.id, producer.id);
		assert.deepEqual(pipeProducer.appData, { who: 'mic' });
		const pipes = [...r1.transportsForTesting].filter((t) => t.type === 'pipe');
		assert.equal(pipes.length, 1);
		assert.equal(pipes[0].srtpParameters && pipes[0].srtpParameters.cryptoSuite, enableSrtp ? 'AEAD_AES_256_GCM' : undefined);
		await r1.pipeToRouter({ producerId: producer2.id, router: r2, enableSrtp });
		assert.equal([...r1.transportsForTesting].filter((t) => t.type === 'pipe').length, 1, 'the pipe pair is reused');
		assert.equal([...r2.transportsForTesting].filter((t) => t.type === 'pipe').length, 1);

		// A listener on worker 2.
		const receiver = await h.udpSocket();
		sockets.push(receiver);
		const out = await r2.createPlainTransport({ listenInfo: h.listenInfo });
		await out.connect({ ip: '127.0.0.1', port: receiver.address().port });
		const consumer = await out.consume({ producerId: producer.id, rtpCapabilities: r2.rtpCapabilities });
		const received = h.collectRtp(receiver);
		const sender = await h.udpSocket();
		sockets.push(sender);
		for (let i = 0; i < 5; i++) {
			sender.send(h.rtpPacket({ payloadType: 111, sequenceNumber: i, timestamp: 960 * i, ssrc: 3333, payload: Buffer.from([0xab, i]) }), send.tuple.localPort, '127.0.0.1');
		}
		await h.waitUntil(() => received.length === 5, () => `${received.length} packets on worker 2`);
		assert.equal(received[0].ssrc, consumer.rtpParameters.encodings[0].ssrc);
		assert.deepEqual([...received[4].payload], [0xab, 4]);

		// Pausing the source pauses the copy; closing it closes the chain.
		const events = [];
		consumer.on('producerpause', () => events.push('pause'));
		consumer.on('producerresume', () => events.push('resume'));
		await producer.pause();
		await h.waitUntil(() => events.includes('pause'), () => events.join());
		assert.ok(pipeProducer.paused);
		await producer.resume();
		await h.waitUntil(() => events.includes('resume'), () => events.join());
		const closed = new Promise((resolve) => consumer.on('producerclose', resolve));
		producer.close();
		await closed;
		assert.ok(pipeConsumer.closed && pipeProducer.closed);

		// Data over the pipe's SCTP.
		const direct1 = await r1.createDirectTransport();
		const dp = await direct1.produceData({ label: 'events' });
		const { pipeDataConsumer, pipeDataProducer } = await r1.pipeToRouter({ dataProducerId: dp.id, router: r2, enableSrtp });
		assert.equal(pipeDataProducer.id, dp.id);
		assert.equal(pipeDataConsumer.type, 'sctp');
		const direct2 = await r2.createDirectTransport();
		const dc = await direct2.consumeData({ dataProducerId: dp.id });
		const got = [];
		dc.on('message', (m) => got.push(m.toString()));
		for (let i = 0; i < 100 && got.length === 0; i++) {
			dp.send(`ping ${i}`);
			await new Promise((r) => setTimeout(r, 30));
		}
		assert.ok(got.length > 0 && got[0].startsWith('ping'), 'a message crossed the pipe');
	} finally {
		w1.close();
		w2.close();
		for (const s of sockets) s.close();
	}
}
