'use strict';

// Faults with a real Chromium: (1) the media path goes dead (the relay between the page and the SFU
// drops everything): ICE consent expires after iceConsentTimeout and the server's transport reports
// 'disconnected'; when the path comes back, the browser's consent checks bring it back to
// 'completed' and media flows again. (2) A tab is killed mid-call (closed without leaving): the
// signaling connection drops, the server releases its transports, producers and consumers, and the
// other participant's consumer of it is closed.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Session, RELAY_IP, relayAndPort, inbound, sleep } = require('../lib/harness');

const CONSENT_S = 6;

test('faults: a dead media path expires ICE consent and recovers; a killed tab releases its resources', { timeout: 120_000 }, async (t) => {
	const { port, relay } = await relayAndPort({ seed: 3 });
	const s = new Session();
	try {
		await s.start({ LIBSFU_WEBRTC_SERVER: '1', WEBRTC_SERVER_PORT: String(port), ICE_CONSENT_TIMEOUT: String(CONSENT_S) }, { announcedAddress: RELAY_IP });
		const alice = await s.join('Alice');
		const bob = await s.join('Bob', { nocam: '1' });
		const peers = async () => {
			const state = await s.server.debugState();
			return (state.rooms || []).flatMap((r) => r.peers);
		};
		const iceStates = async (name) => {
			const p = (await peers()).find((x) => x.name === name);
			return p ? p.transports.map((tr) => tr.iceState).filter((x) => x !== undefined) : [];
		};
		const decoded = async () => inbound(await bob.report(), 'Alice', 'video').framesDecoded || 0;
		await s.waitFor('Bob decodes Alice', async () => (await decoded()) > 10, { timeout: 20_000 });
		const count = (await iceStates('Alice')).length + (await iceStates('Bob')).length;
		assert.ok(count >= 4, `WebRTC transports of Alice and Bob: ${count}`);
		await s.waitFor('every transport is completed', async () => [...(await iceStates('Alice')), ...(await iceStates('Bob'))].every((x) => x === 'completed'));

		// (1) The path dies: nothing passes the relay either way.
		relay.setParams({ loss: 1 });
		const cut = Date.now();
		await s.waitFor(`the server's transports go 'disconnected' within ${CONSENT_S} s (+3)`, async () => {
			const states = [...(await iceStates('Alice')), ...(await iceStates('Bob'))];
			return states.length === count && states.every((x) => x === 'disconnected');
		}, { timeout: (CONSENT_S + 3) * 1000, interval: 250 });
		const after = (Date.now() - cut) / 1000;
		assert.ok(after >= CONSENT_S - 1.5, `disconnected after ${after} s, before the ${CONSENT_S} s consent timeout`);
		t.diagnostic(`ICE consent expired ${after.toFixed(1)} s after the path died`);
		// Nothing is torn down by a disconnection: the app decides (as with mediasoup).
		assert.equal((await peers()).length, 2);

		// The path comes back: Chrome's consent checks complete ICE again and media flows.
		relay.setParams({ loss: 0 });
		await s.waitFor("the server's transports are 'completed' again", async () => {
			const states = [...(await iceStates('Alice')), ...(await iceStates('Bob'))];
			return states.length === count && states.every((x) => x === 'completed');
		}, { timeout: 20_000 });
		const before = await decoded();
		await s.waitFor('Bob decodes Alice again', async () => (await decoded()) > before + 20, { timeout: 20_000 });

		// (2) Alice's tab is killed mid-call: no 'leave', just gone.
		const aliceCount = (await iceStates('Alice')).length;
		const dump = async () => {
			const state = await s.server.debugState();
			return { peers: (state.rooms || []).flatMap((r) => r.peers).map((p) => p.name) };
		};
		await alice.page.close({ runBeforeUnload: false });
		await s.waitFor('the server releases Alice (peer, transports, producers) and Bob loses her consumers', async () => {
			const d = await dump();
			const report = await bob.report();
			// Bob publishes nothing: every consumer he had was Alice's.
			return d.peers.length === 1 && d.peers[0] === 'Bob' && (report.consumers || []).length === 0;
		}, { timeout: 15_000 });
		// The server holds only Bob's transports now.
		assert.equal((await iceStates('Alice')).length, 0);
		assert.equal((await iceStates('Bob')).length, count - aliceCount);
		await sleep(500);
	} finally {
		await s.close();
		await relay.close();
	}
});
