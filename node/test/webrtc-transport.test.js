'use strict';

// router.createWebRtcTransport(): mediasoup's shapes of iceParameters, iceCandidates and
// dtlsParameters; ICE-lite answering real STUN connectivity checks (UDP and ICE-TCP) with
// icestatechange / iceselectedtuplechange; ICE restart; connect() validation; close cascades;
// dump() and getStats().

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { once } = require('node:events');
const mediasoup = require('..');
const h = require('./helpers');

const { InvalidStateError } = mediasoup.errors;

const udp = { protocol: 'udp', ip: '127.0.0.1' };
const tcp = { protocol: 'tcp', ip: '127.0.0.1' };
const FINGERPRINT_VALUE = /^([0-9A-F]{2}:)+[0-9A-F]{2}$/;

const ctx = {};

before(async () => {
	ctx.worker = await mediasoup.createWorker();
	ctx.router = await ctx.worker.createRouter({ mediaCodecs: h.mediaCodecs });
});

after(() => ctx.worker.close());

function assertIceParameters(p) {
	assert.equal(typeof p.usernameFragment, 'string');
	assert.ok(p.usernameFragment.length >= 4, 'ufrag of at least 4 characters');
	assert.equal(typeof p.password, 'string');
	assert.ok(p.password.length >= 22, 'password of at least 22 characters');
	assert.equal(p.iceLite, true);
}

function assertCandidate(c, protocol) {
	assert.equal(typeof c.foundation, 'string');
	assert.ok(Number.isInteger(c.priority) && c.priority > 0, `priority ${c.priority}`);
	assert.equal(c.address, '127.0.0.1');
	assert.equal(c.ip, '127.0.0.1');
	assert.equal(c.protocol, protocol);
	assert.ok(Number.isInteger(c.port) && c.port > 0);
	assert.equal(c.type, 'host');
	if (protocol === 'tcp') assert.equal(c.tcpType, 'passive');
	else assert.equal(c.tcpType, undefined);
}

function assertDtlsParameters(p, role = 'auto') {
	assert.equal(p.role, role);
	const algorithms = p.fingerprints.map((f) => f.algorithm);
	for (const a of ['sha-256', 'sha-384', 'sha-512']) assert.ok(algorithms.includes(a), `${a} fingerprint`);
	for (const f of p.fingerprints) assert.match(f.value, FINGERPRINT_VALUE);
}

function credentials(transport) {
	return { usernameFragment: transport.iceParameters.usernameFragment, password: transport.iceParameters.password };
}

function udpPort(transport) {
	return transport.iceCandidates.find((c) => c.protocol === 'udp').port;
}

test('listenInfos udp + tcp: iceParameters, iceCandidates, dtlsParameters and initial states', async () => {
	const onNewTransport = [];
	ctx.router.observer.on('newtransport', (t) => onNewTransport.push(t));
	const transport = await ctx.router.createWebRtcTransport({ listenInfos: [udp, tcp], appData: { peer: 'a' } });
	try {
		assert.deepEqual(onNewTransport, [transport]);
		assert.equal(transport.type, 'webrtc');
		assert.equal(typeof transport.id, 'string');
		assert.deepEqual(transport.appData, { peer: 'a' });
		assert.equal(transport.iceRole, 'controlled');
		assertIceParameters(transport.iceParameters);
		assert.equal(transport.iceCandidates.length, 2);
		assertCandidate(transport.iceCandidates[0], 'udp');
		assertCandidate(transport.iceCandidates[1], 'tcp');
		assert.ok(transport.iceCandidates[0].priority > transport.iceCandidates[1].priority, 'udp ranks above tcp by default');
		assertDtlsParameters(transport.dtlsParameters);
		assert.equal(transport.iceState, 'new');
		assert.equal(transport.iceSelectedTuple, undefined);
		assert.equal(transport.dtlsState, 'new');
		assert.equal(transport.dtlsRemoteCert, undefined);
		assert.equal(transport.sctpParameters, undefined);
		assert.equal(transport.sctpState, undefined);
		assert.ok(transport instanceof mediasoup.types.WebRtcTransport);
		assert.ok(transport instanceof mediasoup.types.Transport);
	} finally {
		transport.close();
		ctx.router.observer.removeAllListeners('newtransport');
	}
});

test('enableTcp: false keeps the udp candidate, enableUdp: false the tcp one', async () => {
	const udpOnly = await ctx.router.createWebRtcTransport({ listenInfos: [udp, tcp], enableTcp: false });
	const tcpOnly = await ctx.router.createWebRtcTransport({ listenInfos: [udp, tcp], enableUdp: false });
	try {
		assert.equal(udpOnly.iceCandidates.length, 1);
		assertCandidate(udpOnly.iceCandidates[0], 'udp');
		assert.equal(tcpOnly.iceCandidates.length, 1);
		assertCandidate(tcpOnly.iceCandidates[0], 'tcp');
	} finally {
		udpOnly.close();
		tcpOnly.close();
	}
});

test('preferTcp ranks the tcp candidate first; announcedAddress is the candidate address', async () => {
	const transport = await ctx.router.createWebRtcTransport({
		listenInfos: [{ ...udp, announcedAddress: '203.0.113.7' }, tcp],
		preferTcp: true,
	});
	try {
		const [u, t] = transport.iceCandidates;
		assert.equal(u.address, '203.0.113.7');
		assert.ok(t.priority > u.priority);
	} finally {
		transport.close();
	}
});

test('legacy listenIps: udp only by default, tcp with enableTcp, announcedIp honoured', async () => {
	const plain = await ctx.router.createWebRtcTransport({ listenIps: ['127.0.0.1'] });
	const both = await ctx.router.createWebRtcTransport({ listenIps: [{ ip: '127.0.0.1', announcedIp: '198.51.100.1' }], enableTcp: true });
	try {
		assert.equal(plain.iceCandidates.length, 1);
		assertCandidate(plain.iceCandidates[0], 'udp');
		assert.deepEqual(both.iceCandidates.map((c) => [c.protocol, c.address]), [
			['udp', '198.51.100.1'],
			['tcp', '198.51.100.1'],
		]);
		assert.equal(both.iceCandidates[1].tcpType, 'passive');
	} finally {
		plain.close();
		both.close();
	}
});

test('bad options reject with TypeError naming the field', async () => {
	const cases = [
		[{}, /listenInfos/],
		[{ listenInfos: [] }, /listenInfos/],
		[{ listenInfos: 'udp' }, /listenInfos/],
		[{ listenInfos: [{ protocol: 'sctp', ip: '127.0.0.1' }] }, /listenInfos\[0\]\.protocol/],
		[{ listenInfos: [{ protocol: 'udp', ip: 'nope' }] }, /listenInfos\[0\]/],
		[{ listenInfos: [udp], enableUdp: false }, /enableUdp/],
		[{ listenIps: ['127.0.0.1'], enableUdp: false }, /enableUdp/],
		[{ webRtcServer: { id: 'fake' } }, /webRtcServer/],
		[{ listenInfos: [udp], appData: 'x' }, /appData/],
		['127.0.0.1', /options/],
	];
	for (const [options, fragment] of cases) {
		await assert.rejects(ctx.router.createWebRtcTransport(options), (error) => {
			assert.equal(error.constructor, TypeError, `${JSON.stringify(options)}: ${error.constructor.name}: ${error.message}`);
			assert.match(error.message, fragment);
			return true;
		});
	}
});

test('a STUN Binding request with the right credentials is answered and completes ICE', async () => {
	const transport = await ctx.router.createWebRtcTransport({ listenInfos: [udp] });
	const socket = await h.udpSocket();
	try {
		const events = h.recordEvents(transport, ['icestatechange', 'iceselectedtuplechange', 'dtlsstatechange']);
		const observed = h.recordEvents(transport.observer, ['icestatechange', 'iceselectedtuplechange']);
		const selected = h.nextEvent(transport, 'iceselectedtuplechange');

		const response = await h.stunCheck(socket, udpPort(transport), credentials(transport));
		assert.ok(response, 'a STUN response');
		assert.equal(response.type, 'success');
		assert.deepEqual(response.mappedAddress, { ip: '127.0.0.1', port: socket.address().port }, 'XOR-MAPPED-ADDRESS is the sender');

		const [tuple] = await selected;
		assert.equal(tuple.protocol, 'udp');
		assert.equal(tuple.localPort, udpPort(transport));
		assert.equal(tuple.localAddress, '127.0.0.1');
		assert.equal(tuple.remoteIp, '127.0.0.1');
		assert.equal(tuple.remotePort, socket.address().port);
		await h.waitUntil(() => transport.iceState === 'completed', () => `iceState ${transport.iceState}`);
		assert.deepEqual(transport.iceSelectedTuple, tuple);

		const states = events.filter(([e]) => e === 'icestatechange').map(([, s]) => s);
		assert.equal(states.at(-1), 'completed', `icestatechange: ${states}`);
		assert.deepEqual(observed.filter(([e]) => e === 'icestatechange').map(([, s]) => s), states, 'observer sees the same states');
		assert.deepEqual(observed.find(([e]) => e === 'iceselectedtuplechange')[1], tuple);
		assert.deepEqual(events.filter(([e]) => e === 'dtlsstatechange'), [], 'no DTLS before connect()');

		// A repeated check is answered again and changes nothing.
		const again = await h.stunCheck(socket, udpPort(transport), credentials(transport));
		assert.equal(again.type, 'success');
		await h.sleep(50);
		assert.equal(events.filter(([e]) => e === 'iceselectedtuplechange').length, 1);

		const [stats] = await transport.getStats();
		assert.equal(stats.iceState, 'completed');
		assert.deepEqual(stats.iceSelectedTuple, tuple);
		assert.ok(stats.bytesReceived > 0 && stats.bytesSent > 0, 'STUN counted in the transport stats');
	} finally {
		socket.close();
		transport.close();
	}
});

test('a check without USE-CANDIDATE connects ICE without completing it', async () => {
	const transport = await ctx.router.createWebRtcTransport({ listenInfos: [udp] });
	const socket = await h.udpSocket();
	try {
		const response = await h.stunCheck(socket, udpPort(transport), credentials(transport), { useCandidate: false });
		assert.equal(response.type, 'success');
		await h.waitUntil(() => transport.iceState === 'connected', () => `iceState ${transport.iceState}`);
		assert.equal(transport.iceSelectedTuple.remotePort, socket.address().port);
	} finally {
		socket.close();
		transport.close();
	}
});

test('wrong password or unknown ufrag: no answer, no state change', async () => {
	const transport = await ctx.router.createWebRtcTransport({ listenInfos: [udp] });
	const socket = await h.udpSocket();
	try {
		const events = h.recordEvents(transport, ['icestatechange', 'iceselectedtuplechange']);
		const wrongPassword = await h.stunCheck(socket, udpPort(transport), { ...credentials(transport), password: 'x'.repeat(32) }, { timeoutMs: 300 });
		assert.equal(wrongPassword, undefined, 'no answer to a bad MESSAGE-INTEGRITY');
		const wrongUfrag = await h.stunCheck(socket, udpPort(transport), { ...credentials(transport), usernameFragment: 'nobody' }, { timeoutMs: 300 });
		assert.equal(wrongUfrag, undefined, 'no answer to an unknown username');
		assert.deepEqual(events, []);
		assert.equal(transport.iceState, 'new');
		assert.equal(transport.iceSelectedTuple, undefined);
	} finally {
		socket.close();
		transport.close();
	}
});

test('ICE over TCP (RFC 4571 framing) reaches the transport', async () => {
	const transport = await ctx.router.createWebRtcTransport({ listenInfos: [tcp] });
	const port = transport.iceCandidates[0].port;
	const client = net.connect(port, '127.0.0.1');
	try {
		await once(client, 'connect');
		const selected = h.nextEvent(transport, 'iceselectedtuplechange');
		const { packet, transactionId } = h.stunBindingRequest(credentials(transport));
		const framed = Buffer.alloc(2 + packet.length);
		framed.writeUInt16BE(packet.length, 0);
		packet.copy(framed, 2);
		client.write(framed);

		let received = Buffer.alloc(0);
		await h.waitUntil(() => {
			const chunk = client.read();
			if (chunk) received = Buffer.concat([received, chunk]);
			return received.length >= 2 && received.length >= 2 + received.readUInt16BE(0);
		}, () => `${received.length} bytes over TCP`);
		const response = h.parseStun(received.subarray(2, 2 + received.readUInt16BE(0)));
		assert.equal(response.type, 'success');
		assert.ok(response.transactionId.equals(transactionId));

		const [tuple] = await selected;
		assert.equal(tuple.protocol, 'tcp');
		assert.equal(tuple.localPort, port);
		assert.equal(tuple.remotePort, client.localPort);
		await h.waitUntil(() => transport.iceState === 'completed', () => `iceState ${transport.iceState}`);
	} finally {
		client.destroy();
		transport.close();
	}
});

test('restartIce() returns new credentials, updates iceParameters, and they work', async () => {
	const transport = await ctx.router.createWebRtcTransport({ listenInfos: [udp] });
	const socket = await h.udpSocket();
	try {
		const before = transport.iceParameters;
		const after = await transport.restartIce();
		assertIceParameters(after);
		assert.notEqual(after.usernameFragment, before.usernameFragment);
		assert.notEqual(after.password, before.password);
		assert.deepEqual(transport.iceParameters, after);
		const response = await h.stunCheck(socket, udpPort(transport), credentials(transport));
		assert.equal(response.type, 'success');
		await h.waitUntil(() => transport.iceState === 'completed', () => `iceState ${transport.iceState}`);
		assert.deepEqual((await transport.dump()).iceParameters, after);
	} finally {
		socket.close();
		transport.close();
	}
});

test('connect(): bad input is a TypeError naming the field; a second call fails', async () => {
	const transport = await ctx.router.createWebRtcTransport({ listenInfos: [udp] });
	try {
		const cases = [
			[undefined, /dtlsParameters/],
			[{}, /dtlsParameters/],
			[{ dtlsParameters: null }, /dtlsParameters/],
			[{ dtlsParameters: { role: 'auto' } }, /dtlsParameters.*fingerprints|fingerprints.*dtlsParameters/],
			[{ dtlsParameters: { fingerprints: 'AB:CD' } }, /dtlsParameters\.fingerprints/],
			[{ dtlsParameters: { role: 'boss', fingerprints: [{ algorithm: 'sha-256', value: 'AB' }] } }, /dtlsParameters\.role/],
			[{ dtlsParameters: { role: 'client', fingerprints: [] } }, /dtlsParameters\.fingerprints/],
			[{ dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'md5', value: 'AB' }] } }, /dtlsParameters\.fingerprints/],
		];
		for (const [params, fragment] of cases) {
			await assert.rejects(transport.connect(params), (error) => {
				assert.equal(error.constructor, TypeError, `${JSON.stringify(params)}: ${error.constructor.name}: ${error.message}`);
				assert.match(error.message, fragment);
				return true;
			});
		}
		assert.equal(transport.dtlsState, 'new', 'failed connect() calls change nothing');

		const remote = { role: 'server', fingerprints: [{ algorithm: 'sha-256', value: transport.dtlsParameters.fingerprints[0].value }] };
		const dtlsStates = h.recordEvents(transport, ['dtlsstatechange']);
		const observedDtlsStates = h.recordEvents(transport.observer, ['dtlsstatechange']);
		await transport.connect({ dtlsParameters: remote });
		assert.equal(transport.dtlsParameters.role, 'client', 'the remote is the DTLS server, so we are the client');
		assertDtlsParameters(transport.dtlsParameters, 'client');
		await h.waitUntil(() => transport.dtlsState === 'connecting', () => `dtlsState ${transport.dtlsState}`);
		assert.deepEqual(dtlsStates, [['dtlsstatechange', 'connecting']]);
		assert.deepEqual(observedDtlsStates, dtlsStates);

		await assert.rejects(transport.connect({ dtlsParameters: remote }), (error) => {
			assert.ok(error instanceof Error);
			assert.match(error.message, /connect\(\) already called/);
			return true;
		});
	} finally {
		transport.close();
	}
});

test('connect() with a client remote makes us the DTLS server', async () => {
	const transport = await ctx.router.createWebRtcTransport({ listenInfos: [udp] });
	try {
		await transport.connect({ dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AB:CD' }] } });
		assert.equal(transport.dtlsParameters.role, 'server');
	} finally {
		transport.close();
	}
});

test('bitrate setters accept numbers and reject anything else', async () => {
	const transport = await ctx.router.createWebRtcTransport({ listenInfos: [udp] });
	try {
		await transport.setMaxIncomingBitrate(1_500_000);
		await transport.setMaxOutgoingBitrate(2_000_000);
		await transport.setMinOutgoingBitrate(100_000);
		await transport.setMaxIncomingBitrate(0);
		await transport.setMinIncomingBitrate(100_000);
		for (const method of ['setMaxIncomingBitrate', 'setMinIncomingBitrate', 'setMaxOutgoingBitrate', 'setMinOutgoingBitrate']) {
			await assert.rejects(transport[method]('fast'), TypeError);
			await assert.rejects(transport[method](-1), TypeError);
		}
	} finally {
		transport.close();
	}
});

test('dump() and getStats() carry the mediasoup fields', async () => {
	const transport = await ctx.router.createWebRtcTransport({ listenInfos: [udp, tcp] });
	try {
		const producer = await transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(4242) });
		const dump = await transport.dump();
		assert.equal(dump.id, transport.id);
		assert.equal(dump.iceRole, 'controlled');
		assert.deepEqual(dump.iceParameters, transport.iceParameters);
		assert.deepEqual(dump.iceCandidates, transport.iceCandidates);
		assert.equal(dump.iceState, 'new');
		assert.equal(dump.iceSelectedTuple, undefined);
		assert.equal(dump.dtlsParameters.role, 'auto');
		assert.deepEqual(dump.dtlsParameters.fingerprints, transport.dtlsParameters.fingerprints);
		assert.equal(dump.dtlsState, 'new');
		assert.deepEqual(dump.producerIds, [producer.id]);
		assert.deepEqual(dump.consumerIds, []);

		const stats = await transport.getStats();
		assert.equal(stats.length, 1);
		const [s] = stats;
		assert.equal(s.type, 'webrtc-transport');
		assert.equal(s.transportId, transport.id);
		assert.equal(typeof s.timestamp, 'number');
		assert.equal(s.iceRole, 'controlled');
		assert.equal(s.iceState, 'new');
		assert.equal(s.dtlsState, 'new');
		for (const field of ['bytesReceived', 'recvBitrate', 'bytesSent', 'sendBitrate', 'rtpBytesReceived', 'rtpBytesSent']) {
			assert.equal(typeof s[field], 'number', field);
		}
	} finally {
		transport.close();
	}
});

test('close(): states become closed, children get transportclose, the engine stops answering', async () => {
	const transport = await ctx.router.createWebRtcTransport({ listenInfos: [udp] });
	const socket = await h.udpSocket();
	try {
		const producer = await transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(5151) });
		const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: ctx.router.rtpCapabilities });
		assert.equal((await h.stunCheck(socket, udpPort(transport), credentials(transport))).type, 'success');
		await h.waitUntil(() => transport.iceState === 'completed', () => `iceState ${transport.iceState}`);

		const log = [];
		producer.on('transportclose', () => log.push('producer:transportclose'));
		consumer.on('transportclose', () => log.push('consumer:transportclose'));
		transport.on('icestatechange', (s) => log.push(`icestatechange:${s}`));
		transport.observer.on('close', () => log.push('transport.observer:close'));
		transport.close();
		assert.equal(transport.closed, true);
		assert.equal(transport.iceState, 'closed');
		assert.equal(transport.iceSelectedTuple, undefined);
		assert.equal(transport.dtlsState, 'closed');
		assert.equal(producer.closed, true);
		assert.equal(consumer.closed, true);
		assert.deepEqual(log, ['producer:transportclose', 'consumer:transportclose', 'transport.observer:close']);

		await assert.rejects(transport.connect({ dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'AB' }] } }), InvalidStateError);
		await assert.rejects(transport.restartIce(), InvalidStateError);
		await assert.rejects(transport.getStats(), InvalidStateError);
		assert.deepEqual((await ctx.router.dump()).transportIds.includes(transport.id), false);
		const late = await h.stunCheck(socket, udpPort(transport), credentials(transport), { timeoutMs: 300 });
		assert.equal(late, undefined, 'a closed transport does not answer');
		assert.ok(!log.some((e) => e.startsWith('icestatechange')), 'no events after close');
		transport.close(); // idempotent
	} finally {
		socket.close();
	}
});

test('router.close() closes its WebRTC transports with routerclose', async () => {
	const router = await ctx.worker.createRouter({ mediaCodecs: h.mediaCodecs });
	const transport = await router.createWebRtcTransport({ listenInfos: [udp] });
	const log = h.recordEvents(transport, ['routerclose']);
	const observed = h.recordEvents(transport.observer, ['close']);
	assert.equal(router.transportsForTesting.size, 1);
	router.close();
	assert.deepEqual(log, [['routerclose']]);
	assert.deepEqual(observed, [['close']]);
	assert.equal(transport.closed, true);
	assert.equal(transport.iceState, 'closed');
	assert.equal(transport.dtlsState, 'closed');
	assert.equal(router.transportsForTesting.size, 0);
});

test('bandwidth estimation: availableOutgoingBitrate starts at initialAvailableOutgoingBitrate and follows set{Max,Min}OutgoingBitrate', async () => {
	const worker = await mediasoup.createWorker();
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const transport = await router.createWebRtcTransport({ listenInfos: [h.listenInfo], initialAvailableOutgoingBitrate: 800000 });
		const available = async () => (await transport.getStats())[0].availableOutgoingBitrate;
		assert.equal(await available(), 800000);
		await transport.setMaxOutgoingBitrate(500000);
		assert.equal(await available(), 500000);
		await assert.rejects(transport.setMinOutgoingBitrate(700000), (e) => e instanceof TypeError && /minimum/.test(e.message));
		await assert.rejects(transport.setMaxOutgoingBitrate(-1), TypeError);
		await transport.setMaxOutgoingBitrate(0);
		await transport.setMinOutgoingBitrate(900000);
		assert.equal(await available(), 900000);
		// setMaxIncomingBitrate: reported, and announced to the remote as REMB once it publishes.
		await transport.setMaxIncomingBitrate(300000);
		assert.equal((await transport.getStats())[0].maxIncomingBitrate, 300000);
		// setMinIncomingBitrate: a floor for REMB-only publishers, never above the cap.
		await transport.setMaxIncomingBitrate(300000);
		await assert.rejects(transport.setMinIncomingBitrate(400000), (e) => e instanceof TypeError && /maximum/.test(e.message));
		await transport.setMinIncomingBitrate(100000);
		assert.equal((await transport.getStats())[0].minIncomingBitrate, 100000);
		await assert.rejects(transport.setMaxIncomingBitrate(50000), (e) => e instanceof TypeError && /minimum/.test(e.message));
		await transport.setMinIncomingBitrate(0);
		assert.equal((await transport.getStats())[0].minIncomingBitrate, undefined);
		await transport.setMaxIncomingBitrate(0);
		assert.equal((await transport.getStats())[0].maxIncomingBitrate, undefined);
		// Nothing published yet: no receive-side estimate.
		assert.equal((await transport.getStats())[0].availableIncomingBitrate, undefined);
		// 'bwe' trace events report the estimate as the allocation runs (every 500 ms), once a
		// peer is there: before any ICE check the transport is dormant (as mediasoup's congestion
		// control starts when the transport connects).
		const traces = [];
		transport.on('trace', (t) => traces.push(t));
		await transport.enableTraceEvent(['bwe']);
		await h.sleep(700);
		assert.equal(traces.length, 0, 'no estimate to report before a peer checks in');
		const socket = await h.udpSocket();
		try {
			assert.ok(await h.stunCheck(socket, udpPort(transport), credentials(transport)), 'binding response');
			await h.waitUntil(() => traces.length > 0, () => 'no bwe trace', 3000);
		} finally {
			socket.close();
		}
		assert.equal(traces[0].type, 'bwe');
		assert.equal(traces[0].info.availableBitrate, 900000);
	} finally {
		worker.close();
	}
});
