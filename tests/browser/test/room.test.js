'use strict';

// The demo room as a person uses it: join by URL, see each other, mute, leave.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Session, OUT_DIR, inbound, sleep } = require('../lib/harness');

test('demo room: two participants see each other (screenshot in tests/out/room.png)', { timeout: 120_000 }, async (t) => {
	const s = new Session();
	try {
		await s.start();
		const alice = await s.join('Alice', { room: 'demo' });
		const bob = await s.join('Bob', { room: 'demo' });
		try {
			for (const [viewer, from] of [
				[alice, 'Bob'],
				[bob, 'Alice'],
			]) {
				await s.waitFor(
					`${viewer.name} decodes ≥ 60 frames of ${from}`,
					async () => (inbound(await viewer.report(), from, 'video').framesDecoded || 0) >= 60,
					{ timeout: 25_000 },
				);
			}
			// Let the stats overlays refresh with rates before the picture.
			await sleep(2000);
		} finally {
			const file = await s.screenshot(alice, path.join(OUT_DIR, 'room.png')).catch(() => null);
			if (file) t.diagnostic(`screenshot: ${file}`);
		}
		// What the page shows: both tiles, the remote one playing video.
		const shown = await alice.page.evaluate(() =>
			[...document.querySelectorAll('.tile')].map((tile) => ({
				name: tile.querySelector('.name').textContent,
				video: tile.querySelector('video').videoWidth,
				stats: tile.querySelector('.stats').textContent,
			})),
		);
		assert.equal(shown.length, 2, `tiles: ${JSON.stringify(shown)}`);
		const bobTile = shown.find((x) => x.name === 'Bob');
		assert.ok(bobTile && bobTile.video > 0 && /fps/.test(bobTile.stats), `Bob's tile: ${JSON.stringify(shown)}`);
	} finally {
		await s.close();
	}
});

test('demo room: mute is signalled to the server and to others; leave removes the tile', { timeout: 90_000 }, async () => {
	const s = new Session();
	try {
		await s.start();
		const alice = await s.join('Alice', { room: 'controls' });
		const bob = await s.join('Bob', { room: 'controls', nocam: '1' });
		const alicePeerId = await alice.page.evaluate(() => window.room.state.peerId);
		const aliceProducer = async (kind) => {
			const state = await s.server.debugState();
			const room = (state.rooms || []).find((r) => r.name === 'controls');
			const peer = room && room.peers.find((p) => p.id === alicePeerId);
			return peer && peer.producers.find((p) => p.kind === kind);
		};
		const bobSeesAlice = (cls) =>
			bob.page.evaluate(
				({ id, cls }) => {
					const tile = document.querySelector(`.tile[data-peer="${id}"]`);
					return tile ? tile.classList.contains(cls) : null;
				},
				{ id: alicePeerId, cls },
			);

		// Bob has Alice's audio consumer (the mute flag travels through it).
		await s.waitFor('Bob consumes Alice\'s audio', async () => {
			const r = await bob.report();
			return r.consumers.some((c) => c.peerName === 'Alice' && c.kind === 'audio');
		});

		await alice.page.click('#btn-mic', { timeout: 10_000 });
		await s.waitFor('server producer paused after Alice mutes', async () => (await aliceProducer('audio'))?.paused === true);
		await s.waitFor('Bob sees Alice muted', async () => (await bobSeesAlice('mic-muted')) === true);

		await alice.page.click('#btn-mic', { timeout: 10_000 });
		await s.waitFor('server producer resumed after Alice unmutes', async () => (await aliceProducer('audio'))?.paused === false);
		await s.waitFor('Bob sees Alice unmuted', async () => (await bobSeesAlice('mic-muted')) === false);

		await alice.page.click('#btn-cam', { timeout: 10_000 });
		await s.waitFor('server video producer paused', async () => (await aliceProducer('video'))?.paused === true);
		await s.waitFor('Bob sees Alice\'s camera off', async () => (await bobSeesAlice('cam-muted')) === true);

		await alice.page.click('#btn-leave', { timeout: 10_000 });
		await s.waitFor('Alice\'s page shows it left', () => alice.page.isVisible('#left'));
		await s.waitFor('Bob\'s page drops Alice\'s tile', async () => (await bobSeesAlice('tile')) === null);
		await s.waitFor('server room has only Bob', async () => {
			const state = await s.server.debugState();
			const room = (state.rooms || []).find((r) => r.name === 'controls');
			return room && room.peers.length === 1 && room.peers[0].name === 'Bob';
		});
	} finally {
		await s.close();
	}
});
