'use strict';

// node --test tests/netns/   (as root; needs iproute2 and the built addon, node/sfu.node)
//
// Two "hosts" in two network namespaces (sfuA-<pid>, sfuB-<pid>), each a Node process with its own
// libsfu worker, linked by a PipeTransport over UDP with SRTP and RTX, as an app pipes producers
// across machines by hand (mediasoup's pipeToRouter, split in two). Each namespace has a veth to
// the root namespace on its own /24 and no other route, and the root namespace does not forward,
// so the only path from A to B is the seeded impairment relay running in this process:
//
//   A (sfuA, pipe on a.peer) ──veth──► relay listen (a.root) ──5 % loss, 20+0..10 ms──►
//     relay fixed upstream (b.root) ──veth──► B (sfuB, pipe on b.peer)       and back the same way
//
// A connects its pipe to the relay's listen address; B connects its pipe to the relay's fixed
// upstream address (a connected pipe drops datagrams from any other address). A sends synthetic
// VP8 (with RTX) and opus into the pipe; B consumes them on a DirectTransport and counts distinct
// packets. Checks: the video arrives whole (NACK/RTX repair what the relay drops), the audio
// (no retransmission) arrives less what was dropped, the relay dropped about 5 %, no datagram on
// the wire carries the payload in the clear (SRTP), and B's requestKeyFrame() reaches A's producer
// as a PLI and brings a key frame back.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startRelay } = require('../tools/impair-relay');
const { unsupportedReason, createPair, Host } = require('./netns');

const ROOT = path.join(__dirname, '..', '..');
const HOST_JS = path.join(__dirname, 'host.js');
const MARKER = Buffer.from('LIBSFU-NETNS-MARK'); // host.js puts it in every media payload
const SECONDS = 8;
const LOSS = 0.05;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(predicate, timeoutMs, everyMs = 50) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await predicate();
		if (value || Date.now() > deadline) return value;
		await sleep(everyMs);
	}
}

const reason = unsupportedReason();

test(
	'PipeTransport over UDP + SRTP between two network namespaces through a 5 % loss relay',
	{ skip: reason ? `two-namespace test skipped: ${reason}` : false, timeout: 120_000 },
	async (t) => {
		assert.ok(fs.existsSync(path.join(ROOT, 'node', 'sfu.node')), 'node/sfu.node is missing: build the addon first (cd node && npm run build)');
		const started = Date.now();
		const pair = createPair();
		// However the test ends (an assertion, a timeout, ^C), the namespaces, veths and hosts go.
		const onSignal = (signal) => {
			pair.cleanup();
			process.kill(process.pid, signal);
		};
		process.once('SIGINT', onSignal);
		process.once('SIGTERM', onSignal);
		process.once('exit', pair.cleanup);
		let relay = null;
		const hosts = [];
		t.after(async () => {
			await Promise.all(hosts.map((host) => host.stop().catch(() => {})));
			if (relay) await relay.close();
			pair.cleanup();
			process.off('SIGINT', onSignal);
			process.off('SIGTERM', onSignal);
			process.off('exit', pair.cleanup);
		});

		// No path between the namespaces but through the root namespace's relay.
		for (const side of ['a', 'b']) {
			const { routes } = pair.show(side);
			assert.doesNotMatch(routes, /default/, `${side}: ${routes}`);
			const other = side === 'a' ? pair.b : pair.a;
			assert.ok(!routes.includes(other.peer.split('.').slice(0, 3).join('.')), `${side} has a route to the other side: ${routes}`);
		}
		// (Whether the root namespace forwards does not matter: neither namespace has a route to the other.)

		const spawnHost = (side) => {
			const host = new Host(`host ${side.toUpperCase()}`, pair.exec(side, [process.execPath, HOST_JS], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
			hosts.push(host);
			return host;
		};
		const A = spawnHost('a');
		const B = spawnHost('b');
		const [a, b] = await Promise.all([A.request('init', { listenIp: pair.a.peer }), B.request('init', { listenIp: pair.b.peer })]);
		assert.equal(a.tuple.localAddress, pair.a.peer);
		assert.equal(b.tuple.localAddress, pair.b.peer);
		assert.equal(a.srtpParameters.cryptoSuite, 'AEAD_AES_256_GCM');
		assert.equal(b.srtpParameters.cryptoSuite, 'AEAD_AES_256_GCM');

		// What crosses the relay, as seen on the wire.
		const wire = { rtp: 0, rtcp: 0, clear: 0, rtx: 0, ssrcs: new Map() };
		let rtxSsrc = null;
		relay = await startRelay({
			listen: { ip: pair.a.root, port: 0 },
			upstream: { ip: pair.b.root, port: 0 },
			target: { ip: b.tuple.localAddress, port: b.tuple.localPort },
			// Seed 1 keeps the first datagram (the first packet of the first key frame): a receiver
			// cannot NACK a packet from before the first one it sees. (Seed 20240607 drops it.)
			seed: 1,
			loss: LOSS,
			delayMs: 20,
			jitterMs: 10,
			idleTimeoutMs: 0,
			onPacket: (dir, msg) => {
				if (msg.includes(MARKER)) wire.clear++;
				if (dir !== 'up' || msg.length < 12 || msg[0] >> 6 !== 2) return;
				if (msg[1] >= 192 && msg[1] <= 223) {
					wire.rtcp++;
					return;
				}
				wire.rtp++;
				const ssrc = msg.readUInt32BE(8);
				wire.ssrcs.set(ssrc, (wire.ssrcs.get(ssrc) || 0) + 1);
				if (ssrc === rtxSsrc) wire.rtx++;
			},
		});
		const up = relay.upstreamAddress;
		await A.request('connect', { ip: relay.address.ip, port: relay.address.port, srtpParameters: b.srtpParameters });
		await B.request('connect', { ip: up.ip, port: up.port, srtpParameters: a.srtpParameters });

		const pipeConsumers = await A.request('produce');
		const videoParams = pipeConsumers.find((c) => c.kind === 'video').rtpParameters;
		assert.ok(videoParams.codecs.some((c) => c.mimeType.toLowerCase() === 'video/rtx'), 'enableRtx keeps RTX on the pipe');
		assert.ok(videoParams.codecs[0].rtcpFeedback.some((f) => f.type === 'nack' && !f.parameter), 'enableRtx keeps NACK on the pipe');
		rtxSsrc = videoParams.encodings[0].rtx.ssrc;
		await B.request('pipeProduce', { consumers: pipeConsumers });

		// Media for SECONDS; a key frame only at the start and when asked for. Halfway through, B's
		// consumer asks for one (again, up to 5 times, as the PLI itself may be dropped).
		const sending = A.request('send', { seconds: SECONDS, keyFrameEverySec: 1000 }, (SECONDS + 20) * 1000);
		await sleep((SECONDS / 2) * 1000);
		const before = await A.request('keyFrameRequests');
		const receivedBefore = await B.request('received');
		let attempts = 0;
		let requested = null;
		while (!requested && attempts < 5) {
			attempts++;
			await B.request('requestKeyFrame', { kind: 'video' });
			requested = await waitFor(async () => {
				const now = await A.request('keyFrameRequests');
				return now.traces.length > before.traces.length ? now : null;
			}, 1000);
		}
		const sent = await sending;

		// Let the last retransmissions land: until nothing changes at B for 1.5 s.
		let last = '';
		let stableSince = Date.now();
		const received = await waitFor(async () => {
			const r = await B.request('received');
			const key = JSON.stringify(r);
			if (key !== last) {
				last = key;
				stableSince = Date.now();
			}
			return Date.now() - stableSince > 1500 ? r : null;
		}, 8000);
		const final = received || (await B.request('received'));
		const [statsA, statsB] = await Promise.all([A.request('stats'), B.request('stats')]);
		const relayStats = JSON.parse(JSON.stringify(relay.stats));

		const nackA = statsA.pipeConsumers.video[0];
		const inB = statsB.pipeProducers.video[0];
		const figures = {
			sent,
			received: final,
			relay: {
				up: { received: relayStats.up.received, dropped: relayStats.up.lossDropped, forwarded: relayStats.up.forwarded },
				down: { received: relayStats.down.received, dropped: relayStats.down.lossDropped, forwarded: relayStats.down.forwarded },
				rejected: relayStats.rejected,
			},
			wire: { rtp: wire.rtp, rtcp: wire.rtcp, rtx: wire.rtx, clear: wire.clear },
			pipeConsumerA: { nackCount: nackA.nackCount, nackPacketCount: nackA.nackPacketCount, packetsRetransmitted: nackA.packetsRetransmitted },
			pipeProducerB: { packetCount: inB.packetCount, packetsLost: inB.packetsLost, nackCount: inB.nackCount, nackPacketCount: inB.nackPacketCount, packetsRetransmitted: inB.packetsRetransmitted, packetsRepaired: inB.packetsRepaired },
			keyFrame: { attempts, pliBefore: before.traces.length, pliAfter: requested && requested.traces.length, keyFramesBefore: receivedBefore.video.keyFrames },
			ms: Date.now() - started,
		};
		t.diagnostic(JSON.stringify(figures));

		// The relay really dropped about LOSS of what crossed it, both ways.
		for (const dir of ['up', 'down']) {
			const st = relayStats[dir];
			assert.ok(st.received > 0, `${dir}: nothing crossed the relay`);
			const rate = st.lossDropped / st.received;
			assert.ok(rate > LOSS / 2 && rate < LOSS * 2, `${dir}: relay dropped ${st.lossDropped} of ${st.received} (${(rate * 100).toFixed(1)} %)`);
		}
		// B's consumer asks for a key frame when it is created, before A's first datagram gave the
		// relay its client: that PLI has nowhere to go. Nothing else may be turned away.
		assert.ok(relayStats.rejected <= 2, `the relay turned away ${relayStats.rejected} datagrams`);
		assert.equal(relayStats.flows, 1);

		// SRTP: the payload never crossed in the clear, but arrived intact at B.
		assert.ok(wire.rtp >= sent.video + sent.audio, `only ${wire.rtp} RTP datagrams reached the relay for ${sent.video + sent.audio} sent`);
		assert.equal(wire.clear, 0, 'a datagram on the wire carries the payload in the clear');
		assert.equal(final.video.withoutMarker + final.audio.withoutMarker, 0, 'B got media it could not read');

		// Video: every packet, the relay's drops repaired by NACK → RTX over the lossy link.
		assert.ok(nackA.nackCount > 0 && nackA.packetsRetransmitted > 0, `A's pipe consumer answered no NACK: ${JSON.stringify(nackA)}`);
		assert.ok(inB.nackCount > 0 && inB.packetsRepaired > 0, `B's pipe producer repaired nothing: ${JSON.stringify(inB)}`);
		assert.ok(wire.rtx > 0, 'no RTX datagram crossed the relay');
		// B's pipe producer got every packet (packetCount counts distinct packets, repaired ones
		// included), but for drops among the very last ones: no later packet reveals those.
		assert.ok(inB.packetCount >= sent.video - 2, `video: B's pipe producer got ${inB.packetCount} of ${sent.video} packets`);
		// B's consumer forwards all of them but for the packets of the first frame that a packet
		// of that frame overtook (jitter reorders): it starts at the first packet that arrives.
		assert.ok(final.video.distinct >= inB.packetCount - 3, `video: ${final.video.distinct} of ${sent.video} packets reached B's consumer (${inB.packetCount} its producer)`);
		// Audio: no retransmission, so what arrives is what the relay let through.
		assert.ok(final.audio.distinct >= sent.audio * (1 - 2 * LOSS), `audio: ${final.audio.distinct} of ${sent.audio} packets arrived`);
		assert.ok(final.audio.distinct < sent.audio, 'audio: the relay dropped none of the audio');

		// The key-frame request crossed A ← B, and the key frame came back. (The first key frame is
		// not checked: when a later packet of it overtakes its first packet, B's consumer starts at
		// that later packet and drops the key frame's earlier packets as older than its start.)
		assert.ok(requested, `A's producer saw no PLI/FIR after ${attempts} requestKeyFrame() on B`);
		const asked = requested.traces.slice(before.traces.length);
		assert.ok(asked.every((tr) => tr.direction === 'out' && (tr.type === 'pli' || tr.type === 'fir')), JSON.stringify(asked));
		assert.ok(requested.rtcpPli + requested.rtcpFir > before.rtcpPli + before.rtcpFir, 'the PLI/FIR did not reach the application');
		assert.ok(final.video.keyFrames > receivedBefore.video.keyFrames, `no key frame reached B after the request: ${JSON.stringify(figures.keyFrame)}`);
	},
);
