'use strict';

// A comedia plain transport learns its remote from the first RTP and RTCP packets and reports
// them with 'tuple' / 'rtcptuple' (on the transport and its observer).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

test('comedia without rtcp-mux emits tuple and rtcptuple', async () => {
	const worker = await mediasoup.createWorker();
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const transport = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true, rtcpMux: false });
		await transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(1001) });
		assert.equal(transport.tuple.remotePort, undefined, 'remote unknown before the first packet');
		assert.ok(transport.rtcpTuple, 'a separate RTCP tuple without rtcp-mux');
		assert.notEqual(transport.rtcpTuple.localPort, transport.tuple.localPort);

		const rtpSender = await h.udpSocket();
		const rtcpSender = await h.udpSocket();
		const tuple = h.nextEvent(transport, 'tuple');
		const observedTuple = h.nextEvent(transport.observer, 'tuple');
		const rtcpTuple = h.nextEvent(transport, 'rtcptuple');
		const observedRtcpTuple = h.nextEvent(transport.observer, 'rtcptuple');

		rtpSender.send(h.rtpPacket({ payloadType: 111, sequenceNumber: 1, timestamp: 0, ssrc: 1001, payload: Buffer.alloc(10) }), transport.tuple.localPort, '127.0.0.1');
		// An empty receiver report (RFC 3550 §6.4.2) from the sender's SSRC.
		const rr = Buffer.from([0x80, 201, 0x00, 0x01, 0, 0, 0x03, 0xe9]);
		rtcpSender.send(rr, transport.rtcpTuple.localPort, '127.0.0.1');

		const [[t], [ot], [rt], [ort]] = await Promise.all([tuple, observedTuple, rtcpTuple, observedRtcpTuple]);
		assert.equal(t.remotePort, rtpSender.address().port);
		assert.equal(t.remoteIp, '127.0.0.1');
		assert.deepEqual(ot, t);
		assert.equal(rt.remotePort, rtcpSender.address().port);
		assert.deepEqual(ort, rt);
		assert.equal(transport.tuple.remotePort, rtpSender.address().port);
		assert.equal(transport.rtcpTuple.remotePort, rtcpSender.address().port);
		rtpSender.close();
		rtcpSender.close();
	} finally {
		worker.close();
	}
});
