'use strict';

// Video through libsfu over a lossy, jittery network: both browsers reach the SFU through the
// seeded UDP impairment relay (tests/tools/impair-relay.js), 5 % loss and 0–30 ms jitter each way.
//
//   Alice (publishes) ──► relay 127.0.0.2:P ──► WebRtcServer 127.0.0.1:P ──► relay ──► Bob (watches)
//
// The room server's WebRtcServer listens on 127.0.0.1:P and announces 127.0.0.2:P (the relay), so
// every packet of both pages crosses the relay. NACK/RTX must repair the losses on both legs:
// video keeps decoding without a freeze longer than a second, the server's producer sends NACKs and
// gets RTX, and its consumer gets NACKs from Bob and answers them with RTX.
//
// Run: cd tests/browser && node --test test/loss.test.js   (E2E_VERBOSE=1 for the logs)
// Knobs: LOSS_RATE (0.05), LOSS_JITTER_MS (30), LOSS_REORDER=0 (jitter without reordering),
// LOSS_SEED, LOSS_SPATIAL (0 | 1 | 2 | auto, see below). A failure writes its evidence (Bob's
// 100 ms samples, a server-side timeline, every getStats()) to tests/out/.

const { test } = require('node:test');
const { Session, RELAY_IP, SERVER_IP, relayAndPort, inbound, sleep } = require('../lib/harness');

const IMPAIRMENT = {
	// "0.05" both ways, or "UP/DOWN" (e.g. 0.05/0: only the Alice → SFU leg is lossy)
	loss: (([up, down = up]) => ({ up: Number(up), down: Number(down) }))(String(process.env.LOSS_RATE || 0.05).split('/')),
	delayMs: 0,
	jitterMs: Number(process.env.LOSS_JITTER_MS || 30),
	reorder: process.env.LOSS_REORDER !== '0',
};
const SEED = Number(process.env.LOSS_SEED || 20240601);
// Bob's preferred spatial layer: 0, the 320x180 layer of Alice's 320/640/1280 simulcast. Pinned
// because under this loss and jitter Chrome's bandwidth estimate turns Alice's upper layers on and
// off, and every switch of the consumer's layer costs a key frame (and, while the SFU waits ~1.5 s
// to notice a layer went away, a freeze): simulcast behaviour, not loss repair. Chrome never
// suspends the lowest layer. LOSS_SPATIAL=auto leaves the choice to the SFU; LOSS_SPATIAL=1 pins 640.
const SPATIAL = process.env.LOSS_SPATIAL === 'auto' ? null : Number(process.env.LOSS_SPATIAL || 0);
const pct = (x) => `${Math.round(x * 1000) / 10}`;
const TITLE =
	`${IMPAIRMENT.loss.up === IMPAIRMENT.loss.down ? pct(IMPAIRMENT.loss.up) : `${pct(IMPAIRMENT.loss.up)}/${pct(IMPAIRMENT.loss.down)}`} % loss + ` +
	`${IMPAIRMENT.jitterMs} ms jitter through a relay: NACK/RTX repairs both legs, no freeze > 1 s`;
const MEASURE_MS = 15_000;
const SAMPLE_MS = 100;
const MAX_GAP_MS = 1000;

/**
 * In Bob's page: samples Alice's video inbound-rtp every SAMPLE_MS for MEASURE_MS (in the page,
 * so the samples are evenly spaced) and returns them.
 */
function sampleInPage(page, { durationMs, intervalMs }) {
	return page.evaluate(
		async ({ durationMs, intervalMs }) => {
			const entry = [...window.room.state.consumers.values()].find((c) => c.consumer.kind === 'video');
			if (!entry) return { error: 'no video consumer in the page' };
			const samples = [];
			const t0 = performance.now();
			while (performance.now() - t0 < durationMs) {
				const started = performance.now();
				let s = {};
				for (const x of (await entry.consumer.getStats()).values()) if (x.type === 'inbound-rtp') s = x;
				samples.push({
					t: Math.round(started - t0),
					framesDecoded: s.framesDecoded || 0,
					framesReceived: s.framesReceived,
					framesDropped: s.framesDropped,
					keyFramesDecoded: s.keyFramesDecoded,
					frameWidth: s.frameWidth,
					packetsReceived: s.packetsReceived,
					packetsLost: s.packetsLost,
					nackCount: s.nackCount,
					pliCount: s.pliCount,
					retransmittedPacketsReceived: s.retransmittedPacketsReceived,
					freezeCount: s.freezeCount,
					totalFreezesDuration: s.totalFreezesDuration,
					pauseCount: s.pauseCount,
				});
				const wait = intervalMs - (performance.now() - started);
				if (wait > 0) await new Promise((r) => setTimeout(r, wait));
			}
			return { samples };
		},
		{ durationMs, intervalMs },
	);
}

/** The longest time between two increases of framesDecoded (and from the last one to the end). */
function longestGap(samples) {
	let max = 0;
	let at = 0;
	let lastRise = samples[0].t;
	for (let i = 1; i < samples.length; i++) {
		if (samples[i].framesDecoded > samples[i - 1].framesDecoded) {
			const gap = samples[i].t - lastRise;
			if (gap > max) [max, at] = [gap, lastRise];
			lastRise = samples[i].t;
		}
	}
	const tail = samples[samples.length - 1].t - lastRise;
	if (tail > max) [max, at] = [tail, lastRise];
	return { max, at };
}

/**
 * Sums the numeric `keys` over the entries of `type` of a getStats() array: a simulcast producer has
 * one inbound-rtp entry per rid; a consumer has its outbound-rtp entry followed by its producer's.
 */
function sum(stats, type, keys) {
	const entries = (Array.isArray(stats) ? stats : []).filter((s) => !type || s.type === type);
	const out = {};
	for (const k of keys) out[k] = entries.reduce((n, s) => n + (Number(s[k]) || 0), 0);
	return out;
}

test(TITLE, { timeout: 150_000 }, async (t) => {
	const s = new Session();
	const { port, relay } = await relayAndPort({ seed: SEED, ...IMPAIRMENT });
	const relayInfo = () => `relay ${RELAY_IP}:${port} -> ${SERVER_IP}:${port} seed ${SEED} ${JSON.stringify(relay.getParams())}\nrelay stats ${JSON.stringify(relay.stats)}`;
	let measuring = false;
	let watching = Promise.resolve();
	try {
		await s.start({ LIBSFU_WEBRTC_SERVER: '1', WEBRTC_SERVER_PORT: String(port) }, { announcedAddress: RELAY_IP });
		const alice = await s.join('Alice');
		const bob = await s.join('Bob', { nocam: '1' });

		// Both pages' selected pairs go to the relay, not to the server directly.
		const viaRelay = `udp ${RELAY_IP}:${port} `;
		await s.waitFor(
			`Alice and Bob reach the SFU through the relay (${viaRelay.trim()})`,
			async () => {
				const a = (await alice.report()).transports.send;
				const b = (await bob.report()).transports.recv;
				const ok = (tr) => tr && tr.selectedPair && (tr.selectedPair.remote || '').startsWith(viaRelay);
				return ok(a) && ok(b);
			},
			{ timeout: 20_000, context: relayInfo },
		);
		await s.waitFor(
			'Bob decodes Alice\'s video',
			async () => inbound(await bob.report(), 'Alice', 'video').framesDecoded > 0,
			{ timeout: 20_000, context: relayInfo },
		);

		// Meanwhile, a timeline of the server's side, for the evidence.
		const timeline = [];
		measuring = true;
		const t0 = Date.now();
		watching = (async () => {
			while (measuring) {
				const st = await s.server.debugState();
				const ps = (st.rooms || []).flatMap((r) => r.peers);
				const p = ps.flatMap((x) => x.producers).find((x) => x.kind === 'video') || {};
				const c = ps.flatMap((x) => x.consumers).find((x) => x.kind === 'video') || {};
				const out = (Array.isArray(c.stats) ? c.stats : []).find((x) => x.type === 'outbound-rtp') || {};
				const rids = (Array.isArray(p.stats) ? p.stats : []).map((x) => `${x.rid}:${x.packetCount}/${Math.round((x.bitrate || 0) / 1000)}k/pli${x.pliCount}`);
				timeline.push(
					`+${((Date.now() - t0) / 1000).toFixed(1)}s consumer layers=${JSON.stringify(c.currentLayers)} pkts=${out.packetCount} nack=${out.nackCount}/${out.nackPacketCount} rtx=${out.packetsRetransmitted} pli=${out.pliCount} | producer ${rids.join(' ')}`,
				);
				await sleep(500);
			}
		})();
		if (SPATIAL !== null) {
			await bob.page.evaluate((spatial) => window.room.setPreferredLayers(spatial, 2), SPATIAL);
			await s.waitFor(
				`Bob decodes Alice's spatial layer ${SPATIAL}`,
				async () => {
					const st = await s.server.debugState();
					const c = (st.rooms || []).flatMap((r) => r.peers).flatMap((p) => p.consumers).find((x) => x.kind === 'video');
					const v = inbound(await bob.report(), 'Alice', 'video');
					return c && c.currentLayers && c.currentLayers.spatialLayer === SPATIAL && v.frameWidth === 320 << SPATIAL;
				},
				{ timeout: 20_000, context: relayInfo },
			);
			// Decoding again after the switch.
			const before = inbound(await bob.report(), 'Alice', 'video').framesDecoded;
			await s.waitFor(
				'Bob decodes after the layer switch',
				async () => inbound(await bob.report(), 'Alice', 'video').framesDecoded > before + 5,
				{ timeout: 15_000, interval: 200, context: relayInfo },
			);
		}

		const measured = await sampleInPage(bob.page, { durationMs: MEASURE_MS, intervalMs: SAMPLE_MS }).finally(() => {
			measuring = false;
		});
		await watching;
		if (measured.error) throw await s.failure(`Bob's page: ${measured.error}`);
		const { samples } = measured;
		const first = samples[0];
		const last = samples[samples.length - 1];
		const gap = longestGap(samples);
		const decoded = last.framesDecoded - first.framesDecoded;
		const fps = decoded / ((last.t - first.t) / 1000);
		const freezes = last.freezeCount === undefined ? undefined : last.freezeCount - (first.freezeCount || 0);

		// Server side: the producer (Alice → SFU leg) and the consumer (SFU → Bob leg).
		const state = await s.server.debugState();
		const peers = (state.rooms || []).flatMap((r) => r.peers);
		const producer = peers.flatMap((p) => p.producers).find((p) => p.kind === 'video');
		const consumer = peers.flatMap((p) => p.consumers).find((c) => c.kind === 'video');
		const KEYS = ['packetCount', 'packetsLost', 'nackCount', 'nackPacketCount', 'packetsRetransmitted', 'packetsRepaired', 'pliCount'];
		const prod = sum(producer && producer.stats, 'inbound-rtp', KEYS);
		const cons = sum(consumer && consumer.stats, 'outbound-rtp', KEYS);
		const aliceOut = sum(((await alice.report()).producers.find((p) => p.kind === 'video') || {}).outbound, null, ['packetsSent', 'nackCount', 'pliCount']);
		const aliceRtx = await alice.page.evaluate(async () => {
			const p = window.room.state.producers.get('video');
			let n = 0;
			for (const x of (await p.getStats()).values()) if (x.type === 'outbound-rtp') n += x.retransmittedPacketsSent || 0;
			return n;
		});

		const summary = {
			relay: relay.stats,
			preferredSpatialLayer: SPATIAL,
			bob: {
				framesDecoded: `${first.framesDecoded} → ${last.framesDecoded} (${fps.toFixed(1)} fps)`,
				maxGapMs: gap.max,
				maxGapAtMs: gap.at,
				freezeCount: freezes,
				totalFreezesDuration: last.totalFreezesDuration,
				nackCount: last.nackCount,
				retransmittedPacketsReceived: last.retransmittedPacketsReceived,
				packetsLost: last.packetsLost,
				pliCount: last.pliCount,
				frameWidth: last.frameWidth,
			},
			alice: { ...aliceOut, retransmittedPacketsSent: aliceRtx },
			serverProducer: prod,
			serverConsumer: cons,
		};
		const raw = { producer: producer && producer.stats, consumer: consumer && consumer.stats };
		const context = () => `${JSON.stringify(summary, null, 1)}\n${relayInfo()}\nserver getStats(): ${JSON.stringify(raw, null, 1)}\nBob's samples (t framesDecoded framesDropped keyFramesDecoded width nack rtx lost pli freezes):\n${samples
			.filter((_, i) => i % 5 === 0)
			.map((x) => [x.t, x.framesDecoded, x.framesDropped, x.keyFramesDecoded, x.frameWidth, x.nackCount, x.retransmittedPacketsReceived, x.packetsLost, x.pliCount, x.freezeCount].join(' '))
			.join('\n')}\nserver timeline:\n${timeline.join('\n')}`;
		const check = async (ok, what) => {
			if (!ok) throw await s.failure(`${what}\n${context()}`);
		};

		// The relay really impaired each lossy direction.
		const lossy = { up: IMPAIRMENT.loss.up > 0, down: IMPAIRMENT.loss.down > 0 };
		for (const dir of ['up', 'down']) {
			if (lossy[dir]) await check(relay.stats[dir].lossDropped > 20, `the relay dropped (almost) nothing ${dir}`);
		}
		// Video kept flowing.
		await check(gap.max <= MAX_GAP_MS, `Bob's video froze: framesDecoded did not rise for ${gap.max} ms (at +${gap.at} ms)`);
		await check(fps >= 10, `Bob decoded only ${fps.toFixed(1)} frames/s of Alice's video`);
		if (freezes !== undefined) await check(freezes <= 3, `Chrome counted ${freezes} freezes in Bob's video`);
		// Alice → SFU: the SFU's producer NACKed the losses and got (some of) them back as RTX.
		if (lossy.up) {
			await check(prod.nackCount > 0 && prod.nackPacketCount > 0, 'server producer: no NACK sent to Alice');
			await check(prod.packetsRepaired > 0 || prod.packetsRetransmitted > 0, 'server producer: no packet repaired by RTX');
			await check(aliceOut.nackCount > 0 && aliceRtx > 0, 'Alice: no NACK received or no RTX sent');
		}
		// SFU → Bob: Bob NACKed, the SFU's consumer answered with RTX.
		if (lossy.down) {
			await check(cons.nackCount > 0 && cons.packetsRetransmitted > 0, 'server consumer: no NACK from Bob or no RTX sent');
			await check(last.nackCount > 0 && last.retransmittedPacketsReceived > 0, 'Bob: no NACK sent or no RTX received');
		}

		t.diagnostic(JSON.stringify(summary));
		if (process.env.E2E_VERBOSE) t.diagnostic(JSON.stringify(raw));
	} finally {
		measuring = false;
		await watching;
		await s.close();
		await relay.close();
	}
});

