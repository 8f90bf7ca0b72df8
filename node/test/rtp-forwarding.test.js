'use strict';

// RTP sent over loopback UDP into a plain-transport producer reaches three plain-transport
// consumers, each rewritten to what its rtpParameters announce, with continuous sequence numbers
// through consumer and producer pauses.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

const PRODUCER_SSRC = 22223333;
const PRODUCER_PT = h.chromeAudio.rtpParameters.codecs[0].payloadType;
const SAMPLES_PER_PACKET = 960; // 20 ms of Opus at 48 kHz

const ctx = { consumers: [], receivers: [], received: [] };
let seq = 40000; // the sender's stream: crosses the 16-bit wrap during the test
let ts = 4294960000;

before(async () => {
	ctx.worker = await mediasoup.createWorker();
	ctx.router = await ctx.worker.createRouter({ mediaCodecs: h.mediaCodecs });
	ctx.sendTransport = await ctx.router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
	const rtpParameters = { ...h.chromeAudio.rtpParameters, encodings: [{ ssrc: PRODUCER_SSRC }] };
	ctx.producer = await ctx.sendTransport.produce({ kind: 'audio', rtpParameters });
	for (let i = 0; i < 3; i++) {
		const receiver = await h.udpSocket();
		const transport = await ctx.router.createPlainTransport({ listenInfo: h.listenInfo });
		await transport.connect({ ip: '127.0.0.1', port: receiver.address().port });
		const consumer = await transport.consume({ producerId: ctx.producer.id, rtpCapabilities: ctx.router.rtpCapabilities });
		ctx.receivers.push(receiver);
		ctx.received.push(h.collectRtp(receiver));
		ctx.consumers.push(consumer);
	}
	ctx.sender = await h.udpSocket();
});

after(() => {
	ctx.worker.close();
	ctx.sender.close();
	for (const r of ctx.receivers) r.close();
});

// Sends `count` consecutive packets of the sender's stream; payload = [batch, index].
async function sendBatch(batch, count) {
	const port = ctx.sendTransport.tuple.localPort;
	for (let i = 0; i < count; i++) {
		const packet = h.rtpPacket({
			payloadType: PRODUCER_PT,
			sequenceNumber: seq,
			timestamp: ts,
			ssrc: PRODUCER_SSRC,
			payload: Buffer.from([batch, i, 0xaa, 0xbb]),
		});
		seq = (seq + 1) & 0xffff;
		ts = (ts + SAMPLES_PER_PACKET) >>> 0;
		await new Promise((resolve, reject) => ctx.sender.send(packet, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
	}
}

function batchOf(packets, batch) {
	return packets.filter((p) => p.payload[0] === batch);
}

function counts() {
	return ctx.received.map((r) => r.length).join(',');
}

async function waitForBatch(batch, count, which) {
	await h.waitUntil(
		() => which.every((i) => batchOf(ctx.received[i], batch).length === count),
		() => `batch ${batch}: ${count} packets at consumers ${which}; per consumer: ${ctx.received.map((r) => batchOf(r, batch).length)}`,
	);
}

function assertContinuous(packets, what) {
	for (let i = 1; i < packets.length; i++) {
		assert.equal(
			packets[i].sequenceNumber,
			(packets[i - 1].sequenceNumber + 1) & 0xffff,
			`${what}: sequence gap between packet ${i - 1} and ${i}: ${packets.map((p) => p.sequenceNumber)}`,
		);
	}
}

test('packets reach every consumer with its SSRC and payload type, consecutive seq and preserved timestamp deltas', async () => {
	const tupleEvent = h.nextEvent(ctx.sendTransport, 'tuple');
	await sendBatch(1, 20);
	await waitForBatch(1, 20, [0, 1, 2]);
	const [tuple] = await tupleEvent;
	assert.equal(tuple.remotePort, ctx.sender.address().port, 'comedia learnt the sender as remote');
	assert.equal(ctx.sendTransport.tuple.remotePort, ctx.sender.address().port);

	for (const [i, consumer] of ctx.consumers.entries()) {
		const packets = batchOf(ctx.received[i], 1);
		const ssrc = consumer.rtpParameters.encodings[0].ssrc;
		const payloadType = consumer.rtpParameters.codecs[0].payloadType;
		assert.notEqual(ssrc, PRODUCER_SSRC, 'the consumer has its own SSRC');
		for (const [k, p] of packets.entries()) {
			assert.equal(p.version, 2);
			assert.equal(p.ssrc, ssrc, `consumer ${i} packet ${k}: ssrc`);
			assert.equal(p.payloadType, payloadType, `consumer ${i} packet ${k}: payload type`);
			assert.equal(p.payload[1], k, `consumer ${i}: packets in order`);
			assert.deepEqual([...p.payload.subarray(2)], [0xaa, 0xbb], 'payload untouched');
		}
		assertContinuous(packets, `consumer ${i}`);
		for (let k = 1; k < packets.length; k++) {
			assert.equal((packets[k].timestamp - packets[k - 1].timestamp) >>> 0, SAMPLES_PER_PACKET, `consumer ${i}: timestamp delta at ${k}`);
		}
	}
	const stats = await ctx.producer.getStats();
	assert.equal(stats[0].packetCount, 20, `producer stats: ${JSON.stringify(stats)}`);
});

test('a paused consumer receives nothing; on resume its sequence numbers continue', async () => {
	const [paused, ...others] = [0, 1, 2];
	await ctx.consumers[paused].pause();
	assert.equal(ctx.consumers[paused].paused, true);
	await sendBatch(2, 10);
	await waitForBatch(2, 10, others);
	await h.sleep(100);
	assert.equal(batchOf(ctx.received[paused], 2).length, 0, `paused consumer got packets (counts ${counts()})`);

	await ctx.consumers[paused].resume();
	await sendBatch(3, 10);
	await waitForBatch(3, 10, [0, 1, 2]);
	const stream = ctx.received[paused].filter((p) => p.payload[0] === 1 || p.payload[0] === 3);
	assertContinuous(stream, 'consumer across its own pause');
});

test('a paused producer reaches no consumer, fires producerpause/producerresume, and seq stays continuous', async () => {
	const pauses = ctx.consumers.map((c) => h.nextEvent(c, 'producerpause'));
	await ctx.producer.pause();
	await Promise.all(pauses);
	for (const c of ctx.consumers) assert.equal(c.producerPaused, true, 'producerPaused once pause() resolved');

	await sendBatch(4, 10);
	await h.sleep(150);
	assert.deepEqual(ctx.received.map((r) => batchOf(r, 4).length), [0, 0, 0], 'nothing forwarded while the producer is paused');
	const inbound = await ctx.producer.getStats();
	assert.ok(inbound[0].packetCount >= 50, `the producer still received them: ${inbound[0].packetCount}`);

	const resumes = ctx.consumers.map((c) => h.nextEvent(c, 'producerresume'));
	await ctx.producer.resume();
	await Promise.all(resumes);
	for (const c of ctx.consumers) assert.equal(c.producerPaused, false);

	await sendBatch(5, 10);
	await waitForBatch(5, 10, [0, 1, 2]);
	for (const [i, r] of ctx.received.entries()) {
		assertContinuous(r.filter((p) => p.payload[0] === 3 || p.payload[0] === 5), `consumer ${i} across the producer pause`);
	}
});
