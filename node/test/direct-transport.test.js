'use strict';

// DirectTransport: the application injects RTP that a plain-transport receiver gets, receives a
// plain publisher's RTP as consumer 'rtp' events, sends RTCP in, and exchanges data messages
// through direct DataProducers/DataConsumers (text, binary, empty, subchannels, pause, close).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

test('direct producer → plain consumer, plain producer → direct consumer, sendRtcp', async () => {
	const worker = await mediasoup.createWorker();
	const sockets = [];
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const direct = await router.createDirectTransport();
		assert.equal(direct.type, 'direct');
		assert.ok(direct instanceof mediasoup.types.DirectTransport);

		const injected = await direct.produce({ kind: 'audio', rtpParameters: h.opusParameters(1234) });
		const receiver = await h.udpSocket();
		sockets.push(receiver);
		const plain = await router.createPlainTransport({ listenInfo: h.listenInfo });
		await plain.connect({ ip: '127.0.0.1', port: receiver.address().port });
		const plainConsumer = await plain.consume({ producerId: injected.id, rtpCapabilities: router.rtpCapabilities });
		const received = h.collectRtp(receiver);
		for (let i = 0; i < 4; i++) {
			injected.send(h.rtpPacket({ payloadType: 111, sequenceNumber: 7 + i, timestamp: 960 * i, ssrc: 1234, payload: Buffer.from([i, 9]) }));
		}
		assert.throws(() => injected.send('not a buffer'), TypeError);
		await h.waitUntil(() => received.length === 4, () => `${received.length} packets`);
		assert.equal(received[0].ssrc, plainConsumer.rtpParameters.encodings[0].ssrc);
		assert.deepEqual([...received[3].payload], [3, 9]);

		// A plain publisher's packets reach the application.
		const sendTransport = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
		const published = await sendTransport.produce({ kind: 'audio', rtpParameters: h.opusParameters(4321) });
		assert.throws(() => published.send(Buffer.alloc(12)), (e) => e.name === 'UnsupportedError');
		const directConsumer = await direct.consume({ producerId: published.id, rtpCapabilities: router.rtpCapabilities });
		const packets = [];
		directConsumer.on('rtp', (p) => packets.push(p));
		const sender = await h.udpSocket();
		sockets.push(sender);
		for (let i = 0; i < 3; i++) {
			sender.send(h.rtpPacket({ payloadType: 111, sequenceNumber: 50 + i, timestamp: 960 * i, ssrc: 4321, payload: Buffer.from([0xee, i]) }), sendTransport.tuple.localPort, '127.0.0.1');
		}
		await h.waitUntil(() => packets.length === 3, () => `${packets.length} rtp events`);
		assert.ok(Buffer.isBuffer(packets[0]));
		const p = h.parseRtp(packets[2]);
		assert.equal(p.ssrc, directConsumer.rtpParameters.encodings[0].ssrc);
		assert.deepEqual([...p.payload], [0xee, 2]);

		// RTCP the engine sends the application (sender reports for its consumer) arrives as 'rtcp'.
		const rtcp = [];
		direct.on('rtcp', (b) => rtcp.push(b));
		await h.waitUntil(() => rtcp.length > 0, () => 'no rtcp event', 3000);
		assert.ok(rtcp[0][1] >= 192 && rtcp[0][1] <= 223, 'an RTCP packet');
		assert.throws(() => direct.sendRtcp('x'), TypeError);
		direct.sendRtcp(rtcp[0]);
		await assert.rejects(direct.setMaxIncomingBitrate(100000), (e) => e.name === 'UnsupportedError');
		await assert.rejects(direct.setMinIncomingBitrate(100000), (e) => e.name === 'UnsupportedError');
		assert.equal((await direct.getStats())[0].type, 'direct-transport');
	} finally {
		worker.close();
		for (const s of sockets) s.close();
	}
});

test('direct data: text, binary, empty, subchannels, pause and close cascade', async () => {
	const worker = await mediasoup.createWorker();
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const direct = await router.createDirectTransport({ maxMessageSize: 1000 });
		const newData = [];
		direct.observer.on('newdataproducer', (d) => newData.push(d));
		const dataProducer = await direct.produceData({ label: 'chat', protocol: 'text', appData: { room: 1 } });
		assert.equal(dataProducer.type, 'direct');
		assert.equal(dataProducer.label, 'chat');
		assert.deepEqual(dataProducer.appData, { room: 1 });
		assert.equal(newData[0], dataProducer);
		const all = await direct.consumeData({ dataProducerId: dataProducer.id });
		const sub = await direct.consumeData({ dataProducerId: dataProducer.id, subchannels: [3] });
		assert.deepEqual(sub.subchannels, [3]);
		await assert.rejects(direct.consumeData({}), TypeError);
		await assert.rejects(direct.consumeData({ dataProducerId: 'nope' }), (e) => e.name === 'NotFoundError');
		const got = { all: [], sub: [] };
		all.on('message', (m, ppid) => got.all.push([m.toString(), ppid]));
		sub.on('message', (m, ppid) => got.sub.push([m.toString(), ppid]));

		dataProducer.send('hello');
		dataProducer.send(Buffer.from('bin'));
		dataProducer.send('');
		dataProducer.send('to 3', undefined, [3]);
		assert.throws(() => dataProducer.send(42), TypeError);
		assert.throws(() => dataProducer.send('x'.repeat(1001)), /maxMessageSize/);
		await h.waitUntil(() => got.sub.length === 4, () => JSON.stringify(got));
		assert.deepEqual(got.all, [['hello', 51], ['bin', 53], [' ', 56]]);
		assert.deepEqual(got.sub.at(-1), ['to 3', 51]);

		await sub.addSubchannel(5);
		assert.deepEqual(sub.subchannels, [3, 5]);
		await sub.removeSubchannel(3);
		assert.deepEqual(sub.subchannels, [5]);

		const events = [];
		all.on('dataproducerpause', () => events.push('pause'));
		all.on('dataproducerresume', () => events.push('resume'));
		await dataProducer.pause();
		dataProducer.send('dropped');
		await dataProducer.resume();
		await h.waitUntil(() => events.length === 2, () => events.join());
		assert.equal(got.all.length, 3, 'nothing while the data producer was paused');
		const stats = await dataProducer.getStats();
		assert.equal(stats[0].type, 'data-producer');
		assert.equal(stats[0].messagesReceived, 5);

		const closed = new Promise((resolve) => all.on('dataproducerclose', resolve));
		dataProducer.close();
		await closed;
		assert.ok(all.closed);
		await assert.rejects(all.getStats(), (e) => e.name === 'InvalidStateError');
		direct.close();
		assert.ok(sub.closed);
	} finally {
		worker.close();
	}
});
