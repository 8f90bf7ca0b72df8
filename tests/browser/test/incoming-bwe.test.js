'use strict';

// Incoming bandwidth with a real Chromium publishing 3-layer simulcast: the server's receive-side
// estimate (availableIncomingBitrate, from abs-send-time) and setMaxIncomingBitrate(), which the
// server announces as REMB. Run twice: with transport-cc (Chrome estimates by itself and takes the
// REMB as a cap) and REMB-only (the page negotiates without transport-cc, so our REMB is Chrome's
// whole view of the path, both ways).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Session, sleep } = require('../lib/harness');

const CAP = 250_000;

for (const bwe of ['transport-cc', 'remb']) {
	test(`incoming bandwidth (${bwe}): Chrome ramps up, availableIncomingBitrate follows, setMaxIncomingBitrate(${CAP}) caps what it sends`, { timeout: 120_000 }, async (t) => {
		const s = new Session();
		try {
			await s.start();
			const alice = await s.join('Alice', { bwe });
			const timeline = [];
			const t0 = Date.now();
			let prev = null;
			// What Alice sends (her outbound-rtp bytes, summed over the layers) and what the server
			// sees on her send transport.
			const sample = async () => {
				const video = (await alice.report()).producers.find((p) => p.kind === 'video');
				const outbound = video ? video.outbound : [];
				const bytes = outbound.reduce((n, o) => n + (o.bytesSent || 0), 0);
				const at = Date.now();
				const sendKbps = prev && at > prev.at ? Math.round(((bytes - prev.bytes) * 8) / (at - prev.at)) : 0;
				prev = { bytes, at };
				const state = await s.server.debugState();
				const peer = (state.rooms || []).flatMap((r) => r.peers).find((p) => p.name === 'Alice') || { transports: [], producers: [] };
				const send = peer.transports.map((tr) => (Array.isArray(tr.stats) ? tr.stats[0] : {})).find((st) => st && st.rtpBytesReceived > 0) || {};
				const producer = peer.producers.find((p) => p.kind === 'video');
				const now = {
					sendKbps,
					layers: outbound.filter((o) => o.frameWidth).length,
					available: send.availableIncomingBitrate,
					max: send.maxIncomingBitrate,
					recvKbps: send.rtpRecvBitrate ? Math.round(send.rtpRecvBitrate / 1000) : 0,
					producerType: producer && producer.type,
				};
				timeline.push(`+${((Date.now() - t0) / 1000).toFixed(1)}s ${JSON.stringify(now)}`);
				return now;
			};
			const context = () => `timeline:\n${timeline.slice(-40).join('\n')}`;
			const until = (what, pred, timeout) => s.waitFor(what, async () => pred(await sample()), { timeout, interval: 1000, context });

			// Free link: Chrome climbs past its lowest layer, and the server measures what it can take.
			let ramped;
			await until('Alice sends more than one layer, and the server reports availableIncomingBitrate', (x) => {
				ramped = x;
				return x.layers >= 2 && x.sendKbps > 400 && x.available > 300_000;
			}, 45_000);

			const res = await fetch(`${s.server.url}/debug/max-incoming-bitrate?name=Alice&bps=${CAP}`);
			assert.equal(res.status, 200, await res.text());
			timeline.push(`+${((Date.now() - t0) / 1000).toFixed(1)}s setMaxIncomingBitrate(${CAP})`);
			// Chrome follows the REMB: it sends within the cap (allowing for RTCP and overshoot)…
			let capped;
			await until(`Alice's sending drops under ${CAP} bit/s (+30%)`, (x) => {
				capped = x;
				return x.sendKbps > 0 && x.sendKbps < (CAP * 1.3) / 1000 && x.max === CAP && x.available <= CAP;
			}, 30_000);
			// …and keeps sending video there (the lowest layer), not nothing.
			await sleep(3000);
			const later = await sample();
			assert.ok(later.sendKbps > 30 && later.sendKbps < (CAP * 1.3) / 1000, `after the cap: ${JSON.stringify(later)}\n${context()}`);
			t.diagnostic(`before the cap ${JSON.stringify(ramped)}; capped ${JSON.stringify(capped)}`);
		} finally {
			await s.close();
		}
	});
}
