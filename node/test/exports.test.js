'use strict';

// The top-level module has mediasoup's exports, and its error classes work with instanceof.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');

test('top-level exports', () => {
	assert.match(mediasoup.version, /^\d+\.\d+\.\d+/);
	assert.equal(typeof mediasoup.createWorker, 'function');
	assert.equal(typeof mediasoup.observer.on, 'function');
	assert.equal(typeof mediasoup.workerBin, 'string');
	assert.equal(typeof mediasoup.setLogEventListeners, 'function');
	for (const name of ['Worker', 'Router', 'Transport', 'PlainTransport', 'WebRtcTransport', 'WebRtcServer', 'Producer', 'Consumer', 'UnsupportedError', 'InvalidStateError']) {
		assert.equal(typeof mediasoup.types[name], 'function', `types.${name}`);
	}
});

test('error classes', () => {
	const { UnsupportedError, InvalidStateError, NotFoundError, WorkerClosedError } = mediasoup.errors;
	const e = new WorkerClosedError('gone');
	assert.ok(e instanceof WorkerClosedError);
	assert.ok(e instanceof InvalidStateError);
	assert.ok(e instanceof Error);
	assert.equal(e.name, 'WorkerClosedError');
	assert.equal(new UnsupportedError('x').name, 'UnsupportedError');
	assert.ok(new NotFoundError('x') instanceof Error);
	assert.equal(mediasoup.types.UnsupportedError, UnsupportedError);
});

test('getSupportedRtpCapabilities() returns a fresh copy each time', () => {
	const caps = mediasoup.getSupportedRtpCapabilities();
	assert.ok(caps.codecs.some((c) => c.mimeType === 'audio/opus'));
	assert.ok(caps.headerExtensions.length > 0);
	caps.codecs.length = 0;
	assert.ok(mediasoup.getSupportedRtpCapabilities().codecs.length > 0);
});

test('parseScalabilityMode()', () => {
	assert.deepEqual(mediasoup.parseScalabilityMode('L3T3_KEY'), { spatialLayers: 3, temporalLayers: 3, ksvc: true });
	assert.deepEqual(mediasoup.parseScalabilityMode('S2T1'), { spatialLayers: 2, temporalLayers: 1, ksvc: false });
	assert.deepEqual(mediasoup.parseScalabilityMode('foo'), { spatialLayers: 1, temporalLayers: 1, ksvc: false });
	assert.deepEqual(mediasoup.parseScalabilityMode(), { spatialLayers: 1, temporalLayers: 1, ksvc: false });
});

test('createWorker() options: appData kept, unknown settings ignored', async () => {
	const appData = { name: 'w1' };
	const worker = await mediasoup.createWorker({ logLevel: 'warn', logTags: ['info', 'rtp'], libwebrtcFieldTrials: 'X/Enabled/', disableLiburing: true, someFutureOption: 1, appData });
	try {
		assert.equal(worker.appData, appData);
		assert.equal(worker.closed, false);
		assert.equal(worker.died, false);
		const router = await worker.createRouter({ mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }] });
		assert.deepEqual(router.appData, {});
		router.appData.room = 'r';
		assert.equal(router.appData.room, 'r');
	} finally {
		worker.close();
	}
});

test('createRouter() without awaiting: rtpCapabilities are there once it resolves', async () => {
	const worker = await mediasoup.createWorker();
	try {
		const pending = worker.createRouter({ mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }] });
		const router = await pending;
		const vp8 = router.rtpCapabilities.codecs.find((c) => c.mimeType === 'video/VP8');
		assert.ok(vp8.preferredPayloadType >= 96);
		assert.ok(router.rtpCapabilities.codecs.some((c) => c.mimeType === 'video/rtx'));
	} finally {
		worker.close();
	}
});
