'use strict';

// A consumer of a single video stream starts at a key frame, and after a pause resumes at one, as
// mediasoup's SimpleConsumer does: what comes before it would not decode. (Audio, and codecs whose
// key frames cannot be seen, start at once.)

const { test } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

const SSRC = 5150;

// A VP8 packet, one per frame: descriptor S=1 PID=0, then a frame tag whose P bit says key (0) or
// delta (1); the third byte carries the frame number so the test can tell which arrived.
function vp8(seq, key) {
	return h.rtpPacket({ payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc: SSRC, marker: true, payload: Buffer.from([0x10, key ? 0x00 : 0x01, seq & 0xff, 0, 0x9d, 0x01, 0x2a]) });
}

test('a single-stream video consumer starts at a key frame and resumes at one', async () => {
	const worker = await mediasoup.createWorker();
	const sender = await h.udpSocket();
	const receiver = await h.udpSocket();
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const send = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
		const recv = await router.createPlainTransport({ listenInfo: h.listenInfo });
		await recv.connect({ ip: '127.0.0.1', port: receiver.address().port });
		const producer = await send.produce({
			kind: 'video',
			rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }], encodings: [{ ssrc: SSRC }] },
		});
		const consumer = await recv.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
		assert.equal(consumer.type, 'simple');
		const received = h.collectRtp(receiver);
		const port = send.tuple.localPort;
		const frame = (p) => p.payload[2];
		const sendFrames = async (from, count, keyAt) => {
			for (let s = from; s < from + count; s++) {
				sender.send(vp8(s, s === keyAt), port, '127.0.0.1');
				await h.sleep(5);
			}
		};
		// Delta frames first: nothing is forwarded until the key frame (frame 10).
		await sendFrames(0, 15, 10);
		await h.waitUntil(() => received.length >= 5, () => `received ${received.length}`);
		assert.equal(frame(received[0]), 10, `the first forwarded frame is the key frame, got ${received.map(frame)}`);
		assert.deepEqual(received.map(frame), [10, 11, 12, 13, 14]);

		// Paused and resumed: deltas are held back until the next key frame (frame 25).
		await consumer.pause();
		await sendFrames(15, 3, -1);
		await consumer.resume();
		const before = received.length;
		await sendFrames(18, 10, 25);
		await h.waitUntil(() => received.length >= before + 3, () => `received ${received.length - before} after resume`);
		assert.deepEqual(received.slice(before).map(frame), [25, 26, 27]);
		// Sequence numbers stay continuous for the receiver across the pause.
		const seqs = received.map((p) => p.sequenceNumber);
		for (let i = 1; i < seqs.length; i++) assert.equal((seqs[i] - seqs[i - 1] + 65536) % 65536, 1, `seq gap at ${i}: ${seqs}`);
	} finally {
		sender.close();
		receiver.close();
		worker.close();
	}
});
