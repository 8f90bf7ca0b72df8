'use strict';

// Data channels through libsfu between two Chromium pages running mediasoup-client: the room's
// chat (text), binary messages, a 200 KB message, and an unordered channel with maxRetransmits;
// every message arrives intact and the server's DataProducer/DataConsumer stats count them.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { Session } = require('../lib/harness');

test('data channels: chat, binary, 200 KB and unordered/maxRetransmits messages arrive intact', { timeout: 120_000 }, async (t) => {
	const s = new Session();
	try {
		await s.start();
		const alice = await s.join('Alice', { room: 'data', nocam: '1' });
		const bob = await s.join('Bob', { room: 'data', nocam: '1' });
		const messages = (page) => page.page.evaluate(() => window.room.dataMessages());
		const dataConsumers = (page) => page.page.evaluate(() => [...window.room.state.dataConsumers.values()].map((d) => d.dataConsumer.label));
		await s.waitFor('each page consumes the other\'s chat channel', async () => (await dataConsumers(alice)).includes('chat') && (await dataConsumers(bob)).includes('chat'), { timeout: 20_000 });

		// Chat both ways.
		await alice.page.evaluate(() => window.room.sendChat('hello Bob'));
		await bob.page.evaluate(() => window.room.sendChat('hi Alice 👋'));
		await s.waitFor('chat arrives both ways', async () => {
			const b = await messages(bob);
			const a = await messages(alice);
			return b.some((m) => m.text === 'hello Bob' && m.from === 'Alice') && a.some((m) => m.text === 'hi Alice 👋' && m.from === 'Bob');
		});
		const chatLine = await bob.page.evaluate(() => document.getElementById('chat-log').textContent);
		assert.match(chatLine, /Alice: hello Bob/);
		// The server's own notices: a DirectTransport DataProducer consumed over SCTP by the page.
		await s.waitFor('Alice gets the server\'s notice that Bob joined', async () =>
			(await messages(alice)).some((m) => m.label === 'notices' && m.from === 'libsfu' && m.text === 'Bob joined the room'));

		// Binary messages, small and 200 KB (many SCTP chunks), on the chat channel.
		const sent = [];
		sent.push(await alice.page.evaluate(() => window.room.sendData('chat', { size: 1000, seed: 7 })));
		sent.push(await alice.page.evaluate(() => window.room.sendData('chat', { size: 200 * 1024, seed: 9 })));
		await s.waitFor('binary messages arrive intact', async () => {
			const got = (await messages(bob)).filter((m) => m.binary);
			return sent.every((x) => got.some((m) => m.size === x.size && m.digest === x.digest));
		}, { timeout: 20_000, context: async () => JSON.stringify(await messages(bob)) });

		// A second, unordered channel with partial reliability.
		await alice.page.evaluate(() => window.room.produceData({ label: 'lossy', ordered: false, maxRetransmits: 2 }));
		await s.waitFor('Bob consumes the unordered channel', async () => (await dataConsumers(bob)).includes('lossy'), { timeout: 15_000 });
		const COUNT = 50;
		for (let i = 0; i < COUNT; i++) await alice.page.evaluate((n) => window.room.sendData('lossy', { text: `msg ${n}` }), i);
		await s.waitFor(`all ${COUNT} unordered messages arrive`, async () => (await messages(bob)).filter((m) => m.label === 'lossy').length === COUNT, { timeout: 15_000 });
		const texts = new Set((await messages(bob)).filter((m) => m.label === 'lossy').map((m) => m.text));
		assert.equal(texts.size, COUNT, 'no duplicates');

		// The server saw and counted it all.
		const state = await s.server.debugState();
		const peers = (state.rooms || []).find((r) => r.name === 'data').peers;
		const alicePeer = peers.find((p) => p.name === 'Alice');
		const bobPeer = peers.find((p) => p.name === 'Bob');
		const lossy = alicePeer.dataProducers.find((d) => d.label === 'lossy');
		assert.deepEqual(
			{ ordered: lossy.sctpStreamParameters.ordered, maxRetransmits: lossy.sctpStreamParameters.maxRetransmits },
			{ ordered: false, maxRetransmits: 2 },
		);
		assert.equal(lossy.stats[0].messagesReceived, COUNT);
		const chat = alicePeer.dataProducers.find((d) => d.label === 'chat');
		assert.equal(chat.stats[0].messagesReceived, 3, 'one text + two binary chat messages from Alice');
		const bobChat = bobPeer.dataConsumers.find((d) => d.label === 'chat' && d.dataProducerId === chat.id);
		assert.equal(bobChat.stats[0].messagesSent, 3);
		assert.ok(bobPeer.transports.every((tr) => tr.sctpState === 'connected'), JSON.stringify(bobPeer.transports.map((tr) => tr.sctpState)));
		t.diagnostic(`chat + ${sent.map((x) => x.size).join(' + ')} bytes binary + ${COUNT} unordered messages delivered`);
	} finally {
		await s.close();
	}
});
