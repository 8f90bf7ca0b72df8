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

// A plain transport sending to a port nobody listens on: the ICMP port-unreachable errors reach
// the transport as a 'socketerror' event (not in mediasoup) and `socketErrors` in its stats,
// instead of a silent stall; the other consumer of the producer loses nothing.
test('socket errors: ICMP port unreachable for a remote → socketerror event and stats', async () => {
	const worker = await mediasoup.createWorker();
	const sender = await h.udpSocket();
	const sink = await h.udpSocket();
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const input = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
		const producer = await input.produce({ kind: 'audio', rtpParameters: h.opusParameters(777) });
		const deadSocket = await h.udpSocket();
		const deadPort = deadSocket.address().port;
		deadSocket.close();
		const dead = await h.plainConsumerTo(router, producer, deadPort);
		const live = await h.plainConsumerTo(router, producer, sink.address().port);
		const received = h.collectRtp(sink);
		let liveErrors = 0;
		live.on('socketerror', () => liveErrors++);
		const event = h.nextEvent(dead, 'socketerror');
		for (let seq = 0; seq < 100; seq++) {
			sender.send(h.rtpPacket({ payloadType: 111, sequenceNumber: seq, timestamp: seq * 960, ssrc: 777, payload: Buffer.from('opus') }), input.tuple.localPort, '127.0.0.1');
			await h.sleep(2);
		}
		const [info] = await event;
		assert.equal(info.error, 'ECONNREFUSED');
		assert.equal(info.origin, 'icmp');
		assert.equal(info.remoteIp, '127.0.0.1');
		assert.equal(info.remotePort, deadPort);
		assert.equal(info.protocol, 'udp');
		assert.equal(info.icmpType, 3);
		assert.equal(info.icmpCode, 3);
		assert.match(info.message, /port unreachable/);
		assert.ok(info.count >= 1);
		assert.equal(info.targetId, undefined);
		await h.waitUntil(() => received.length === 100, 'the live consumer gets all 100 packets');
		const [stats] = await dead.getStats();
		assert.ok(stats.socketErrors >= 1, JSON.stringify(stats));
		assert.equal((await live.getStats())[0].socketErrors, 0);
		assert.equal(liveErrors, 0);
	} finally {
		sender.close();
		sink.close();
		worker.close();
	}
});
