'use strict';

// Media through libsfu between real Chromium pages running mediasoup-client: VP8 3-layer
// simulcast camera + opus microphone, over UDP, ICE-TCP and a shared WebRtcServer port.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Session, freeDualPort, inbound, sleep } = require('../lib/harness');

const FRAMES = 60;

/** Waits until `viewer` decodes ≥ FRAMES frames of `from`'s video and receives its audio. */
async function waitForMedia(s, viewer, from, { timeout = 20_000 } = {}) {
	const started = Date.now();
	const report = await s.waitFor(
		`${viewer.name} decodes ≥ ${FRAMES} video frames and receives audio from ${from}`,
		async () => {
			const r = await viewer.report();
			if (r.errors && r.errors.length) throw new Error(`page errors: ${r.errors.join('; ')}`);
			const v = inbound(r, from, 'video');
			const a = inbound(r, from, 'audio');
			return v.framesDecoded >= FRAMES && a.totalSamplesReceived > 0 ? r : false;
		},
		{ timeout },
	);
	const v = inbound(report, from, 'video');
	// …and keeps decoding.
	await sleep(1000);
	const later = inbound(await viewer.report(), from, 'video');
	if (!(later.framesDecoded > v.framesDecoded)) {
		throw await s.failure(`${viewer.name}: framesDecoded of ${from} stopped at ${v.framesDecoded}`);
	}
	return { report, ms: Date.now() - started, video: later, audio: inbound(report, from, 'audio') };
}

/** Alice publishes camera + mic, Bob only watches; Bob must get both. */
async function publishConsume(s, query = {}) {
	const alice = await s.join('Alice', query);
	const bob = await s.join('Bob', { ...query, nocam: '1' });
	const media = await waitForMedia(s, bob, 'Alice');
	return { alice, bob, ...media };
}

function describeMedia(m) {
	return `${m.video.framesDecoded} frames (${m.video.frameWidth}x${m.video.frameHeight}), ${m.audio.totalSamplesReceived} audio samples, after ${m.ms} ms`;
}

test('publish/consume: VP8 simulcast + opus from one page to another', { timeout: 90_000 }, async (t) => {
	const s = new Session();
	try {
		await s.start();
		const m = await publishConsume(s);
		// Alice sends simulcast: more than one rid on her video producer.
		const aliceReport = await m.alice.report();
		const video = aliceReport.producers.find((p) => p.kind === 'video');
		const rids = (video ? video.outbound : []).filter((o) => o.rid).map((o) => o.rid);
		assert.ok(rids.length >= 2, `Alice's video is not simulcast: ${JSON.stringify(video)}`);
		t.diagnostic(describeMedia(m));
	} finally {
		await s.close();
	}
});

test('late joiner decodes video (key frame on join); both viewers keep decoding', { timeout: 90_000 }, async (t) => {
	const s = new Session();
	try {
		await s.start();
		const { alice, bob } = await publishConsume(s);
		// Alice has been publishing for a while: a joiner needs a fresh key frame.
		await sleep(3000);
		const carol = await s.join('Carol', { nocam: '1' });
		const m = await waitForMedia(s, carol, 'Alice', { timeout: 15_000 });
		assert.ok(m.video.keyFramesDecoded >= 1, `no key frame decoded: ${JSON.stringify(m.video)}`);
		void alice;
		t.diagnostic(`Carol: ${describeMedia(m)}`);
		// With two viewers Alice's video fans out at the end of each receive turn, where each
		// consumer's packets of a frame are padded (RFC 3550) to leave as one GSO send: Bob's
		// Chromium goes on decoding them too.
		const before = inbound(await bob.report(), 'Alice', 'video').framesDecoded;
		await sleep(2000);
		const after = inbound(await bob.report(), 'Alice', 'video').framesDecoded;
		assert.ok(after - before >= 20, `Bob decoded ${after - before} frames of Alice in 2 s with two viewers`);
	} finally {
		await s.close();
	}
});

test('ICE-TCP only (?tcp=1 on both pages)', { timeout: 90_000 }, async (t) => {
	const s = new Session();
	try {
		await s.start();
		const m = await publishConsume(s, { tcp: '1' });
		const aliceReport = await m.alice.report();
		for (const [who, tr] of [
			['Alice send', aliceReport.transports.send],
			['Bob recv', m.report.transports.recv],
		]) {
			const pair = tr && tr.selectedPair;
			assert.ok(pair && /^tcp /.test(pair.remote || ''), `${who}: selected pair is not TCP: ${JSON.stringify(tr)}`);
		}
		t.diagnostic(describeMedia(m));
	} finally {
		await s.close();
	}
});

test('WebRtcServer: every transport on one UDP/TCP port (LIBSFU_WEBRTC_SERVER=1)', { timeout: 90_000 }, async (t) => {
	const s = new Session();
	try {
		const port = await freeDualPort();
		await s.start({ LIBSFU_WEBRTC_SERVER: '1', WEBRTC_SERVER_PORT: String(port) });
		const m = await publishConsume(s);
		// And a TCP-only viewer on the same server port.
		const carol = await s.join('Carol', { nocam: '1', tcp: '1' });
		const mc = await waitForMedia(s, carol, 'Alice');
		const aliceReport = await m.alice.report();
		// Bob may end up on either protocol: Chrome checks and nominates both the UDP and the TCP
		// pair, and picks between them itself (the server follows its media); a CI run saw TCP.
		for (const [who, tr, protos] of [
			['Alice send', aliceReport.transports.send, ['udp']],
			['Bob recv', m.report.transports.recv, ['udp', 'tcp']],
			['Carol recv', mc.report.transports.recv, ['tcp']],
		]) {
			const pair = tr && tr.selectedPair;
			const remote = (pair && pair.remote) || '';
			assert.ok(
				protos.some((p) => remote.startsWith(`${p} `)) && remote.includes(`:${port} `),
				`${who}: selected pair is not ${protos.join('/')} on the WebRtcServer port ${port}: ${JSON.stringify(tr)}`,
			);
		}
		t.diagnostic(`port ${port}: Bob (udp) ${describeMedia(m)}; Carol (tcp) ${describeMedia(mc)}`);
	} finally {
		await s.close();
	}
});

// The camera is 1280x720, so Chrome sends three spatial layers: 320x180, 640x360, 1280x720.
/**
 * Samples what Bob decodes of Alice's video, what the server's consumer forwards and what Alice
 * encodes; `reach(what, wantWidth, spatial)` waits until Bob decodes frames of the wanted width
 * while the consumer's currentLayers.spatialLayer is `spatial`.
 */
function layerFollower(s, alice, bob) {
	const seen = [];
	const timeline = [];
	const t0 = Date.now();
	const mark = (what) => timeline.push(`+${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);
	const sample = async () => {
		const v = inbound(await bob.report(), 'Alice', 'video');
		const state = await s.server.debugState();
		const peers = (state.rooms || []).flatMap((r) => r.peers);
		const consumer = peers.flatMap((p) => p.consumers).find((c) => c.kind === 'video') || {};
		const producer = peers.flatMap((p) => p.producers).find((p) => p.kind === 'video') || {};
		const video = (await alice.report()).producers.find((p) => p.kind === 'video');
		const enc = (video ? video.outbound : []).map((o) => `${o.rid}:${o.scalabilityMode || ''}:kf=${o.keyFramesEncoded},pli=${o.pliCount}`).sort();
		const srv = (Array.isArray(producer.stats) ? producer.stats : []).map((x) => `${x.rid}:pli=${x.pliCount},pkts=${x.packetCount}`);
		mark(
			`Bob ${v.frameWidth}px decoded=${v.framesDecoded} kf=${v.keyFramesDecoded} | ` +
				`server consumer ${consumer.type} preferred=${JSON.stringify(consumer.preferredLayers)} current=${JSON.stringify(consumer.currentLayers)} | ` +
				`server producer ${srv.join(' ')} | Alice ${enc.join(' ')}`,
		);
		const current = consumer.currentLayers || {};
		return { width: v.frameWidth || 0, fps: v.framesPerSecond || 0, spatial: current.spatialLayer, temporal: current.temporalLayer, type: consumer.type };
	};
	const context = () => `timeline:\n${timeline.slice(-40).join('\n')}`;
	const reach = async (what, want, spatial) => {
		await s.waitFor(
			what,
			async () => {
				const now = await sample();
				if (seen[seen.length - 1] !== now.width) seen.push(now.width);
				return want(now.width) && now.spatial === spatial;
			},
			{ timeout: 15_000, context },
		);
	};
	const prefer = async (spatial, temporal) => {
		mark(`setPreferredLayers(${spatial}, ${temporal})`);
		await bob.page.evaluate(([sl, tl]) => window.room.setPreferredLayers(sl, tl), [spatial, temporal]);
	};
	/** Waits until `pred(sample)` holds. */
	const until = (what, pred) => s.waitFor(what, async () => pred(await sample()), { timeout: 15_000, context });
	return { seen, sample, reach, prefer, until };
}

test('simulcast: the consumer reaches the top layer and follows preferred layers', { timeout: 90_000 }, async (t) => {
	const s = new Session();
	try {
		await s.start();
		const { alice, bob } = await publishConsume(s);
		const layers = async () => {
			const video = (await alice.report()).producers.find((p) => p.kind === 'video');
			return (video ? video.outbound : []).filter((o) => o.frameWidth).map((o) => `${o.rid}:${o.frameWidth}`);
		};
		// Alice must really send three layers, or the rest says nothing.
		await s.waitFor('Alice sends three simulcast layers', async () => (await layers()).length === 3, { timeout: 15_000 });
		// On this free link the server receives all three rids at (at least 40 % of) the bitrates
		// Chrome targets for them: transport-cc feedback let Chrome ramp up to its top layer.
		let rates = '';
		await s.waitFor('the server producer receives r0, r1 and r2 at their target bitrates', async () => {
			const video = (await alice.report()).producers.find((p) => p.kind === 'video');
			const targets = new Map((video ? video.outbound : []).map((o) => [o.rid, o.targetBitrate || 0]));
			const state = await s.server.debugState();
			const producer = (state.rooms || []).flatMap((r) => r.peers).flatMap((p) => p.producers).find((p) => p.kind === 'video') || {};
			const stats = Array.isArray(producer.stats) ? producer.stats : [];
			rates = stats.map((x) => `${x.rid}: ${Math.round(x.bitrate / 1000)} of ${Math.round((targets.get(x.rid) || 0) / 1000)} kbit/s`).join(', ');
			return ['r0', 'r1', 'r2'].every((rid) => {
				const st = stats.find((x) => x.rid === rid);
				const target = targets.get(rid) || 0;
				return st && target > 0 && st.bitrate >= target * 0.4;
			});
		}, { timeout: 30_000, context: () => rates });
		t.diagnostic(`server-side bitrates per rid (of Chrome's target): ${rates}`);
		const top = Math.max(...(await layers()).map((l) => Number(l.split(':')[1])));
		const f = layerFollower(s, alice, bob);
		await f.reach(`Bob receives Alice's top layer (${top} wide), currentLayers.spatialLayer 2`, (w) => w === top, 2);
		// Temporal layers: L1T3's base layer is a quarter of the frames.
		let full = 0;
		await f.until('Bob decodes at a steady frame rate', (x) => (full = x.fps) >= 12);
		await f.prefer(2, 0);
		await f.until(`Bob's frame rate drops below half of ${full} fps at temporal layer 0`, (x) => x.temporal === 0 && x.fps > 0 && x.fps <= full / 2 && x.width === top);
		await f.prefer(2, 2);
		await f.until('Bob gets the full frame rate back at temporal layer 2', (x) => x.temporal === 2 && x.fps >= full * 0.75);
		await f.prefer(0, 2);
		await f.reach('Bob drops to the lowest layer after setPreferredLayers(0)', (w) => w > 0 && w <= top / 4, 0);
		await f.prefer(2, 2);
		await f.reach('Bob goes back to the top layer after setPreferredLayers(2)', (w) => w === top, 2);
		t.diagnostic(`frame widths at Bob: ${f.seen.join(' → ')}`);
	} finally {
		await s.close();
	}
});

test('VP9 SVC (L3T3_KEY): a consumer at a lower spatial layer decodes the lower size', { timeout: 90_000 }, async (t) => {
	const s = new Session();
	try {
		await s.start();
		const { alice, bob } = await publishConsume(s, { video: 'vp9svc' });
		const f = layerFollower(s, alice, bob);
		const first = await f.sample();
		assert.equal(first.type, 'svc', 'the server consumes a VP9 SVC producer with an svc consumer');
		// What Alice encodes right now: the width of her highest spatial layer (Chrome drops the top
		// layers when bandwidth or CPU is short, so the sizes are read, not assumed).
		const encoded = async () => {
			const video = (await alice.report()).producers.find((p) => p.kind === 'video');
			return Math.max(0, ...(video ? video.outbound : []).map((o) => o.frameWidth || 0));
		};
		// Each spatial layer is half the width of the next (L3T3_KEY's default scaling).
		await f.prefer(0, 2);
		let base = 0;
		await s.waitFor('Bob decodes the base layer after setPreferredLayers(0)', async () => {
			const now = await f.sample();
			const top = await encoded();
			base = now.width;
			// The base layer is the encoded top divided by 2 per layer above it.
			return now.spatial === 0 && now.width > 0 && (now.width * 4 === top || now.width * 2 === top);
		}, { timeout: 20_000 });
		await f.prefer(1, 2);
		await f.reach(`Bob decodes the middle layer (${base * 2} wide) after setPreferredLayers(1)`, (w) => w === base * 2, 1);
		await f.prefer(2, 2);
		await s.waitFor('Bob decodes the top layer Alice sends after setPreferredLayers(2)', async () => {
			const now = await f.sample();
			return now.spatial === 2 && now.width === (await encoded()) && now.width >= base * 2;
		}, { timeout: 20_000 });
		t.diagnostic(`frame widths at Bob: ${f.seen.join(' → ')}`);
	} finally {
		await s.close();
	}
});
