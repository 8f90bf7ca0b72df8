'use strict';

// Bad arguments reject with the error class mediasoup apps test for, and a message that names
// the offending field. Calls on closed objects reject with InvalidStateError, and after the
// worker closed with WorkerClosedError (an InvalidStateError too).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

const { UnsupportedError, InvalidStateError, NotFoundError, WorkerClosedError } = mediasoup.errors;
const ctx = {};

before(async () => {
	ctx.worker = await mediasoup.createWorker();
	ctx.router = await ctx.worker.createRouter({ mediaCodecs: h.mediaCodecs });
	ctx.transport = await ctx.router.createPlainTransport({ listenInfo: h.listenInfo });
	ctx.producer = await ctx.transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(777) });
	ctx.consumer = await ctx.transport.consume({ producerId: ctx.producer.id, rtpCapabilities: ctx.router.rtpCapabilities });
});

after(() => ctx.worker.close());

const vp8Only = { codecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000, preferredPayloadType: 96 }] };

// [what, call, error class, message fragment]
const cases = [
	['worker logLevel', () => mediasoup.createWorker({ logLevel: 'loud' }), TypeError, /logLevel/],
	['worker port range', () => mediasoup.createWorker({ rtcMinPort: 5000, rtcMaxPort: 4000 }), TypeError, /rtcMinPort/],
	['worker port type', () => mediasoup.createWorker({ rtcMinPort: 'x' }), TypeError, /rtcMinPort/],
	['worker appData', () => mediasoup.createWorker({ appData: 'x' }), TypeError, /appData/],
	['router codec unknown', () => ctx.worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/foo', clockRate: 8000 }] }), UnsupportedError, /audio\/foo/],
	['router codec missing clockRate', () => ctx.worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus' }] }), TypeError, /clockRate/],
	['router mediaCodecs type', () => ctx.worker.createRouter({ mediaCodecs: 'opus' }), TypeError, /mediaCodecs/],
	['router codec kind', () => ctx.worker.createRouter({ mediaCodecs: [{ kind: 'text', mimeType: 'audio/opus', clockRate: 48000 }] }), TypeError, /kind/],
	['router appData', () => ctx.worker.createRouter({ mediaCodecs: h.mediaCodecs, appData: [] }), TypeError, /appData/],
	['transport without listenInfo', () => ctx.router.createPlainTransport({}), TypeError, /listenInfo/],
	['transport options type', () => ctx.router.createPlainTransport('127.0.0.1'), TypeError, /options/],
	['transport bad IP', () => ctx.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: 'not-an-ip' } }), TypeError, /listenInfo\.ip/],
	['transport port range', () => ctx.router.createPlainTransport({ listenInfo: { ...h.listenInfo, portRange: { min: 3000, max: 2000 } } }), TypeError, /portRange/],
	['transport port type', () => ctx.router.createPlainTransport({ listenInfo: { ...h.listenInfo, port: 'abc' } }), TypeError, /listenInfo\.port/],
	['transport port too big', () => ctx.router.createPlainTransport({ listenInfo: { ...h.listenInfo, port: 70000 } }), TypeError, /listenInfo\.port/],
	['transport tcp', () => ctx.router.createPlainTransport({ listenInfo: { ...h.listenInfo, protocol: 'tcp' } }), TypeError, /protocol/],
	['transport SRTP suite', () => ctx.router.createPlainTransport({ listenInfo: h.listenInfo, enableSrtp: true, srtpCryptoSuite: 'ROT13' }), TypeError, /srtpCryptoSuite/],
	['SRTP connect with the wrong suite', async () => {
		const t = await ctx.router.createPlainTransport({ listenInfo: h.listenInfo, enableSrtp: true });
		assert.equal(t.srtpParameters.cryptoSuite, 'AES_CM_128_HMAC_SHA1_80');
		assert.equal(Buffer.from(t.srtpParameters.keyBase64, 'base64').length, 30);
		return t.connect({ ip: '127.0.0.1', port: 1234, srtpParameters: { cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: Buffer.alloc(44).toString('base64') } });
	}, TypeError, /cryptoSuite/],
	['SRTP connect without srtpParameters', async () => (await ctx.router.createPlainTransport({ listenInfo: h.listenInfo, enableSrtp: true })).connect({ ip: '127.0.0.1', port: 1234 }), TypeError, /srtpParameters/],
	['SRTP connect bad key', async () => (await ctx.router.createPlainTransport({ listenInfo: h.listenInfo, enableSrtp: true })).connect({ ip: '127.0.0.1', port: 1234, srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: 'AAAA' } }), TypeError, /keyBase64/],
	['connect bad IP', () => ctx.transport.connect({ ip: 'bogus', port: 1234 }), TypeError, /ip/],
	['connect without port', () => ctx.transport.connect({ ip: '127.0.0.1' }), TypeError, /port/],
	['produce without kind', () => ctx.transport.produce({ rtpParameters: h.opusParameters(1) }), TypeError, /kind/],
	['produce bad kind', () => ctx.transport.produce({ kind: 'text', rtpParameters: h.opusParameters(1) }), TypeError, /kind/],
	['produce without rtpParameters', () => ctx.transport.produce({ kind: 'audio' }), TypeError, /rtpParameters/],
	['produce payloadType type', () => ctx.transport.produce({ kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 'x', clockRate: 48000 }] } }), TypeError, /codecs\[0\]\.payloadType/],
	['produce unknown codec', () => ctx.transport.produce({ kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/ISAC', payloadType: 103, clockRate: 16000 }], encodings: [{ ssrc: 1 }] } }), UnsupportedError, /ISAC/],
	['produce no codecs', () => ctx.transport.produce({ kind: 'audio', rtpParameters: { codecs: [], encodings: [{ ssrc: 3 }] } }), TypeError, /codecs/],
	['produce appData', () => ctx.transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(4), appData: 5 }), TypeError, /appData/],
	['produce taken SSRC', () => ctx.transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(777) }), InvalidStateError, /ssrc/],
	['consume without producerId', () => ctx.transport.consume({ rtpCapabilities: ctx.router.rtpCapabilities }), TypeError, /producerId/],
	['consume producerId type', () => ctx.transport.consume({ producerId: 5, rtpCapabilities: ctx.router.rtpCapabilities }), TypeError, /producerId/],
	['consume unknown producer', () => ctx.transport.consume({ producerId: 'nope', rtpCapabilities: ctx.router.rtpCapabilities }), NotFoundError, /"nope"/],
	['consume without rtpCapabilities', () => ctx.transport.consume({ producerId: ctx.producer.id }), TypeError, /rtpCapabilities/],
	['consume malformed rtpCapabilities', () => ctx.transport.consume({ producerId: ctx.producer.id, rtpCapabilities: { codecs: 'x' } }), TypeError, /rtpCapabilities\.codecs/],
	['consume incompatible rtpCapabilities', () => ctx.transport.consume({ producerId: ctx.producer.id, rtpCapabilities: vp8Only }), UnsupportedError, /rtpCapabilities/],
	['consumer priority type', () => ctx.consumer.setPriority('high'), TypeError, /priority/],
	['consumer priority 0', () => ctx.consumer.setPriority(0), TypeError, /priority/],
	['consumer priority 300', () => ctx.consumer.setPriority(300), TypeError, /priority/],
	['consumer layers without spatialLayer', () => ctx.consumer.setPreferredLayers({ temporalLayer: 1 }), TypeError, /spatialLayer/],
	['worker updateSettings', () => ctx.worker.updateSettings({ logLevel: 'chatty' }), TypeError, /logLevel/],
	['SCTP streams', () => ctx.router.createPlainTransport({ listenInfo: h.listenInfo, enableSctp: true, numSctpStreams: { OS: 0, MIS: 8 } }), TypeError, /numSctpStreams/],
	['pipeToRouter to itself', () => ctx.router.pipeToRouter({ producerId: ctx.producer.id, router: ctx.router }), TypeError, /Router/],
];

for (const [what, call, ErrorClass, fragment] of cases) {
	test(`${what}: ${ErrorClass.name} naming ${fragment}`, async () => {
		await assert.rejects(call, (error) => {
			assert.equal(error.constructor, ErrorClass, `${what}: got ${error.constructor.name}: ${error.message}`);
			assert.match(error.message, fragment);
			return true;
		});
	});
}

test('appData setters accept objects only', () => {
	ctx.transport.appData = { room: 'a' };
	assert.deepEqual(ctx.transport.appData, { room: 'a' });
	ctx.transport.appData.peer = 'b';
	assert.equal(ctx.transport.appData.peer, 'b');
	for (const bad of ['x', 5, null, []]) {
		assert.throws(() => {
			ctx.producer.appData = bad;
		}, TypeError);
	}
});

test('canConsume() returns false rather than throwing', () => {
	const caps = ctx.router.rtpCapabilities;
	assert.equal(ctx.router.canConsume({ producerId: ctx.producer.id, rtpCapabilities: caps }), true);
	assert.equal(ctx.router.canConsume({ producerId: 'nope', rtpCapabilities: caps }), false);
	assert.equal(ctx.router.canConsume({ producerId: ctx.producer.id, rtpCapabilities: vp8Only }), false);
	assert.equal(ctx.router.canConsume({ producerId: ctx.producer.id, rtpCapabilities: 'garbage' }), false);
	assert.equal(ctx.router.canConsume({ producerId: ctx.producer.id }), false);
	assert.equal(ctx.router.canConsume(), false);
});

test('calls on closed objects reject with InvalidStateError', async () => {
	const router = await ctx.worker.createRouter({ mediaCodecs: h.mediaCodecs });
	const transport = await router.createPlainTransport({ listenInfo: h.listenInfo });
	const producer = await transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(888) });
	const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
	consumer.close();
	await assert.rejects(consumer.pause(), InvalidStateError);
	await assert.rejects(consumer.getStats(), /Consumer closed/);
	producer.close();
	await assert.rejects(producer.pause(), InvalidStateError);
	await assert.rejects(producer.dump(), /Producer closed/);
	transport.close();
	await assert.rejects(transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(889) }), (e) => e instanceof InvalidStateError && /Transport closed/.test(e.message));
	await assert.rejects(transport.connect({ ip: '127.0.0.1', port: 9 }), InvalidStateError);
	router.close();
	await assert.rejects(router.createPlainTransport({ listenInfo: h.listenInfo }), (e) => e instanceof InvalidStateError && /Router closed/.test(e.message));
	await assert.rejects(router.dump(), InvalidStateError);
});

test('calls after the worker closed reject with WorkerClosedError', async () => {
	const worker = await mediasoup.createWorker();
	const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
	const transport = await router.createPlainTransport({ listenInfo: h.listenInfo });
	const producer = await transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(999) });
	worker.close();
	const checks = [
		worker.createRouter({ mediaCodecs: h.mediaCodecs }),
		worker.dump(),
		worker.getResourceUsage(),
		router.createPlainTransport({ listenInfo: h.listenInfo }),
		transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(1000) }),
		transport.getStats(),
		producer.getStats(),
		producer.resume(),
	];
	for (const p of checks) {
		await assert.rejects(p, (e) => {
			assert.ok(e instanceof WorkerClosedError, `${e.constructor.name}: ${e.message}`);
			assert.ok(e instanceof InvalidStateError, 'WorkerClosedError is an InvalidStateError');
			assert.match(e.message, /Worker closed/);
			return true;
		});
	}
	assert.equal(router.canConsume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities }), false);
});
