'use strict';

// A small conference room on libsfu: Express serves the page, socket.io carries the signaling,
// and the SFU is libsfu's mediasoup v3 API. Room state lives in memory.
//
// Environment:
//   PORT                     HTTP port (default 3000); the server binds 127.0.0.1 only
//   LIBSFU_WEBRTC_SERVER=1   all transports share one WebRtcServer (fixed UDP + TCP port)
//   WEBRTC_SERVER_PORT       that WebRtcServer's port (default 44444, UDP and TCP)
//   LIBSFU_LOG_LEVEL         the worker's logLevel: debug, warn, error (default), none
//   INITIAL_OUTGOING_BITRATE transports' initialAvailableOutgoingBitrate in bps (default 1000000)
//   MAX_INCOMING_BITRATE     setMaxIncomingBitrate() of every transport in bps (default: no cap),
//                            as MiroTalk's `maxIncomingBitrate`
//   ICE_CONSENT_TIMEOUT      transports' iceConsentTimeout in seconds (default 30): how long
//                            without a STUN check from the browser before 'disconnected'
//   ROOM_DEBUG=1             serve GET /debug/state: every transport, producer and consumer with
//                            its server-side getStats() (used by the browser tests), and
//                            GET /debug/max-incoming-bitrate?name=<peer>&bps=<n>: setMaxIncomingBitrate()
//                            on that peer's transports
//   SFU_MODULE               the module that provides the mediasoup API (default 'libsfu'); the
//                            app runs unchanged on `mediasoup` itself

const http = require('node:http');
const path = require('node:path');
const express = require('express');
const { Server: SocketServer } = require('socket.io');

const sfu = require(process.env.SFU_MODULE || 'libsfu');

const LISTEN_IP = '127.0.0.1';
const PORT = Number(process.env.PORT || 3000);
const USE_WEBRTC_SERVER = process.env.LIBSFU_WEBRTC_SERVER === '1';
const WEBRTC_SERVER_PORT = Number(process.env.WEBRTC_SERVER_PORT || 44444);
const LOG_LEVEL = process.env.LIBSFU_LOG_LEVEL || 'error';
const DEBUG_ENDPOINT = process.env.ROOM_DEBUG === '1';
const INITIAL_OUTGOING_BITRATE = Number(process.env.INITIAL_OUTGOING_BITRATE || 1_000_000);
const MAX_INCOMING_BITRATE = Number(process.env.MAX_INCOMING_BITRATE || 0);
const ICE_CONSENT_TIMEOUT = Number(process.env.ICE_CONSENT_TIMEOUT || 30);

// What the router offers: opus for audio, VP8 first for video (the page produces VP8 simulcast),
// then VP9 and H264 for peers that prefer them.
const mediaCodecs = [
	{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
	{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { 'x-google-start-bitrate': 1000 } },
	{ kind: 'video', mimeType: 'video/VP9', clockRate: 90000, parameters: { 'profile-id': 0 } },
	{
		kind: 'video',
		mimeType: 'video/H264',
		clockRate: 90000,
		parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
	},
];

const log = (...args) => console.log(new Date().toISOString(), ...args);

/** One worker for the whole app; one router per room. */
let worker;
let webRtcServer;
/** room name -> Room */
const rooms = new Map();

class Room {
	constructor(name, router, notices) {
		this.name = name;
		this.router = router;
		/** The server's own data channel (a DirectTransport DataProducer): room notices in the chat. */
		this.notices = notices;
		/** socket id -> Peer */
		this.peers = new Map();
	}

	/** Posts a notice to every page's chat, from the server itself. */
	notice(text) {
		if (!this.notices.closed) this.notices.send(text);
	}

	static async get(name) {
		const known = rooms.get(name);
		if (known) return known; // a Room, or the promise of one being created
		// Two peers may join a new room at once: remember the promise until the router exists.
		const pending = (async () => {
			const router = await worker.createRouter({ mediaCodecs });
			const direct = await router.createDirectTransport();
			const notices = await direct.produceData({ label: 'notices' });
			return new Room(name, router, notices);
		})();
		rooms.set(name, pending);
		try {
			const room = await pending;
			rooms.set(name, room);
			log(`room "${name}" created (router ${room.router.id})`);
			return room;
		} catch (error) {
			rooms.delete(name);
			throw error;
		}
	}

	otherPeers(peer) {
		return [...this.peers.values()].filter((p) => p !== peer);
	}

	broadcast(from, event, data) {
		for (const p of this.otherPeers(from)) p.socket.emit(event, data);
	}

	closeIfEmpty() {
		if (this.peers.size > 0) return;
		this.router.close();
		rooms.delete(this.name);
		log(`room "${this.name}" closed`);
	}
}

class Peer {
	constructor(socket, room, name, tcpOnly) {
		this.socket = socket;
		this.id = socket.id;
		this.room = room;
		this.name = name;
		this.tcpOnly = tcpOnly;
		this.transports = new Map();
		this.producers = new Map();
		this.consumers = new Map();
		this.dataProducers = new Map();
		this.dataConsumers = new Map();
		/** ids of the producers this peer consumes (or is about to) */
		this.consumed = new Set();
	}

	info() {
		return { id: this.id, name: this.name };
	}

	close() {
		// Closing a transport closes its producers and consumers; the other peers' consumers of
		// those producers get 'producerclose' and we tell their pages.
		for (const t of this.transports.values()) t.close();
		this.transports.clear();
		this.producers.clear();
		this.consumers.clear();
		this.dataProducers.clear();
		this.dataConsumers.clear();
	}
}

async function createTransport(peer, sctpCapabilities) {
	const common = {
		// Data channels (chat): SCTP over the transport's DTLS, as many streams as the page can use.
		enableSctp: true,
		numSctpStreams: (sctpCapabilities && sctpCapabilities.numStreams) || { OS: 1024, MIS: 1024 },
		enableUdp: !peer.tcpOnly,
		enableTcp: true,
		preferUdp: !peer.tcpOnly,
		initialAvailableOutgoingBitrate: INITIAL_OUTGOING_BITRATE,
		iceConsentTimeout: ICE_CONSENT_TIMEOUT,
		appData: { peerId: peer.id },
	};
	const options = webRtcServer
		? { ...common, webRtcServer }
		: {
				...common,
				listenInfos: [
					...(peer.tcpOnly ? [] : [{ protocol: 'udp', ip: LISTEN_IP }]),
					{ protocol: 'tcp', ip: LISTEN_IP },
				],
			};
	const transport = await peer.room.router.createWebRtcTransport(options);
	peer.transports.set(transport.id, transport);
	if (MAX_INCOMING_BITRATE) {
		try {
			await transport.setMaxIncomingBitrate(MAX_INCOMING_BITRATE);
		} catch (error) {
			log(`[${peer.name}] setMaxIncomingBitrate(${MAX_INCOMING_BITRATE}): ${error.message}`);
		}
	}
	transport.on('icestatechange', (s) => log(`[${peer.name}] transport ${transport.id} ice ${s}`));
	transport.on('dtlsstatechange', (s) => {
		log(`[${peer.name}] transport ${transport.id} dtls ${s}`);
		if (s === 'failed' || s === 'closed') transport.close();
	});
	return transport;
}

/** Creates a data consumer of `dataProducer` (a chat channel of `fromPeer`) for `peer`. */
async function consumeData(peer, fromPeer, dataProducer) {
	if (!peer.recvTransport || peer.consumed.has(dataProducer.id)) return;
	peer.consumed.add(dataProducer.id);
	const dataConsumer = await peer.recvTransport.consumeData({ dataProducerId: dataProducer.id, appData: { peerId: fromPeer.id } });
	peer.dataConsumers.set(dataConsumer.id, dataConsumer);
	const forget = () => {
		peer.dataConsumers.delete(dataConsumer.id);
		peer.consumed.delete(dataProducer.id);
	};
	dataConsumer.on('transportclose', forget);
	dataConsumer.on('dataproducerclose', () => {
		forget();
		peer.socket.emit('dataConsumerClosed', { dataConsumerId: dataConsumer.id });
	});
	peer.socket.emit('newDataConsumer', {
		peerId: fromPeer.id,
		peerName: fromPeer.name,
		dataProducerId: dataProducer.id,
		id: dataConsumer.id,
		sctpStreamParameters: dataConsumer.sctpStreamParameters,
		label: dataConsumer.label,
		protocol: dataConsumer.protocol,
	});
}

/** Creates a paused consumer of `producer` for `peer` and tells its page. */
async function consume(peer, producerPeer, producer) {
	if (!peer.rtpCapabilities || !peer.recvTransport || peer.consumed.has(producer.id)) return;
	peer.consumed.add(producer.id);
	const { router } = peer.room;
	if (!router.canConsume({ producerId: producer.id, rtpCapabilities: peer.rtpCapabilities })) {
		log(`[${peer.name}] cannot consume ${producer.kind} producer ${producer.id}`);
		return;
	}
	let consumer;
	try {
		consumer = await peer.recvTransport.consume({
			producerId: producer.id,
			rtpCapabilities: peer.rtpCapabilities,
			// The page resumes once its local consumer exists, so no early RTP (and the key frame
			// request that resume triggers) is lost.
			paused: true,
			appData: { peerId: producerPeer.id },
		});
	} catch (error) {
		peer.consumed.delete(producer.id);
		throw error;
	}
	peer.consumers.set(consumer.id, consumer);
	const forget = () => {
		peer.consumers.delete(consumer.id);
		peer.consumed.delete(producer.id);
	};
	consumer.on('transportclose', forget);
	consumer.on('producerclose', () => {
		forget();
		peer.socket.emit('consumerClosed', { consumerId: consumer.id });
	});
	consumer.on('producerpause', () => peer.socket.emit('consumerPaused', { consumerId: consumer.id }));
	consumer.on('producerresume', () => peer.socket.emit('consumerResumed', { consumerId: consumer.id }));
	peer.socket.emit('newConsumer', {
		peerId: producerPeer.id,
		peerName: producerPeer.name,
		producerId: producer.id,
		id: consumer.id,
		kind: consumer.kind,
		type: consumer.type,
		rtpParameters: consumer.rtpParameters,
		producerPaused: consumer.producerPaused,
		appData: producer.appData,
	});
}

function handleSocket(socket) {
	/** @type {Peer | undefined} */
	let peer;

	// Every request is `emit(event, data, ack)`; the ack gets `{ok: result}` or `{error}`.
	const on = (event, handler) =>
		socket.on(event, async (data, ack) => {
			try {
				const result = await handler(data || {});
				if (typeof ack === 'function') ack({ ok: result ?? null });
			} catch (error) {
				log(`[${peer ? peer.name : socket.id}] ${event} failed:`, error);
				if (typeof ack === 'function') ack({ error: String(error && error.message ? error.message : error) });
			}
		});
	const need = () => {
		if (!peer) throw new Error('not joined');
		return peer;
	};
	const transportOf = (id) => {
		const t = need().transports.get(id);
		if (!t) throw new Error(`unknown transport ${id}`);
		return t;
	};

	on('join', async ({ room: roomName, name, tcp }) => {
		if (peer) throw new Error('already joined');
		roomName = String(roomName || 'demo').slice(0, 64);
		name = String(name || 'Guest').slice(0, 40);
		const room = await Room.get(roomName);
		peer = new Peer(socket, room, name, Boolean(tcp));
		room.peers.set(peer.id, peer);
		room.broadcast(peer, 'peerJoined', peer.info());
		room.notice(`${name} joined the room`);
		log(`[${name}] joined "${roomName}"${peer.tcpOnly ? ' (TCP only)' : ''}`);
		return {
			peerId: peer.id,
			routerRtpCapabilities: room.router.rtpCapabilities,
			peers: room.otherPeers(peer).map((p) => p.info()),
		};
	});

	on('createTransport', async ({ direction, sctpCapabilities }) => {
		const p = need();
		const transport = await createTransport(p, sctpCapabilities);
		if (direction === 'recv') p.recvTransport = transport;
		return {
			id: transport.id,
			iceParameters: transport.iceParameters,
			iceCandidates: transport.iceCandidates,
			dtlsParameters: transport.dtlsParameters,
			sctpParameters: transport.sctpParameters,
		};
	});

	on('connectTransport', async ({ transportId, dtlsParameters }) => {
		await transportOf(transportId).connect({ dtlsParameters });
	});

	// The page is ready to receive: consume what every other peer already publishes.
	on('ready', async ({ rtpCapabilities }) => {
		const p = need();
		p.rtpCapabilities = rtpCapabilities;
		for (const other of p.room.otherPeers(p)) {
			for (const producer of other.producers.values()) {
				try {
					await consume(p, other, producer);
				} catch (error) {
					log(`[${p.name}] consume of ${producer.id} failed:`, error);
				}
			}
			for (const dataProducer of other.dataProducers.values()) {
				try {
					await consumeData(p, other, dataProducer);
				} catch (error) {
					log(`[${p.name}] consumeData of ${dataProducer.id} failed:`, error);
				}
			}
		}
		await consumeData(p, { id: 'server', name: 'libsfu' }, p.room.notices);
	});

	on('produce', async ({ transportId, kind, rtpParameters, appData }) => {
		const p = need();
		const producer = await transportOf(transportId).produce({
			kind,
			rtpParameters,
			appData: { ...(appData || {}), peerId: p.id },
		});
		p.producers.set(producer.id, producer);
		producer.on('transportclose', () => p.producers.delete(producer.id));
		log(`[${p.name}] produces ${kind} ${producer.id} (${producer.type})`);
		// Everyone else consumes it. Don't hold the ack for that.
		setImmediate(async () => {
			for (const other of p.room.otherPeers(p)) {
				try {
					await consume(other, p, producer);
				} catch (error) {
					log(`[${other.name}] consume of ${producer.id} failed:`, error);
				}
			}
		});
		return { id: producer.id };
	});

	on('produceData', async ({ transportId, sctpStreamParameters, label, protocol, appData }) => {
		const p = need();
		const dataProducer = await transportOf(transportId).produceData({
			sctpStreamParameters,
			label,
			protocol,
			appData: { ...(appData || {}), peerId: p.id },
		});
		p.dataProducers.set(dataProducer.id, dataProducer);
		dataProducer.on('transportclose', () => p.dataProducers.delete(dataProducer.id));
		log(`[${p.name}] produces data "${label}" ${dataProducer.id} (stream ${sctpStreamParameters && sctpStreamParameters.streamId})`);
		setImmediate(async () => {
			for (const other of p.room.otherPeers(p)) {
				try {
					await consumeData(other, p, dataProducer);
				} catch (error) {
					log(`[${other.name}] consumeData of ${dataProducer.id} failed:`, error);
				}
			}
		});
		return { id: dataProducer.id };
	});

	on('closeProducer', ({ producerId }) => {
		const p = need();
		const producer = p.producers.get(producerId);
		if (!producer) throw new Error(`unknown producer ${producerId}`);
		producer.close();
		p.producers.delete(producerId);
	});

	on('pauseProducer', async ({ producerId }) => {
		const producer = need().producers.get(producerId);
		if (!producer) throw new Error(`unknown producer ${producerId}`);
		await producer.pause();
	});

	on('resumeProducer', async ({ producerId }) => {
		const producer = need().producers.get(producerId);
		if (!producer) throw new Error(`unknown producer ${producerId}`);
		await producer.resume();
	});

	on('resumeConsumer', async ({ consumerId }) => {
		const consumer = need().consumers.get(consumerId);
		if (!consumer) throw new Error(`unknown consumer ${consumerId}`);
		await consumer.resume();
	});

	on('setConsumerPreferredLayers', async ({ consumerId, spatialLayer, temporalLayer }) => {
		const consumer = need().consumers.get(consumerId);
		if (!consumer) throw new Error(`unknown consumer ${consumerId}`);
		await consumer.setPreferredLayers({ spatialLayer, temporalLayer });
	});

	// Server-side view of this peer, for the page's "debug" panel and the tests.
	on('getStats', async () => describePeer(need()));

	const leave = () => {
		if (!peer) return;
		const { room } = peer;
		peer.close();
		room.peers.delete(peer.id);
		room.broadcast(peer, 'peerLeft', { id: peer.id });
		room.notice(`${peer.name} left the room`);
		log(`[${peer.name}] left "${room.name}"`);
		peer = undefined;
		room.closeIfEmpty();
	};
	on('leave', leave);
	socket.on('disconnect', leave);
}

async function settled(fn) {
	try {
		return await fn();
	} catch (error) {
		return { error: String(error && error.message ? error.message : error) };
	}
}

async function describePeer(peer) {
	const transports = [];
	for (const t of peer.transports.values()) {
		transports.push({
			id: t.id,
			iceRole: t.iceRole,
			iceState: t.iceState,
			iceSelectedTuple: t.iceSelectedTuple,
			dtlsState: t.dtlsState,
			sctpState: t.sctpState,
			closed: t.closed,
			stats: await settled(() => t.getStats()),
		});
	}
	const producers = [];
	for (const p of peer.producers.values()) {
		producers.push({
			id: p.id,
			kind: p.kind,
			type: p.type,
			paused: p.paused,
			score: p.score,
			stats: await settled(() => p.getStats()),
		});
	}
	const consumers = [];
	for (const c of peer.consumers.values()) {
		consumers.push({
			id: c.id,
			kind: c.kind,
			type: c.type,
			producerId: c.producerId,
			paused: c.paused,
			producerPaused: c.producerPaused,
			score: c.score,
			preferredLayers: c.preferredLayers,
			currentLayers: c.currentLayers,
			stats: await settled(() => c.getStats()),
		});
	}
	const dataProducers = [];
	for (const d of peer.dataProducers.values()) {
		dataProducers.push({ id: d.id, label: d.label, sctpStreamParameters: d.sctpStreamParameters, stats: await settled(() => d.getStats()) });
	}
	const dataConsumers = [];
	for (const d of peer.dataConsumers.values()) {
		dataConsumers.push({ id: d.id, label: d.label, dataProducerId: d.dataProducerId, sctpStreamParameters: d.sctpStreamParameters, stats: await settled(() => d.getStats()) });
	}
	return { id: peer.id, name: peer.name, tcpOnly: peer.tcpOnly, transports, producers, consumers, dataProducers, dataConsumers };
}

async function main() {
	worker = await sfu.createWorker({ logLevel: LOG_LEVEL, logTags: ['info', 'ice', 'dtls', 'rtp', 'srtp', 'rtcp', 'simulcast'] });
	worker.on('died', (error) => {
		log('worker died:', error);
		process.exit(1);
	});
	if (USE_WEBRTC_SERVER) {
		webRtcServer = await worker.createWebRtcServer({
			listenInfos: [
				{ protocol: 'udp', ip: LISTEN_IP, port: WEBRTC_SERVER_PORT },
				{ protocol: 'tcp', ip: LISTEN_IP, port: WEBRTC_SERVER_PORT },
			],
		});
		log(`WebRtcServer on ${LISTEN_IP}:${WEBRTC_SERVER_PORT} (udp + tcp)`);
	}

	const app = express();
	app.disable('x-powered-by');
	app.use(express.static(path.join(__dirname, 'public')));
	if (DEBUG_ENDPOINT) {
		app.get('/debug/state', async (_req, res) => {
			const out = { webRtcServer: webRtcServer ? webRtcServer.id : null, rooms: [] };
			for (const room of rooms.values()) {
				if (room instanceof Promise) continue;
				const peers = [];
				for (const p of room.peers.values()) peers.push(await describePeer(p));
				out.rooms.push({ name: room.name, routerId: room.router.id, peers });
			}
			res.json(out);
		});
		app.get('/debug/max-incoming-bitrate', async (req, res) => {
			const bps = Number(req.query.bps);
			const found = [...rooms.values()].filter((r) => !(r instanceof Promise)).flatMap((r) => [...r.peers.values()]).filter((p) => p.name === req.query.name);
			if (!found.length || !(bps >= 0)) return res.status(400).json({ error: `no peer "${req.query.name}" or bad bps "${req.query.bps}"` });
			try {
				for (const p of found) for (const t of p.transports.values()) await t.setMaxIncomingBitrate(bps);
				res.json({ ok: true, transports: found.reduce((n, p) => n + p.transports.size, 0) });
			} catch (error) {
				res.status(500).json({ error: error.message });
			}
		});
	}

	const server = http.createServer(app);
	const io = new SocketServer(server, { serveClient: true });
	io.on('connection', handleSocket);

	server.listen(PORT, LISTEN_IP, () => {
		const { port } = server.address();
		log(`libsfu room listening on http://${LISTEN_IP}:${port}/?room=demo&name=Alice`);
	});

	const shutdown = () => {
		log('shutting down');
		io.close();
		server.close();
		worker.close();
		process.exit(0);
	};
	process.on('SIGINT', shutdown);
	process.on('SIGTERM', shutdown);
	// Started by a parent over IPC (the browser tests): go when it goes.
	if (process.send) process.on('disconnect', shutdown);
}

main().catch((error) => {
	console.error('failed to start:', error);
	process.exit(1);
});
