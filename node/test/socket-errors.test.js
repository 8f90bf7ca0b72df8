'use strict';

// Sockets that cannot be had fail the call with a clear Error (mediasoup's plain Error class for
// system errors) naming the listen info, the address and the OS reason, never a silent stall; the
// worker keeps serving afterwards.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const mediasoup = require('..');
const h = require('./helpers');

test('socket errors: port in use, address not on this host, port range exhausted', async () => {
	const worker = await mediasoup.createWorker();
	const taken = await h.udpSocket();
	const tcpTaken = net.createServer().listen(0, '127.0.0.1');
	await new Promise((resolve) => tcpTaken.once('listening', resolve));
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const port = taken.address().port;
		const notTypeError = (e) => e instanceof Error && !(e instanceof TypeError) && !(e instanceof mediasoup.errors.InvalidStateError);
		await assert.rejects(router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1', port } }), (e) => notTypeError(e) && /cannot bind listenInfo \[protocol:udp, ip:'127\.0\.0\.1', port:\d+\]: .*in use/i.test(e.message));
		await assert.rejects(
			router.createWebRtcTransport({ listenInfos: [{ protocol: 'tcp', ip: '127.0.0.1', port: tcpTaken.address().port }] }),
			(e) => notTypeError(e) && /in use/i.test(e.message) && /tcp/.test(e.message),
		);
		// 192.0.2.1 (TEST-NET-1) is not an address of this host.
		await assert.rejects(router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '192.0.2.1' } }), (e) => notTypeError(e) && /192\.0\.2\.1/.test(e.message) && /assign|not available/i.test(e.message));
		await assert.rejects(
			router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1', portRange: { min: port, max: port } } }),
			(e) => notTypeError(e) && /no more available ports.*range:\d+-\d+/.test(e.message),
		);
		await assert.rejects(mediasoup.createWorker({ rtcMinPort: port, rtcMaxPort: port }).then((w) => w.createRouter({ mediaCodecs: h.mediaCodecs }).then((r) => r.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' } })).finally(() => w.close())), (e) => /no more available ports/.test(e.message));
		// The worker still serves.
		const ok = await router.createPlainTransport({ listenInfo: h.listenInfo });
		assert.ok(ok.tuple.localPort > 0);
	} finally {
		taken.close();
		tcpTaken.close();
		worker.close();
	}
});
