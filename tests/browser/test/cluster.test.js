'use strict';

// examples/cluster: one room served by two Node processes (node A and node B, each with its own
// libsfu worker) sharing a Redis. A page on node A publishes; pages on node B receive its media
// through a pipe pair between the nodes. Then node A is killed (SIGKILL: no goodbye): node B
// notices from the Redis directory, its pages' consumers get a clean 'producerclose', and the
// directory no longer lists node A.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { createClient } = require('redis');
const { Session, CLUSTER_NODE, inbound } = require('../lib/harness');

const ROOM = 'cluster';

test('cluster: node B receives node A\'s media over a pipe; killing node A closes B\'s consumers and drops A from Redis', { timeout: 150_000 }, async (t) => {
	const s = new Session();
	let db;
	const timings = {};
	const since = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
	try {
		const t0 = Date.now();
		const redis = await s.startRedis();
		db = createClient({ url: redis.url });
		db.on('error', () => {});
		await db.connect();
		const env = { REDIS_URL: redis.url };
		const [nodeA, nodeB] = await Promise.all([
			s.startServer({ ...env, NODE_NAME: 'node-a' }, { script: CLUSTER_NODE, name: 'node A' }),
			s.startServer({ ...env, NODE_NAME: 'node-b' }, { script: CLUSTER_NODE, name: 'node B' }),
		]);
		const idA = (await nodeA.debugState()).nodeId;
		const idB = (await nodeB.debugState()).nodeId;
		assert.ok(idA && idB, `node ids: ${idA}, ${idB}`);
		timings.started = since(t0);

		// Bob watches on node B; Alice then joins node A and publishes: B learns of her producers
		// from Redis pub/sub and pipes them.
		const bob = await s.join('Bob', { room: ROOM, nocam: '1' }, { server: nodeB });
		const alice = await s.join('Alice', { room: ROOM }, { server: nodeA });
		const tJoined = Date.now();
		await s.waitFor('Bob (node B) decodes ≥ 60 video frames of Alice (node A)', async () => {
			const r = await bob.report();
			return (inbound(r, 'Alice', 'video').framesDecoded || 0) >= 60 && (inbound(r, 'Alice', 'audio').totalSamplesReceived || 0) > 0;
		}, { timeout: 30_000 });
		timings.bobDecodes60 = since(tJoined);

		// Carol joins node B later: she finds Alice's producers in the Redis directory and consumes
		// them through the same pipe pair.
		const carol = await s.join('Carol', { room: ROOM, nocam: '1' }, { server: nodeB });
		const tCarol = Date.now();
		await s.waitFor('Carol (node B) decodes ≥ 30 video frames of Alice (node A)', async () => (inbound(await carol.report(), 'Alice', 'video').framesDecoded || 0) >= 30, { timeout: 25_000 });
		timings.carolDecodes30 = since(tCarol);

		// The directory: both nodes in the room, Alice's two producers under node A.
		const nodes = await db.sMembers(`room:${ROOM}:nodes`);
		assert.deepEqual([...nodes].sort(), [idA, idB].sort(), 'room:<room>:nodes lists both nodes');
		const producersA = Object.values(await db.hGetAll(`room:${ROOM}:producers:${idA}`)).map((j) => JSON.parse(j));
		assert.deepEqual(producersA.map((p) => p.kind).sort(), ['audio', 'video'], `node A's producers: ${JSON.stringify(producersA)}`);
		assert.ok(producersA.every((p) => p.peerName === 'Alice'));
		assert.ok(await db.exists(`node:${idA}`), 'node:<A> exists');

		// One pipe pair A -> B carries both producers for both of B's pages.
		const stateB = (await nodeB.debugState()).rooms.find((r) => r.name === ROOM);
		assert.equal(stateB.recvPipes.length, 1, `node B's pipes: ${JSON.stringify(stateB.recvPipes)}`);
		assert.equal(stateB.recvPipes[0].nodeId, idA);
		assert.deepEqual(stateB.recvPipes[0].producers.map((p) => p.id).sort(), producersA.map((p) => p.id).sort());
		const stateA = (await nodeA.debugState()).rooms.find((r) => r.name === ROOM);
		assert.equal(stateA.sendPipes.length, 1);
		assert.deepEqual(stateA.sendPipes[0].consumers.map((c) => c.type), ['pipe', 'pipe']);

		// The consumers of Alice on node B's pages.
		const viewers = [bob, carol];
		const watched = new Map();
		for (const viewer of viewers) {
			const ids = (await viewer.report()).consumers.filter((c) => c.peerName === 'Alice').map((c) => c.id);
			assert.equal(ids.length, 2, `${viewer.name} consumes Alice's audio and video`);
			watched.set(viewer, ids);
		}
		const alicePeerId = await alice.page.evaluate(() => window.room.state.peerId);

		// Muting on node A pauses the copy on node B: B's pages see Alice muted, then unmuted.
		const seesMuted = (viewer) =>
			viewer.page.evaluate((id) => document.querySelector(`.tile[data-peer="${id}"]`)?.classList.contains('mic-muted') ?? null, alicePeerId);
		await alice.page.click('#btn-mic', { timeout: 10_000 });
		for (const viewer of viewers) await s.waitFor(`${viewer.name} sees Alice muted`, async () => (await seesMuted(viewer)) === true, { interval: 200 });
		await alice.page.click('#btn-mic', { timeout: 10_000 });
		for (const viewer of viewers) await s.waitFor(`${viewer.name} sees Alice unmuted`, async () => (await seesMuted(viewer)) === false, { interval: 200 });

		// Kill node A: no clean shutdown, its Redis entries just stop being refreshed.
		const tKill = Date.now();
		nodeA.proc.kill('SIGKILL');
		await nodeA.exit;
		for (const viewer of viewers) {
			const ids = watched.get(viewer);
			await s.waitFor(`${viewer.name}'s page is told both consumers of Alice closed (consumerClosed) after node A died`, () =>
				ids.every((id) => viewer.socketEvents.some((e) => e.event === 'consumerClosed' && e.data.consumerId === id)),
			{ timeout: 12_000, interval: 200 });
		}
		timings.consumersClosedAfterKill = since(tKill);

		for (const viewer of viewers) {
			const ids = watched.get(viewer);
			// consumerClosed (the producerclose path) comes before Alice's tile goes (peerLeft).
			const events = viewer.socketEvents;
			const left = events.findIndex((e) => e.event === 'peerLeft' && e.data.id === alicePeerId);
			const lastClosed = Math.max(...ids.map((id) => events.findIndex((e) => e.event === 'consumerClosed' && e.data.consumerId === id)));
			assert.ok(left === -1 || lastClosed < left, `${viewer.name}: consumerClosed before peerLeft: ${JSON.stringify(events.map((e) => e.event))}`);
			// The page dropped them: no consumer and no video of Alice left.
			await s.waitFor(`${viewer.name}'s page has no consumer or video of Alice`, async () => {
				const r = await viewer.report();
				const video = await viewer.page.evaluate((id) => {
					const tile = document.querySelector(`.tile[data-peer="${id}"]`);
					return tile ? tile.querySelector('video').srcObject !== null : false;
				}, alicePeerId);
				return r.phase === 'joined' && !r.consumers.some((c) => c.peerName === 'Alice') && !video;
			}, { timeout: 5000 });
		}
		// Node B's consumers saw 'producerclose' (not just a page-side cleanup).
		const closeLines = nodeB.lines.filter((l) => /consumer .*of Alice\): producerclose/.test(l));
		assert.equal(closeLines.length, 4, `node B's producerclose lines:\n${closeLines.join('\n')}`);

		// The Redis directory dropped node A.
		await s.waitFor('the Redis directory drops node A', async () => {
			const listed = await db.sMembers(`room:${ROOM}:nodes`);
			const keys = await db.exists([`node:${idA}`, `room:${ROOM}:producers:${idA}`, `room:${ROOM}:peers:${idA}`]);
			return !listed.includes(idA) && listed.includes(idB) && keys === 0;
		}, { timeout: 8000, interval: 200, context: () => `node A id ${idA}` });
		timings.directoryDroppedAfterKill = since(tKill);
		assert.ok(await db.exists(`node:${idB}`), 'node B is still listed');
		t.diagnostic(`timings: ${JSON.stringify(timings)}, total ${since(t0)}`);
	} finally {
		if (db) await db.quit().catch(() => {});
		await s.close();
	}
});
