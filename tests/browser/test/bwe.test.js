'use strict';

// Bandwidth estimation and layer allocation with a real Chromium: Bob watches Alice's 3-layer
// simulcast through the seeded UDP relay (tests/tools/impair-relay.js). With the link free he gets
// the top layer; when the relay limits what reaches Bob to 400 kbit/s, the SFU's send-side
// estimate (from Bob's transport-cc feedback) falls and the consumer drops to the lowest layer,
// which keeps decoding; when the limit lifts, probing finds the bandwidth again and Bob returns to
// the top layer.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Session, RELAY_IP, relayAndPort, inbound, sleep } = require('../lib/harness');

const LIMIT_KBPS = 400;

test(`bandwidth: a ${LIMIT_KBPS} kbit/s bottleneck drops the consumer to the lowest layer, lifting it brings the top layer back`, { timeout: 150_000 }, async (t) => {
	const { port, relay } = await relayAndPort({ seed: 7, loss: 0, jitterMs: 0 });
	const s = new Session();
	try {
		await s.start({ LIBSFU_WEBRTC_SERVER: '1', WEBRTC_SERVER_PORT: String(port) }, { announcedAddress: RELAY_IP });
		const alice = await s.join('Alice');
		const bob = await s.join('Bob', { nocam: '1' });
		const timeline = [];
		const t0 = Date.now();
		const sample = async () => {
			const v = inbound(await bob.report(), 'Alice', 'video');
			const state = await s.server.debugState();
			const peers = (state.rooms || []).flatMap((r) => r.peers);
			const bobPeer = peers.find((p) => p.name === 'Bob') || { consumers: [], transports: [] };
			const consumer = bobPeer.consumers.find((c) => c.kind === 'video') || {};
			const recv = bobPeer.transports.map((tr) => (Array.isArray(tr.stats) ? tr.stats[0] : {})).find((st) => st && st.rtpBytesSent > 0) || {};
			const now = {
				width: v.frameWidth || 0,
				decoded: v.framesDecoded || 0,
				spatial: consumer.currentLayers ? consumer.currentLayers.spatialLayer : undefined,
				estimate: recv.availableOutgoingBitrate,
				sendBitrate: recv.sendBitrate,
			};
			timeline.push(`+${((Date.now() - t0) / 1000).toFixed(1)}s ${JSON.stringify(now)} relay=${JSON.stringify(relay.getParams().rateKbps)}`);
			return now;
		};
		const context = () => `timeline:\n${timeline.slice(-40).join('\n')}\nrelay stats ${JSON.stringify(relay.stats)}`;
		const until = (what, pred, timeout = 20_000) => s.waitFor(what, async () => pred(await sample()), { timeout, context });

		let top = 0;
		await until('Bob decodes Alice\'s top layer on the free link', (x) => {
			top = Math.max(top, x.width);
			return x.spatial === 2 && x.width >= 640;
		}, 40_000);

		relay.setParams({ rateKbps: { up: 0, down: LIMIT_KBPS } });
		timeline.push(`+${((Date.now() - t0) / 1000).toFixed(1)}s limit ${LIMIT_KBPS} kbit/s towards Bob`);
		let low;
		await until(`the estimate falls under ${LIMIT_KBPS * 1.5} kbit/s and Bob gets the lowest layer`, (x) => {
			low = x;
			return x.spatial === 0 && x.estimate > 0 && x.estimate < LIMIT_KBPS * 1500 && x.width > 0 && x.width <= top / 4;
		}, 30_000);
		// …and keeps decoding on it.
		await sleep(3000);
		const later = await sample();
		assert.ok(later.decoded > low.decoded + 20, `Bob stalled on the lowest layer: ${low.decoded} → ${later.decoded}\n${context()}`);

		relay.setParams({ rateKbps: { up: 0, down: 0 } });
		timeline.push(`+${((Date.now() - t0) / 1000).toFixed(1)}s limit lifted`);
		await until('Bob returns to the top layer after the limit lifts', (x) => x.spatial === 2 && x.width === top, 30_000);
		t.diagnostic(timeline.filter((l) => /limit|spatial":[02]/.test(l)).slice(-12).join('\n'));
	} finally {
		await s.close();
		await relay.close();
	}
});
