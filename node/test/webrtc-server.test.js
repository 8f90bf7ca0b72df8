'use strict';

// worker.createWebRtcServer(): shared ports for many WebRtcTransports. STUN checks through the
// server's port reach the transport whose ufrag they name; transports are handled/unhandled;
// server.close() closes its transports with 'listenserverclose'; worker.close() emits
// 'workerclose'.

const { test, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const mediasoup = require('..');
const h = require('./helpers');

const udp = { protocol: 'udp', ip: '127.0.0.1' };
const tcp = { protocol: 'tcp', ip: '127.0.0.1' };

const workers = [];
const sockets = [];
afterEach(() => {
	for (const s of sockets.splice(0)) s.close();
	for (const w of workers.splice(0)) w.close();
});

async function setup(listenInfos = [udp, tcp]) {
	const worker = await mediasoup.createWorker();
	workers.push(worker);
	const webRtcServer = await worker.createWebRtcServer({ listenInfos, appData: { name: 'shared' } });
	const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
	return { worker, webRtcServer, router };
}

async function socket() {
	const s = await h.udpSocket();
	sockets.push(s);
	return s;
}

function credentials(transport) {
	return { usernameFragment: transport.iceParameters.usernameFragment, password: transport.iceParameters.password };
}

function serverPorts(dump) {
	return { udp: dump.udpSockets[0]?.port, tcp: dump.tcpServers[0]?.port };
}

test('createWebRtcServer(): observer, appData, dump and worker tracking', async () => {
	const worker = await mediasoup.createWorker();
	workers.push(worker);
	const created = [];
	worker.observer.on('newwebrtcserver', (s) => created.push(s));
	const webRtcServer = await worker.createWebRtcServer({ listenInfos: [udp, tcp], appData: { foo: 'bar' } });
	assert.deepEqual(created, [webRtcServer]);
	assert.ok(webRtcServer instanceof mediasoup.types.WebRtcServer);
	assert.equal(typeof webRtcServer.id, 'string');
	assert.equal(webRtcServer.closed, false);
	assert.deepEqual(webRtcServer.appData, { foo: 'bar' });
	webRtcServer.appData.more = 1;
	assert.equal(webRtcServer.appData.more, 1);
	assert.throws(() => {
		webRtcServer.appData = 'x';
	}, TypeError);
	assert.equal(worker.webRtcServersForTesting.size, 1);

	const dump = await webRtcServer.dump();
	assert.equal(dump.id, webRtcServer.id);
	assert.equal(dump.udpSockets.length, 1);
	assert.equal(dump.udpSockets[0].ip, '127.0.0.1');
	assert.ok(dump.udpSockets[0].port > 0);
	assert.equal(dump.tcpServers.length, 1);
	assert.ok(dump.tcpServers[0].port > 0);
	assert.deepEqual(dump.webRtcTransportIds, []);
	assert.deepEqual(dump.localIceUsernameFragments, []);
	assert.deepEqual(dump.tupleHashes, []);
	assert.deepEqual((await worker.dump()).webRtcServerIds, [webRtcServer.id]);
});

test('createWebRtcServer() bad options reject with TypeError naming the field', async () => {
	const worker = await mediasoup.createWorker();
	workers.push(worker);
	const cases = [
		[undefined, /listenInfos/],
		[{}, /listenInfos/],
		[{ listenInfos: 'udp' }, /listenInfos/],
		[{ listenInfos: [] }, /listenInfos/],
		[{ listenInfos: [{ protocol: 'udp', ip: 'nope' }] }, /listenInfos\[0\]/],
		[{ listenInfos: [udp], appData: 7 }, /appData/],
	];
	for (const [options, fragment] of cases) {
		await assert.rejects(worker.createWebRtcServer(options), (error) => {
			assert.equal(error.constructor, TypeError, `${JSON.stringify(options)}: ${error.constructor.name}: ${error.message}`);
			assert.match(error.message, fragment);
			return true;
		});
	}
	assert.equal(worker.webRtcServersForTesting.size, 0);
});

test('a transport on a WebRtcServer uses its ports and is handled / unhandled', async () => {
	const { webRtcServer, router } = await setup();
	const ports = serverPorts(await webRtcServer.dump());
	const handled = h.recordEvents(webRtcServer.observer, ['webrtctransporthandled', 'webrtctransportunhandled']);
	const newTransport = h.nextEvent(router.observer, 'newtransport');

	const transport = await router.createWebRtcTransport({ webRtcServer, appData: { peer: 'p1' } });
	assert.deepEqual(await newTransport, [transport]);
	assert.deepEqual(handled, [['webrtctransporthandled', transport]]);
	assert.deepEqual(transport.appData, { peer: 'p1' });
	assert.deepEqual(transport.iceCandidates.map((c) => [c.protocol, c.port, c.type, c.tcpType]), [
		['udp', ports.udp, 'host', undefined],
		['tcp', ports.tcp, 'host', 'passive'],
	]);
	assert.equal(transport.iceState, 'new');
	assert.equal(webRtcServer.webRtcTransportsForTesting.size, 1);

	const tcpOnly = await router.createWebRtcTransport({ webRtcServer, enableUdp: false });
	assert.deepEqual(tcpOnly.iceCandidates.map((c) => [c.protocol, c.port]), [['tcp', ports.tcp]]);

	const dump = await webRtcServer.dump();
	assert.deepEqual(dump.webRtcTransportIds.sort(), [transport.id, tcpOnly.id].sort());
	assert.deepEqual(
		dump.localIceUsernameFragments.map((u) => [u.localIceUsernameFragment, u.webRtcTransportId]).sort(),
		[
			[transport.iceParameters.usernameFragment, transport.id],
			[tcpOnly.iceParameters.usernameFragment, tcpOnly.id],
		].sort(),
	);

	transport.close();
	assert.deepEqual(handled.at(-1), ['webrtctransportunhandled', transport]);
	assert.equal(webRtcServer.webRtcTransportsForTesting.size, 1);
	assert.deepEqual((await webRtcServer.dump()).webRtcTransportIds, [tcpOnly.id]);
	assert.equal(webRtcServer.closed, false, 'closing a transport leaves the server open');
});

test('a STUN check through the server port reaches the transport whose ufrag it names', async () => {
	const { webRtcServer, router } = await setup([udp]);
	const port = serverPorts(await webRtcServer.dump()).udp;
	const transport = await router.createWebRtcTransport({ webRtcServer });
	const s = await socket();
	const states = h.recordEvents(transport, ['icestatechange']);
	const selected = h.nextEvent(transport, 'iceselectedtuplechange');

	const response = await h.stunCheck(s, port, credentials(transport));
	assert.equal(response?.type, 'success');
	assert.equal(response.mappedAddress.port, s.address().port);
	const [tuple] = await selected;
	assert.equal(tuple.localPort, port);
	assert.equal(tuple.remotePort, s.address().port);
	assert.equal(tuple.protocol, 'udp');
	await h.waitUntil(() => transport.iceState === 'completed', () => `iceState ${transport.iceState}`);
	assert.equal(states.at(-1)[1], 'completed');

	const dump = await webRtcServer.dump();
	assert.deepEqual(dump.tupleHashes.map((t) => t.webRtcTransportId), [transport.id]);

	// Wrong password through the server: no answer.
	const other = await socket();
	const bad = await h.stunCheck(other, port, { ...credentials(transport), password: 'y'.repeat(32) }, { timeoutMs: 300 });
	assert.equal(bad, undefined);
	assert.equal(transport.iceSelectedTuple.remotePort, s.address().port);
});

test('two transports on one WebRtcServer: each check reaches its own transport', async () => {
	const { webRtcServer, router } = await setup([udp]);
	const port = serverPorts(await webRtcServer.dump()).udp;
	const a = await router.createWebRtcTransport({ webRtcServer });
	const b = await router.createWebRtcTransport({ webRtcServer });
	assert.notEqual(a.iceParameters.usernameFragment, b.iceParameters.usernameFragment);
	const [sa, sb] = [await socket(), await socket()];
	const aEvents = h.recordEvents(a, ['iceselectedtuplechange']);
	const bEvents = h.recordEvents(b, ['iceselectedtuplechange']);

	assert.equal((await h.stunCheck(sa, port, credentials(a)))?.type, 'success');
	await h.waitUntil(() => a.iceState === 'completed', () => `a.iceState ${a.iceState}`);
	assert.equal(b.iceState, 'new', "a's check leaves b alone");

	assert.equal((await h.stunCheck(sb, port, credentials(b)))?.type, 'success');
	await h.waitUntil(() => b.iceState === 'completed', () => `b.iceState ${b.iceState}`);

	assert.equal(a.iceSelectedTuple.remotePort, sa.address().port);
	assert.equal(b.iceSelectedTuple.remotePort, sb.address().port);
	assert.deepEqual(aEvents.map(([, t]) => t.remotePort), [sa.address().port]);
	assert.deepEqual(bEvents.map(([, t]) => t.remotePort), [sb.address().port]);

	// The server maps each remote address to its transport.
	const dump = await webRtcServer.dump();
	assert.deepEqual(
		dump.tupleHashes.map((t) => t.webRtcTransportId).sort(),
		[a.id, b.id].sort(),
	);

	// An ICE restart on a server transport: the new ufrag is routed too.
	const fresh = await a.restartIce();
	assert.ok((await webRtcServer.dump()).localIceUsernameFragments.some((u) => u.localIceUsernameFragment === fresh.usernameFragment && u.webRtcTransportId === a.id));
	assert.equal((await h.stunCheck(sa, port, credentials(a)))?.type, 'success');
});

test('webRtcServer.close() closes its transports with listenserverclose', async () => {
	const { worker, webRtcServer, router } = await setup();
	const transport = await router.createWebRtcTransport({ webRtcServer });
	const producer = await transport.produce({ kind: 'audio', rtpParameters: h.opusParameters(3131) });
	const other = await router.createWebRtcTransport({ listenInfos: [udp] });
	const log = [];
	const record = (name, emitter, events) => {
		for (const e of events) emitter.on(e, () => log.push(`${name}:${e}`));
	};
	record('producer', producer, ['transportclose']);
	record('transport', transport, ['listenserverclose', 'routerclose']);
	record('transport.observer', transport.observer, ['close']);
	record('server.observer', webRtcServer.observer, ['close', 'webrtctransportunhandled']);
	record('server', webRtcServer, ['workerclose']);

	webRtcServer.close();
	assert.equal(webRtcServer.closed, true);
	assert.equal(transport.closed, true);
	assert.equal(producer.closed, true);
	assert.equal(transport.iceState, 'closed');
	assert.equal(transport.iceSelectedTuple, undefined);
	assert.equal(transport.dtlsState, 'closed');
	assert.equal(transport.sctpState, undefined);
	assert.deepEqual(log, [
		'producer:transportclose',
		'transport:listenserverclose',
		'transport.observer:close',
		'server.observer:webrtctransportunhandled',
		'server.observer:close',
	]);
	assert.equal(webRtcServer.webRtcTransportsForTesting.size, 0);
	assert.deepEqual([...router.transportsForTesting], [other], 'the router forgot the transport');
	assert.equal(worker.webRtcServersForTesting.size, 0);
	assert.equal(other.closed, false, 'transports on their own ports are unaffected');

	// The engine followed.
	assert.deepEqual((await worker.dump()).webRtcServerIds, []);
	assert.deepEqual((await router.dump()).transportIds, [other.id]);
	await assert.rejects(webRtcServer.dump(), mediasoup.errors.InvalidStateError);
	await assert.rejects(router.createWebRtcTransport({ webRtcServer }), mediasoup.errors.NotFoundError);
	webRtcServer.close(); // idempotent
	assert.equal(log.length, 5);
});

test('router.close() unhandles its transports from the server, which stays open', async () => {
	const { webRtcServer, router } = await setup([udp]);
	const transport = await router.createWebRtcTransport({ webRtcServer });
	const unhandled = h.recordEvents(webRtcServer.observer, ['webrtctransportunhandled']);
	router.close();
	assert.equal(transport.closed, true);
	assert.deepEqual(unhandled, [['webrtctransportunhandled', transport]]);
	assert.equal(webRtcServer.closed, false);
	assert.deepEqual((await webRtcServer.dump()).webRtcTransportIds, []);
});

test('worker.close() closes routers first, then WebRtcServers with workerclose', async () => {
	const { worker, webRtcServer, router } = await setup();
	const transport = await router.createWebRtcTransport({ webRtcServer });
	const log = [];
	transport.on('routerclose', () => log.push('transport:routerclose'));
	transport.on('listenserverclose', () => log.push('transport:listenserverclose'));
	router.observer.on('close', () => log.push('router.observer:close'));
	webRtcServer.on('workerclose', () => log.push('server:workerclose'));
	webRtcServer.observer.on('close', () => log.push('server.observer:close'));
	worker.observer.on('close', () => log.push('worker.observer:close'));
	worker.close();
	assert.equal(webRtcServer.closed, true);
	assert.equal(transport.closed, true);
	assert.equal(transport.iceState, 'closed');
	assert.deepEqual(log, [
		'transport:routerclose',
		'router.observer:close',
		'server:workerclose',
		'server.observer:close',
		'worker.observer:close',
	]);
	assert.equal(worker.webRtcServersForTesting.size, 0);
	await assert.rejects(webRtcServer.dump(), mediasoup.errors.WorkerClosedError);
	await assert.rejects(worker.createWebRtcServer({ listenInfos: [udp] }), mediasoup.errors.WorkerClosedError);
});
