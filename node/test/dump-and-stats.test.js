'use strict';

// dump(), getStats() and getResourceUsage() have mediasoup's fields, and the counters move with
// real traffic.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

const ctx = {};

function assertFields(obj, fields, what) {
	for (const f of fields) assert.ok(f in obj, `${what} lacks "${f}": ${JSON.stringify(obj)}`);
}

before(async () => {
	ctx.worker = await mediasoup.createWorker();
	ctx.router = await ctx.worker.createRouter({ mediaCodecs: h.mediaCodecs });
	ctx.send = await ctx.router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
	ctx.receiver = await h.udpSocket();
	ctx.recv = await ctx.router.createPlainTransport({ listenInfo: h.listenInfo, rtcpMux: false });
	await ctx.recv.connect({ ip: '127.0.0.1', port: ctx.receiver.address().port, rtcpPort: ctx.receiver.address().port });
	ctx.producer = await ctx.send.produce({ kind: 'audio', rtpParameters: h.opusParameters(55555) });
	ctx.consumer = await ctx.recv.consume({ producerId: ctx.producer.id, rtpCapabilities: ctx.router.rtpCapabilities });
	const received = h.collectRtp(ctx.receiver);
	const sender = await h.udpSocket();
	for (let i = 0; i < 5; i++) {
		const packet = h.rtpPacket({ payloadType: 111, sequenceNumber: i, timestamp: i * 960, ssrc: 55555, payload: Buffer.alloc(100) });
		sender.send(packet, ctx.send.tuple.localPort, '127.0.0.1');
	}
	await h.waitUntil(() => received.length === 5, () => `received ${received.length}/5`);
	sender.close();
});

after(() => {
	ctx.worker.close();
	ctx.receiver.close();
});

test('worker.dump() and getResourceUsage()', async () => {
	const dump = await ctx.worker.dump();
	assertFields(dump, ['pid', 'webRtcServerIds', 'routerIds', 'channelMessageHandlers'], 'worker dump');
	assert.equal(dump.pid, ctx.worker.pid);
	assert.deepEqual(dump.routerIds, [ctx.router.id]);
	const usage = await ctx.worker.getResourceUsage();
	assertFields(usage, ['ru_utime', 'ru_stime', 'ru_maxrss', 'ru_minflt', 'ru_majflt', 'ru_nvcsw', 'ru_nivcsw'], 'resource usage');
	assert.ok(usage.ru_maxrss > 0);
	assert.equal(ctx.worker.pid, process.pid, 'workers are threads of this process');
});

test('router.dump()', async () => {
	const dump = await ctx.router.dump();
	assertFields(dump, ['id', 'transportIds', 'rtpObserverIds', 'mapProducerIdConsumerIds', 'mapConsumerIdProducerId', 'mapProducerIdObserverIds', 'mapDataProducerIdDataConsumerIds', 'mapDataConsumerIdDataProducerId'], 'router dump');
	assert.equal(dump.id, ctx.router.id);
	assert.deepEqual([...dump.transportIds].sort(), [ctx.send.id, ctx.recv.id].sort());
	assert.deepEqual(dump.mapProducerIdConsumerIds, [{ key: ctx.producer.id, values: [ctx.consumer.id] }]);
	assert.deepEqual(dump.mapConsumerIdProducerId, [{ key: ctx.consumer.id, value: ctx.producer.id }]);
});

test('plain transport properties, dump() and getStats()', async () => {
	assert.equal(ctx.recv.rtcpMux, false);
	assert.equal(ctx.recv.comedia, false);
	assert.equal(ctx.recv.type, 'plain');
	assert.equal(ctx.recv.sctpParameters, undefined);
	assert.equal(ctx.recv.srtpParameters, undefined);
	assert.equal(ctx.recv.tuple.remotePort, ctx.receiver.address().port);
	assertFields(ctx.recv.rtcpTuple, ['localAddress', 'localPort', 'protocol', 'remoteIp', 'remotePort'], 'rtcpTuple');
	assert.equal(ctx.send.rtcpTuple, undefined, 'no RTCP tuple with rtcp-mux');

	const dump = await ctx.send.dump();
	assertFields(dump, ['id', 'direct', 'producerIds', 'consumerIds', 'mapSsrcConsumerId', 'mapRtxSsrcConsumerId', 'dataProducerIds', 'dataConsumerIds', 'recvRtpHeaderExtensions', 'rtpListener', 'maxMessageSize', 'traceEventTypes', 'tuple', 'rtcpMux', 'comedia'], 'transport dump');
	assertFields(dump.rtpListener, ['ssrcTable', 'midTable', 'ridTable'], 'rtpListener');
	assert.deepEqual(dump.producerIds, [ctx.producer.id]);

	const [stats] = await ctx.send.getStats();
	assertFields(stats, ['type', 'transportId', 'timestamp', 'bytesReceived', 'recvBitrate', 'bytesSent', 'sendBitrate', 'rtpBytesReceived', 'rtpRecvBitrate', 'rtpBytesSent', 'rtpSendBitrate', 'rtxBytesReceived', 'rtxRecvBitrate', 'rtxBytesSent', 'rtxSendBitrate', 'probationBytesSent', 'probationSendBitrate', 'tuple', 'rtcpMux', 'comedia'], 'transport stats');
	assert.equal(stats.type, 'plain-rtp-transport');
	assert.equal(stats.transportId, ctx.send.id);
	assert.equal(stats.rtpBytesReceived, 5 * 112);
	const [recvStats] = await ctx.recv.getStats();
	assert.ok(recvStats.rtpBytesSent >= 5 * 112, `bytes sent to the consumer's remote: ${recvStats.rtpBytesSent}`);
});

test('producer properties, dump() and getStats()', async () => {
	assert.equal(ctx.producer.kind, 'audio');
	assert.equal(ctx.producer.type, 'simple');
	assert.equal(ctx.producer.paused, false);
	assert.deepEqual(ctx.producer.score, [{ encodingIdx: 0, ssrc: 55555, score: 10 }]);
	assert.equal(ctx.producer.rtpParameters.encodings[0].ssrc, 55555);

	const dump = await ctx.producer.dump();
	assertFields(dump, ['id', 'kind', 'type', 'rtpParameters', 'rtpMapping', 'rtpStreams', 'traceEventTypes', 'paused'], 'producer dump');
	assertFields(dump.rtpMapping, ['codecs', 'encodings'], 'rtpMapping');

	const stats = await ctx.producer.getStats();
	assert.equal(stats.length, 1);
	assertFields(stats[0], ['type', 'timestamp', 'ssrc', 'kind', 'mimeType', 'packetsLost', 'fractionLost', 'packetsDiscarded', 'packetsRetransmitted', 'packetsRepaired', 'nackCount', 'nackPacketCount', 'pliCount', 'firCount', 'score', 'packetCount', 'byteCount', 'bitrate', 'jitter', 'bitrateByLayer'], 'producer stats');
	assert.equal(stats[0].type, 'inbound-rtp');
	assert.equal(stats[0].packetCount, 5);
	assert.equal(stats[0].byteCount, 5 * 112);
	assert.equal(stats[0].mimeType, 'audio/opus');
});

test('consumer properties, dump() and getStats()', async () => {
	const c = ctx.consumer;
	assert.equal(c.producerId, ctx.producer.id);
	assert.equal(c.kind, 'audio');
	assert.equal(c.type, 'simple');
	assert.equal(c.paused, false);
	assert.equal(c.producerPaused, false);
	assert.equal(c.priority, 1);
	assert.deepEqual(c.score, { score: 10, producerScore: 10, producerScores: [10] });
	assert.equal(c.preferredLayers, undefined);
	assert.equal(c.currentLayers, undefined);
	assert.equal(c.rtpParameters.codecs[0].mimeType, 'audio/opus');
	assert.equal(c.rtpParameters.mid, '0');

	const dump = await c.dump();
	assertFields(dump, ['id', 'producerId', 'kind', 'type', 'rtpParameters', 'consumableRtpEncodings', 'supportedCodecPayloadTypes', 'traceEventTypes', 'paused', 'producerPaused', 'priority'], 'consumer dump');

	const stats = await c.getStats();
	assert.deepEqual(stats.map((s) => s.type), ['outbound-rtp', 'inbound-rtp']);
	assertFields(stats[0], ['type', 'timestamp', 'ssrc', 'kind', 'mimeType', 'packetsLost', 'fractionLost', 'packetsDiscarded', 'packetsRetransmitted', 'packetsRepaired', 'nackCount', 'nackPacketCount', 'pliCount', 'firCount', 'score', 'packetCount', 'byteCount', 'bitrate'], 'consumer stats');
	assert.equal(stats[0].ssrc, c.rtpParameters.encodings[0].ssrc);
	assert.equal(stats[0].packetCount, 5);
	assert.equal(stats[1].ssrc, 55555);
});
