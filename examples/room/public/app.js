// The room page: joins a room over socket.io, publishes camera (VP8, 3-layer simulcast) and
// microphone with mediasoup-client, and shows everyone else. Bundled by esbuild into bundle.js.
//
// URL: /?room=demo&name=Alice[&tcp=1][&nocam=1]
//   tcp=1    this peer's transports are TCP only (ICE-TCP)
//   nocam=1  join without publishing (watch only)
//
// `window.room` exposes the state and `report()` (every getStats() the page can see) for the
// browser tests and for poking around in the console.

import { Device } from 'mediasoup-client';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

const state = {
	room: params.get('room') || '',
	name: params.get('name') || '',
	tcp: params.get('tcp') === '1',
	publish: params.get('nocam') !== '1',
	// `vp8` (default): 3-layer simulcast; `vp9svc`: one VP9 stream with 3 spatial × 3 temporal layers.
	video: params.get('video') || 'vp8',
	// `remb`: negotiate without transport-cc, so bandwidth estimation runs on REMB both ways
	// (the server's receive-side estimate steers this page's sending).
	bwe: params.get('bwe') || 'transport-cc',
	phase: 'idle', // idle | joining | joined | left | failed
	peerId: null,
	device: null,
	sendTransport: null,
	recvTransport: null,
	/** 'audio' | 'video' -> mediasoup-client Producer */
	producers: new Map(),
	/** consumer id -> { consumer, peerId } */
	consumers: new Map(),
	/** peer id -> { id, name, tile } ; 'me' is the local tile */
	peers: new Map(),
	/** label -> mediasoup-client DataProducer ('chat' is the room's chat) */
	dataProducers: new Map(),
	/** data consumer id -> { dataConsumer, peerId, peerName } */
	dataConsumers: new Map(),
	/** every data message received: { label, from, ppid, size, text?, digest } */
	dataMessages: [],
	errors: [],
	events: [],
};

// socket.io's client is served by the server at /socket.io/socket.io.js.
const socket = window.io({ autoConnect: false, transports: ['websocket'] });

function note(message) {
	state.events.push(`${new Date().toISOString().slice(11, 23)} ${message}`);
	if (state.events.length > 200) state.events.shift();
}

function fail(where, error) {
	const message = `${where}: ${error && error.message ? error.message : error}`;
	console.error(message, error);
	state.errors.push(message);
	showNotice(message);
}

function showNotice(text) {
	const el = $('notice');
	el.textContent = text;
	el.hidden = !text;
}

function setStatus(text) {
	$('status').textContent = text;
}

function request(event, data = {}) {
	return new Promise((resolve, reject) => {
		socket.timeout(15000).emit(event, data, (err, res) => {
			if (err) reject(new Error(`${event}: no answer from the server`));
			else if (res && res.error) reject(new Error(`${event}: ${res.error}`));
			else resolve(res ? res.ok : undefined);
		});
	});
}

// ---------------------------------------------------------------------------------------------
// Tiles

function addTile(id, name, { local = false } = {}) {
	let peer = state.peers.get(id);
	if (peer) return peer;
	const tile = $('tile-template').content.firstElementChild.cloneNode(true);
	tile.dataset.peer = id;
	tile.classList.toggle('local', local);
	tile.classList.add('no-video');
	tile.querySelector('.name').textContent = local ? `${name} (you)` : name;
	tile.querySelector('.avatar').textContent = (name.trim()[0] || '?').toUpperCase();
	if (local) tile.querySelector('audio').remove();
	peer = { id, name, tile, video: null, audio: null };
	state.peers.set(id, peer);
	if (local) $('grid').prepend(tile);
	else $('grid').append(tile);
	layout();
	return peer;
}

function removeTile(id) {
	const peer = state.peers.get(id);
	if (!peer) return;
	peer.tile.remove();
	state.peers.delete(id);
	layout();
}

function setTrack(peer, kind, track) {
	const el = peer.tile.querySelector(kind);
	if (!el) return;
	el.srcObject = track ? new MediaStream([track]) : null;
	if (track) el.play().catch(() => {}); // autoplay does it; play() covers a late attach
	if (kind === 'video') peer.tile.classList.toggle('no-video', !track);
}

function setFlag(peer, kind, off) {
	peer.tile.classList.toggle(kind === 'audio' ? 'mic-muted' : 'cam-muted', off);
}

// Tiles keep a 16:9 shape: pick the column count that makes them largest in the space there is.
const TILE_ASPECT = 16 / 9;
const GAP = 12;

function layout() {
	const n = Math.max(1, state.peers.size);
	const grid = $('grid');
	const width = grid.clientWidth;
	const height = grid.clientHeight;
	let best = { cols: 1, tileWidth: 0 };
	for (let cols = 1; cols <= n; cols++) {
		const rows = Math.ceil(n / cols);
		const tileWidth = Math.min((width - GAP * (cols - 1)) / cols, ((height - GAP * (rows - 1)) / rows) * TILE_ASPECT);
		if (tileWidth > best.tileWidth) best = { cols, tileWidth };
	}
	grid.style.setProperty('--cols', String(best.cols));
	grid.style.setProperty('--tile-width', `${Math.max(160, Math.floor(best.tileWidth))}px`);
	if (state.phase === 'joined') setStatus(`${n} in the room`);
}

window.addEventListener('resize', layout);

// ---------------------------------------------------------------------------------------------
// Joining, publishing, consuming

async function join() {
	state.phase = 'joining';
	setStatus('Joining…');
	$('room-name').textContent = state.room;
	document.title = `${state.room} · libsfu room`;
	socket.connect();

	const joined = await request('join', { room: state.room, name: state.name, tcp: state.tcp });
	state.peerId = joined.peerId;
	note(`joined as ${joined.peerId}`);
	for (const p of joined.peers) addTile(p.id, p.name);

	state.device = new Device();
	const caps = state.bwe === 'remb' ? withoutTransportCc(joined.routerRtpCapabilities) : joined.routerRtpCapabilities;
	await state.device.load({ routerRtpCapabilities: caps });

	state.recvTransport = await createTransport('recv');
	// From here on the server pushes 'newConsumer' for every producer of the other peers.
	await request('ready', { rtpCapabilities: state.device.rtpCapabilities });
	// Chat goes over a data channel (SCTP through the SFU), whether or not we publish media.
	if (!state.sendTransport) state.sendTransport = await createTransport('send');
	state.dataProducers.set('chat', await state.sendTransport.produceData({ ordered: true, label: 'chat' }));
	$('chat').hidden = false;

	state.phase = 'joined';
	$('controls').hidden = false;
	layout();

	if (state.publish) await publish();
	else addTile('me', state.name, { local: true });
	updateButtons();
}

async function createTransport(direction) {
	const info = await request('createTransport', { direction, sctpCapabilities: state.device.sctpCapabilities });
	const transport =
		direction === 'send' ? state.device.createSendTransport(info) : state.device.createRecvTransport(info);
	transport.on('connect', ({ dtlsParameters }, callback, errback) => {
		request('connectTransport', { transportId: transport.id, dtlsParameters }).then(callback, errback);
	});
	transport.on('connectionstatechange', (s) => {
		note(`${direction} transport ${s}`);
		if (s === 'failed') fail(`${direction} transport`, 'ICE/DTLS connection failed');
	});
	if (direction === 'send') {
		transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
			request('produce', { transportId: transport.id, kind, rtpParameters, appData }).then(callback, errback);
		});
		transport.on('producedata', ({ sctpStreamParameters, label, protocol, appData }, callback, errback) => {
			request('produceData', { transportId: transport.id, sctpStreamParameters, label, protocol, appData }).then(callback, errback);
		});
	}
	return transport;
}

async function publish() {
	const me = addTile('me', state.name, { local: true });
	let stream;
	try {
		stream = await navigator.mediaDevices.getUserMedia({
			audio: true,
			video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
		});
	} catch (error) {
		fail('camera/microphone', error);
		return;
	}
	state.sendTransport = await createTransport('send');

	const audioTrack = stream.getAudioTracks()[0];
	if (audioTrack && state.device.canProduce('audio')) {
		const producer = await state.sendTransport.produce({
			track: audioTrack,
			codecOptions: { opusStereo: false, opusDtx: true, opusFec: true },
			appData: { source: 'mic' },
		});
		state.producers.set('audio', producer);
		note(`producing audio ${producer.id}`);
	}

	const videoTrack = stream.getVideoTracks()[0];
	if (videoTrack && state.device.canProduce('video')) {
		setTrack(me, 'video', videoTrack);
		const svc = state.video === 'vp9svc';
		const mime = svc ? 'video/vp9' : 'video/vp8';
		const codec = state.device.rtpCapabilities.codecs.find((c) => c.mimeType.toLowerCase() === mime);
		const producer = await state.sendTransport.produce({
			track: videoTrack,
			codec,
			encodings: svc
				? // One stream, three spatial layers (quarter, half, full) with key-frame-only inter-layer prediction.
					[{ maxBitrate: 2_000_000, scalabilityMode: 'L3T3_KEY' }]
				: // Three spatial layers (quarter, half, full resolution), three temporal layers each.
					[
						{ scaleResolutionDownBy: 4, maxBitrate: 150_000, scalabilityMode: 'L1T3' },
						{ scaleResolutionDownBy: 2, maxBitrate: 500_000, scalabilityMode: 'L1T3' },
						{ scaleResolutionDownBy: 1, maxBitrate: 1_500_000, scalabilityMode: 'L1T3' },
					],
			codecOptions: { videoGoogleStartBitrate: 1000 },
			appData: { source: 'camera' },
		});
		state.producers.set('video', producer);
		note(`producing video ${producer.id}`);
	}
	updateButtons();
}

// The server has created a (paused) consumer for us: mirror it locally, then resume it.
async function onNewConsumer(info) {
	const { id, producerId, kind, rtpParameters, peerId, peerName, producerPaused } = info;
	const consumer = await state.recvTransport.consume({ id, producerId, kind, rtpParameters });
	state.consumers.set(id, { consumer, peerId });
	note(`consuming ${kind} of ${peerName} (${id})`);
	const peer = addTile(peerId, peerName);
	peer[kind] = consumer;
	setTrack(peer, kind, consumer.track);
	setFlag(peer, kind, producerPaused);
	consumer.on('trackended', () => dropConsumer(id));
	consumer.on('transportclose', () => dropConsumer(id));
	await request('resumeConsumer', { consumerId: id });
}

// ---------------------------------------------------------------------------------------------
// Data channels: the chat, and any other channel a test opens

/** FNV-1a over the bytes of a message (string as UTF-8): what both ends compare. */
function digest(data) {
	const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data);
	let h = 0x811c9dc5;
	for (let i = 0; i < bytes.length; i++) {
		h ^= bytes[i];
		h = Math.imul(h, 0x01000193) >>> 0;
	}
	return { size: bytes.length, digest: h.toString(16) };
}

async function onNewDataConsumer(info) {
	const { id, dataProducerId, sctpStreamParameters, label, protocol, peerId, peerName } = info;
	const dataConsumer = await state.recvTransport.consumeData({ id, dataProducerId, sctpStreamParameters, label, protocol });
	state.dataConsumers.set(id, { dataConsumer, peerId, peerName });
	note(`consuming data "${label}" of ${peerName} (${id})`);
	dataConsumer.on('message', (data) => {
		const text = typeof data === 'string' ? data : undefined;
		state.dataMessages.push({ label, from: peerName, binary: text === undefined, text: text && text.length <= 200 ? text : undefined, ...digest(data) });
		if ((label === 'chat' || label === 'notices') && text !== undefined) addChatLine(peerName, text);
	});
	dataConsumer.on('transportclose', () => state.dataConsumers.delete(id));
}

function addChatLine(from, text) {
	const line = document.createElement('p');
	const who = document.createElement('b');
	who.textContent = `${from}: `;
	line.append(who, document.createTextNode(text));
	$('chat-log').append(line);
	$('chat-log').scrollTop = $('chat-log').scrollHeight;
}

function sendChat(text) {
	const chat = state.dataProducers.get('chat');
	if (!chat || !text) return false;
	chat.send(text);
	addChatLine(`${state.name} (you)`, text);
	return true;
}

/** Deterministic bytes for tests: `size` bytes from a small LCG seeded with `seed`. */
function testBytes(size, seed) {
	const out = new Uint8Array(size);
	let x = seed >>> 0 || 1;
	for (let i = 0; i < size; i++) {
		x = (Math.imul(x, 1103515245) + 12345) >>> 0;
		out[i] = x >>> 24;
	}
	return out;
}

function dropConsumer(id) {
	const entry = state.consumers.get(id);
	if (!entry) return;
	state.consumers.delete(id);
	const { consumer, peerId } = entry;
	consumer.close();
	const peer = state.peers.get(peerId);
	if (peer && peer[consumer.kind] === consumer) {
		peer[consumer.kind] = null;
		setTrack(peer, consumer.kind, null);
	}
}

function consumerPeer(consumerId) {
	const entry = state.consumers.get(consumerId);
	return entry ? { peer: state.peers.get(entry.peerId), kind: entry.consumer.kind } : {};
}

socket.on('newConsumer', (info) => {
	onNewConsumer(info).catch((error) => fail(`consume ${info.kind} of ${info.peerName}`, error));
});
socket.on('consumerClosed', ({ consumerId }) => dropConsumer(consumerId));
socket.on('newDataConsumer', (info) => {
	onNewDataConsumer(info).catch((error) => fail(`consumeData ${info.label} of ${info.peerName}`, error));
});
socket.on('dataConsumerClosed', ({ dataConsumerId }) => {
	const entry = state.dataConsumers.get(dataConsumerId);
	if (!entry) return;
	state.dataConsumers.delete(dataConsumerId);
	entry.dataConsumer.close();
});
socket.on('consumerPaused', ({ consumerId }) => {
	const { peer, kind } = consumerPeer(consumerId);
	if (peer) setFlag(peer, kind, true);
});
socket.on('consumerResumed', ({ consumerId }) => {
	const { peer, kind } = consumerPeer(consumerId);
	if (peer) setFlag(peer, kind, false);
});
socket.on('peerJoined', ({ id, name }) => {
	note(`${name} joined`);
	addTile(id, name);
});
socket.on('peerLeft', ({ id }) => {
	for (const [cid, entry] of state.consumers) if (entry.peerId === id) dropConsumer(cid);
	const peer = state.peers.get(id);
	if (peer) note(`${peer.name} left`);
	removeTile(id);
});
socket.on('disconnect', (reason) => {
	if (state.phase === 'joined') {
		state.phase = 'failed';
		setStatus('Disconnected');
		showNotice(`Lost the connection to the server (${reason}). Reload to join again.`);
	}
});

// ---------------------------------------------------------------------------------------------
// Controls

async function toggle(kind) {
	const producer = state.producers.get(kind);
	if (!producer) return;
	const mute = !producer.paused;
	if (mute) producer.pause();
	else producer.resume();
	updateButtons();
	try {
		await request(mute ? 'pauseProducer' : 'resumeProducer', { producerId: producer.id });
	} catch (error) {
		fail(`${mute ? 'mute' : 'unmute'} ${kind}`, error);
	}
}

function updateButtons() {
	const me = state.peers.get('me');
	for (const [kind, btn, what] of [
		['audio', $('btn-mic'), 'microphone'],
		['video', $('btn-cam'), 'camera'],
	]) {
		const producer = state.producers.get(kind);
		btn.disabled = !producer;
		const off = !producer || producer.paused;
		btn.classList.toggle('off', off);
		btn.setAttribute('aria-pressed', String(off));
		btn.title = off ? `Turn ${what} on` : `Turn ${what} off`;
		if (me) setFlag(me, kind, off);
	}
}

async function leave() {
	if (state.phase !== 'joined') return;
	state.phase = 'left';
	try {
		await request('leave');
	} catch {
		// The server cleans up on disconnect anyway.
	}
	for (const producer of state.producers.values()) producer.track && producer.track.stop();
	state.sendTransport && state.sendTransport.close();
	state.recvTransport && state.recvTransport.close();
	socket.disconnect();
	for (const id of [...state.peers.keys()]) removeTile(id);
	$('controls').hidden = true;
	$('left').hidden = false;
	$('rejoin').href = location.href;
	setStatus('Left');
}

$('btn-mic').addEventListener('click', () => toggle('audio'));
$('btn-cam').addEventListener('click', () => toggle('video'));
$('btn-leave').addEventListener('click', () => leave());

// ---------------------------------------------------------------------------------------------
// Stats: a small overlay per tile, refreshed every second

const previous = new Map(); // stats id -> { bytes, ts }

function rate(id, bytes, ts) {
	const prev = previous.get(id);
	previous.set(id, { bytes, ts });
	if (!prev || ts <= prev.ts) return 0;
	return ((bytes - prev.bytes) * 8) / (ts - prev.ts); // kbit/s (ts in ms)
}

function fmtKbps(kbps) {
	return kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mb/s` : `${Math.round(kbps)} kb/s`;
}

async function tileStats(peer) {
	const lines = [];
	if (peer.id === 'me') {
		const producer = state.producers.get('video');
		if (!producer || producer.paused) return '';
		let best = null;
		let kbps = 0;
		let layers = 0;
		for (const s of (await producer.getStats()).values()) {
			if (s.type !== 'outbound-rtp') continue;
			kbps += rate(s.id, s.bytesSent || 0, s.timestamp);
			if (s.frameWidth) layers++;
			if (s.frameWidth && (!best || s.frameWidth > best.frameWidth)) best = s;
		}
		if (best) lines.push(`${best.frameWidth}×${best.frameHeight} · ${Math.round(best.framesPerSecond || 0)} fps`);
		lines.push(`↑ ${fmtKbps(kbps)}${layers ? ` · ${layers} layer${layers > 1 ? 's' : ''}` : ''}`);
	} else {
		if (peer.tile.classList.contains('cam-muted')) return '';
		if (peer.video && !peer.video.closed) {
			for (const s of (await peer.video.getStats()).values()) {
				if (s.type !== 'inbound-rtp') continue;
				if (s.frameWidth) lines.push(`${s.frameWidth}×${s.frameHeight} · ${Math.round(s.framesPerSecond || 0)} fps`);
				lines.push(`↓ ${fmtKbps(rate(s.id, s.bytesReceived || 0, s.timestamp))}`);
			}
		}
	}
	return lines.join('\n');
}

setInterval(async () => {
	for (const peer of state.peers.values()) {
		try {
			const text = await tileStats(peer);
			const el = peer.tile.querySelector('.stats');
			el.textContent = text;
			el.hidden = !text;
		} catch {
			// A consumer closed while we asked: next round.
		}
	}
}, 1000);

// ---------------------------------------------------------------------------------------------
// window.room: what the tests read

function pick(s, keys) {
	const out = {};
	for (const k of keys) if (s[k] !== undefined) out[k] = s[k];
	return out;
}

const INBOUND = [
	'kind', 'ssrc', 'packetsReceived', 'packetsLost', 'bytesReceived', 'jitter', 'nackCount', 'pliCount',
	'firCount', 'framesReceived', 'framesDecoded', 'keyFramesDecoded', 'framesDropped', 'frameWidth',
	'frameHeight', 'framesPerSecond', 'totalSamplesReceived', 'concealedSamples', 'audioLevel',
	'jitterBufferEmittedCount', 'decoderImplementation', 'codecId',
];
const OUTBOUND = [
	'kind', 'rid', 'ssrc', 'rtxSsrc', 'packetsSent', 'bytesSent', 'framesEncoded', 'keyFramesEncoded', 'frameWidth',
	'frameHeight', 'framesPerSecond', 'nackCount', 'pliCount', 'firCount', 'qualityLimitationReason',
	'active', 'scalabilityMode', 'targetBitrate',
];

function transportView(report) {
	const all = [...report.values()];
	const byId = new Map(all.map((s) => [s.id, s]));
	const t = all.find((s) => s.type === 'transport');
	const pair = t && byId.get(t.selectedCandidatePairId);
	const cand = (id) => {
		const c = byId.get(id);
		return c ? `${c.protocol} ${c.address || c.ip}:${c.port} (${c.candidateType})` : undefined;
	};
	return {
		iceState: t && t.iceState,
		dtlsState: t && t.dtlsState,
		srtpCipher: t && t.srtpCipher,
		selectedPair: pair
			? { state: pair.state, local: cand(pair.localCandidateId), remote: cand(pair.remoteCandidateId), requestsSent: pair.requestsSent, responsesReceived: pair.responsesReceived, bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived }
			: undefined,
		pairs: all
			.filter((s) => s.type === 'candidate-pair')
			.map((p) => ({ state: p.state, nominated: p.nominated, local: cand(p.localCandidateId), remote: cand(p.remoteCandidateId), requestsSent: p.requestsSent, responsesReceived: p.responsesReceived })),
	};
}

/** Router capabilities without transport-wide-cc: what a REMB-only endpoint supports. */
function withoutTransportCc(caps) {
	const TWCC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
	return {
		...caps,
		codecs: caps.codecs.map((c) => ({ ...c, rtcpFeedback: (c.rtcpFeedback || []).filter((f) => f.type !== 'transport-cc') })),
		headerExtensions: caps.headerExtensions.filter((e) => e.uri !== TWCC),
	};
}

async function report() {
	const out = {
		name: state.name,
		room: state.room,
		phase: state.phase,
		peerId: state.peerId,
		errors: state.errors,
		events: state.events.slice(-40),
		transports: {},
		producers: [],
		consumers: [],
	};
	for (const [dir, t] of [['send', state.sendTransport], ['recv', state.recvTransport]]) {
		if (!t) continue;
		let view = {};
		try {
			view = transportView(await t.getStats());
		} catch (error) {
			view = { error: String(error) };
		}
		out.transports[dir] = { id: t.id, connectionState: t.connectionState, ...view };
	}
	for (const [kind, p] of state.producers) {
		const stats = [];
		try {
			for (const s of (await p.getStats()).values()) if (s.type === 'outbound-rtp') stats.push(pick(s, OUTBOUND));
		} catch (error) {
			stats.push({ error: String(error) });
		}
		out.producers.push({ kind, id: p.id, paused: p.paused, outbound: stats });
	}
	for (const [id, { consumer, peerId }] of state.consumers) {
		const peer = state.peers.get(peerId);
		let inbound = null;
		try {
			for (const s of (await consumer.getStats()).values()) if (s.type === 'inbound-rtp') inbound = pick(s, INBOUND);
		} catch (error) {
			inbound = { error: String(error) };
		}
		const el = peer && peer.tile.querySelector(consumer.kind);
		out.consumers.push({
			id,
			kind: consumer.kind,
			peerName: peer ? peer.name : peerId,
			paused: consumer.paused,
			track: consumer.track ? consumer.track.readyState : null,
			element: el ? { paused: el.paused, readyState: el.readyState, videoWidth: el.videoWidth, videoHeight: el.videoHeight } : null,
			inbound,
		});
	}
	return out;
}

window.room = {
	state,
	report,
	leave,
	toggle,
	setPreferredLayers: async (spatialLayer, temporalLayer) => {
		for (const [consumerId, { consumer }] of state.consumers) {
			if (consumer.kind === 'video') await request('setConsumerPreferredLayers', { consumerId, spatialLayer, temporalLayer });
		}
	},
	serverStats: () => request('getStats'),
	sendChat,
	/** Opens another data channel on the send transport (mediasoup-client produceData options). */
	produceData: async (options) => {
		const dataProducer = await state.sendTransport.produceData(options);
		state.dataProducers.set(options.label, dataProducer);
		return dataProducer.id;
	},
	/** Sends on channel `label`: text, or `size` deterministic bytes; returns what the receiver must see. */
	sendData: (label, { text, size, seed = 1 }) => {
		const dataProducer = state.dataProducers.get(label);
		if (!dataProducer) throw new Error(`no data producer "${label}"`);
		const data = text !== undefined ? text : testBytes(size, seed);
		dataProducer.send(text !== undefined ? data : data.buffer);
		return digest(text !== undefined ? data : data.buffer);
	},
	dataMessages: () => state.dataMessages,
};

// ---------------------------------------------------------------------------------------------
// Start: join straight away when the URL names the room and the person, else ask.

$('chat-form').addEventListener('submit', (e) => {
	e.preventDefault();
	if (sendChat($('chat-input').value.trim())) $('chat-input').value = '';
});

function start() {
	if (state.room && state.name) {
		join().catch((error) => {
			state.phase = 'failed';
			setStatus('Could not join');
			fail('join', error);
		});
		return;
	}
	const form = $('join-form');
	form.hidden = false;
	$('join-room').value = state.room || 'demo';
	$('join-name').value = state.name || localStorage.getItem('libsfu-name') || '';
	form.addEventListener('submit', (e) => {
		e.preventDefault();
		state.name = $('join-name').value.trim();
		state.room = $('join-room').value.trim();
		if (!state.name || !state.room) return;
		localStorage.setItem('libsfu-name', state.name);
		const url = new URL(location.href);
		url.searchParams.set('room', state.room);
		url.searchParams.set('name', state.name);
		history.replaceState(null, '', url);
		form.hidden = true;
		start();
	});
}

start();
