'use strict';

// One node of a libsfu cluster: the demo room (examples/room) served by several Node processes,
// each with its own libsfu worker(s), sharing one Redis.
//
// What is the same as examples/room/server.js: Express serves the room page, socket.io carries
// the page's signaling, and everything media is mediasoup v3's API. Each page talks to one node
// only and consumes only from that node's router.
//
// What the cluster adds (sections marked CLUSTER below):
//   - The room directory in Redis, written by every node and expiring with it:
//       node:<id>                          JSON {id, name, url, address, pid}; PX TTL, heartbeat-
//                                          refreshed: the node is alive while this key exists
//       room:<room>:nodes                  set of the node ids serving the room (a member whose
//                                          node:<id> expired is dead, and swept by the others)
//       room:<room>:peers:<node id>        hash peer id -> JSON {id, name}           } PX TTL, refreshed
//       room:<room>:producers:<node id>    hash producer id -> JSON {id, kind, ...}  } by the heartbeat
//   - Signaling between nodes over Redis pub/sub:
//       room:<room>:events                 broadcast: peerJoined/peerLeft, producerAdded/Closed/
//                                          Paused/Resumed, nodeLeft
//       node:<id>:rpc                      requests to one node (openPipe, pipeProducer) and their
//                                          replies; one-way notes (pipeProducerClosed/Paused/Resumed)
//   - Pipes: when a page on this node (B) consumes a producer of node A, B creates a PipeTransport,
//     asks A to create its end (openPipe: the two exchange {ip, port, srtpParameters} and connect),
//     then asks A to consume the producer on it (pipeProducer: A's pipe consumer's rtpParameters)
//     and produces it on its end with the same id. From then on it is a producer of B's router like
//     any other. One pipe pair per (room, source node, receiving node) carries all of A's producers
//     that B's pages consume.
//   - A dead node: its heartbeat stops, its keys expire, and the other nodes' sweep (every
//     HEARTBEAT_MS) removes it from room:<room>:nodes and closes their pipes from it. The pipe
//     producers close, so local consumers get 'producerclose' and the pages are told, as when a
//     local producer closes.
//
// Environment:
//   PORT              HTTP port (default 3000)
//   HTTP_HOST         address the HTTP server binds (default 127.0.0.1)
//   REDIS_URL         the shared Redis (default redis://127.0.0.1:6379)
//   NODE_NAME         readable name of this node (default <hostname>:<PORT>); its id in Redis is
//                     NODE_NAME plus a random suffix, new at every start
//   LISTEN_IP         address the WebRTC and pipe transports bind (default 127.0.0.1; 0.0.0.0 for
//                     all interfaces, with PUBLIC_IP set)
//   PUBLIC_IP         address announced to browsers and to the other nodes' pipes (default LISTEN_IP)
//   RTC_MIN_PORT, RTC_MAX_PORT   the workers' UDP/TCP port range (WebRTC and pipe transports)
//   WORKERS           libsfu workers in this process (default 1); rooms are spread over them
//   PIPE_SRTP=0       pipes between nodes without SRTP (default: encrypted, AEAD_AES_256_GCM)
//   PIPE_RTX=0        pipes without RTX retransmission (default: with)
//   NODE_TTL_MS       how long the directory keeps a silent node (default 4000)
//   HEARTBEAT_MS      heartbeat and sweep period (default 1000)
//   LIBSFU_LOG_LEVEL  the workers' logLevel (default error)
//   INITIAL_OUTGOING_BITRATE  transports' initialAvailableOutgoingBitrate (default 1000000)
//   ROOM_DEBUG=1      serve GET /debug/state (peers, pipes, remote producers; used by the tests)
//   SFU_MODULE        the module that provides the mediasoup API (default 'libsfu'; 'mediasoup' works)

const crypto = require('node:crypto');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const express = require('express');
const { Server: SocketServer } = require('socket.io');
const { createClient } = require('redis');

const sfu = require(process.env.SFU_MODULE || 'libsfu');

const PORT = Number(process.env.PORT || 3000);
const HTTP_HOST = process.env.HTTP_HOST || '127.0.0.1';
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const NODE_NAME = process.env.NODE_NAME || `${os.hostname()}:${PORT}`;
const NODE_ID = `${NODE_NAME}-${crypto.randomBytes(3).toString('hex')}`;
const LISTEN_IP = process.env.LISTEN_IP || '127.0.0.1';
const PUBLIC_IP = process.env.PUBLIC_IP || undefined;
const RTC_MIN_PORT = process.env.RTC_MIN_PORT ? Number(process.env.RTC_MIN_PORT) : undefined;
const RTC_MAX_PORT = process.env.RTC_MAX_PORT ? Number(process.env.RTC_MAX_PORT) : undefined;
const WORKERS = Math.max(1, Number(process.env.WORKERS || 1));
const PIPE_SRTP = process.env.PIPE_SRTP !== '0';
const PIPE_RTX = process.env.PIPE_RTX !== '0';
const NODE_TTL_MS = Number(process.env.NODE_TTL_MS || 4000);
const HEARTBEAT_MS = Number(process.env.HEARTBEAT_MS || 1000);
const RPC_TIMEOUT_MS = 5000;
const LOG_LEVEL = process.env.LIBSFU_LOG_LEVEL || 'error';
const DEBUG_ENDPOINT = process.env.ROOM_DEBUG === '1';
const INITIAL_OUTGOING_BITRATE = Number(process.env.INITIAL_OUTGOING_BITRATE || 1_000_000);
const PUBLIC_URL = `http://${PUBLIC_IP || HTTP_HOST}:${PORT}`;

// The room's codecs (as examples/room). Every node must offer the same ones: a pipe carries a
// producer with the payload types of its source router.
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

const log = (...args) => console.log(new Date().toISOString(), `[${NODE_NAME}]`, ...args);
const errorText = (error) => String(error && error.message ? error.message : error);

const workers = [];
let nextWorker = 0;
/** room name -> Room, or the promise of one being created */
const rooms = new Map();
/** room name -> promise: a closed Room of that name still leaving the Redis directory */
const roomsLeaving = new Map();

/** Resolves once `obj` (a consumer, producer, transport) has closed, or after `ms`. */
function closedOrTimeout(obj, ms) {
	if (obj.closed) return Promise.resolve();
	return new Promise((resolve) => {
		const timer = setTimeout(resolve, ms);
		obj.observer.once('close', () => {
			clearTimeout(timer);
			resolve();
		});
	});
}

// =============================================================================================
// CLUSTER: Redis keys, pub/sub and requests between nodes

/** What node:<id> holds. */
function nodeInfo() {
	return { id: NODE_ID, name: NODE_NAME, url: PUBLIC_URL, address: PUBLIC_IP || LISTEN_IP, pid: process.pid };
}

const KEY = {
	node: (id) => `node:${id}`,
	roomNodes: (room) => `room:${room}:nodes`,
	roomPeers: (room, nodeId) => `room:${room}:peers:${nodeId}`,
	roomProducers: (room, nodeId) => `room:${room}:producers:${nodeId}`,
	roomEvents: (room) => `room:${room}:events`,
	nodeRpc: (id) => `node:${id}:rpc`,
};

const cluster = {
	/** commands and publishing */
	db: null,
	/** subscriptions (a subscribed Redis connection takes no other commands) */
	sub: null,
	/** request id -> { resolve, reject, timer } */
	pending: new Map(),
	nextRequestId: 1,
	/** method -> async (params, fromNodeId) => result */
	handlers: new Map(),

	async start() {
		this.db = createClient({ url: REDIS_URL });
		this.db.on('error', (error) => log('redis:', errorText(error)));
		await this.db.connect();
		this.sub = this.db.duplicate();
		this.sub.on('error', (error) => log('redis (subscriber):', errorText(error)));
		await this.sub.connect();
		await this.sub.subscribe(KEY.nodeRpc(NODE_ID), (message) => this.onRpcMessage(message));
		await this.heartbeat();
	},

	/** Calls `method` on node `nodeId` and resolves with its result (rejects on error or timeout). */
	request(nodeId, method, params) {
		const id = `${NODE_ID}#${this.nextRequestId++}`;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.pending.delete(id);
				reject(new Error(`${method} to node ${nodeId}: no answer within ${RPC_TIMEOUT_MS} ms`));
			}, RPC_TIMEOUT_MS);
			this.pending.set(id, { resolve, reject, timer });
			this.publish(KEY.nodeRpc(nodeId), { kind: 'request', id, from: NODE_ID, method, params }).catch((error) => {
				clearTimeout(timer);
				this.pending.delete(id);
				reject(error);
			});
		});
	},

	/** A one-way message to node `nodeId` (no answer). */
	note(nodeId, method, params) {
		this.publish(KEY.nodeRpc(nodeId), { kind: 'note', from: NODE_ID, method, params }).catch((error) =>
			log(`note ${method} to ${nodeId} failed:`, errorText(error)),
		);
	},

	publish(channel, message) {
		return this.db.publish(channel, JSON.stringify(message));
	},

	async onRpcMessage(text) {
		let msg;
		try {
			msg = JSON.parse(text);
		} catch {
			return;
		}
		if (msg.kind === 'reply') {
			const waiting = this.pending.get(msg.id);
			if (!waiting) return;
			this.pending.delete(msg.id);
			clearTimeout(waiting.timer);
			if (msg.error !== undefined) waiting.reject(new Error(msg.error));
			else waiting.resolve(msg.result);
			return;
		}
		const handler = this.handlers.get(msg.method);
		let reply;
		try {
			if (!handler) throw new Error(`unknown method ${msg.method}`);
			reply = { kind: 'reply', id: msg.id, result: (await handler(msg.params || {}, msg.from)) ?? null };
		} catch (error) {
			if (msg.kind === 'note') log(`${msg.method} from ${msg.from} failed:`, errorText(error));
			reply = { kind: 'reply', id: msg.id, error: errorText(error) };
		}
		if (msg.kind === 'request') await this.publish(KEY.nodeRpc(msg.from), reply).catch(() => {});
	},

	/**
	 * Every HEARTBEAT_MS: refresh our keys (so they outlive us by NODE_TTL_MS at most), then sweep
	 * each of our rooms for nodes whose entry expired.
	 */
	async heartbeat() {
		const m = this.db.multi().set(KEY.node(NODE_ID), JSON.stringify(nodeInfo()), { expiration: { type: 'PX', value: NODE_TTL_MS } });
		const live = [...rooms.values()].filter((r) => r instanceof Room && !r.closed);
		for (const room of live) {
			m.sAdd(KEY.roomNodes(room.name), NODE_ID);
			m.pExpire(KEY.roomNodes(room.name), NODE_TTL_MS);
			m.pExpire(KEY.roomPeers(room.name, NODE_ID), NODE_TTL_MS);
			m.pExpire(KEY.roomProducers(room.name, NODE_ID), NODE_TTL_MS);
		}
		await m.exec();
		for (const room of live) await room.sweep();
	},

	/** Runs heartbeat() every HEARTBEAT_MS, never two at once. */
	startHeartbeat() {
		let running = false;
		this.heartbeatTimer = setInterval(async () => {
			if (running) return;
			running = true;
			try {
				await this.heartbeat();
			} catch (error) {
				log('heartbeat failed:', errorText(error));
			} finally {
				running = false;
			}
		}, HEARTBEAT_MS);
	},

	/** Leaves the directory on a clean shutdown (a killed node just expires). */
	async stop() {
		clearInterval(this.heartbeatTimer);
		for (const room of rooms.values()) if (room instanceof Room) await room.leaveDirectory().catch(() => {});
		await this.db.del(KEY.node(NODE_ID)).catch(() => {});
	},
};

// =============================================================================================
// Rooms and peers

function pipeTransportOptions() {
	return {
		listenInfo: { protocol: 'udp', ip: LISTEN_IP, ...(PUBLIC_IP ? { announcedAddress: PUBLIC_IP } : {}) },
		enableSrtp: PIPE_SRTP,
		enableRtx: PIPE_RTX,
		enableSctp: false,
	};
}

/** What the far end of a pipe needs to send to us. */
function pipeEnd(transport) {
	return { ip: transport.tuple.localAddress, port: transport.tuple.localPort, srtpParameters: transport.srtpParameters };
}

class Room {
	constructor(name, router, notices) {
		this.name = name;
		this.router = router;
		/** The server's own data channel (a DirectTransport DataProducer): room notices in the chat. */
		this.notices = notices;
		this.closed = false;
		/** socket id -> Peer (the pages connected to this node) */
		this.peers = new Map();

		// CLUSTER state: what the other nodes have in this room, and the pipes to and from them.
		/** peer id -> { id, name, nodeId } */
		this.remotePeers = new Map();
		/** producer id -> { id, kind, peerId, peerName, paused, appData, nodeId } */
		this.remoteProducers = new Map();
		/** ids of remote peers and producers known to be gone (a late directory read can't revive them) */
		this.gone = new Set();
		/** node id -> Promise<PipeTransport>: pipes bringing that node's producers here */
		this.recvPipes = new Map();
		/** node id -> { transport, consumers: Map<producer id, pipe Consumer> }: pipes taking ours there */
		this.sendPipes = new Map();
		/** remote producer id -> Promise<Producer>: its copy on our router (a pipe producer) */
		this.piped = new Map();
		/** promises of pipe producers closing (resolved once our consumers of them closed) */
		this.closing = new Set();
	}

	notice(text) {
		if (!this.notices.closed) this.notices.send(text);
	}

	static async get(name) {
		const known = rooms.get(name);
		if (known) return known; // a Room, or the promise of one being created
		// Two peers may join a new room at once: remember the promise until the router exists.
		const pending = (async () => {
			await roomsLeaving.get(name);
			const worker = workers[nextWorker++ % workers.length];
			const router = await worker.createRouter({ mediaCodecs });
			const direct = await router.createDirectTransport();
			const notices = await direct.produceData({ label: 'notices' });
			const room = new Room(name, router, notices);
			await room.enterDirectory();
			return room;
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

	/** Sends a socket.io event to this node's pages, except `from`'s. */
	broadcast(from, event, data) {
		for (const p of this.otherPeers(from)) p.socket.emit(event, data);
	}

	/** A producer of one of this node's pages. */
	localProducer(producerId) {
		for (const peer of this.peers.values()) {
			const producer = peer.producers.get(producerId);
			if (producer) return { peer, producer };
		}
		return undefined;
	}

	closeIfEmpty() {
		if (this.peers.size > 0 || this.closed) return;
		this.closed = true;
		rooms.delete(this.name);
		// Closing the router closes our pipes; the other nodes learn from nodeLeft and close theirs.
		this.router.close();
		// A new Room of this name waits until we are out of the directory.
		const leaving = this.leaveDirectory()
			.catch((error) => log(`leaving the directory of "${this.name}" failed:`, errorText(error)))
			.finally(() => {
				if (roomsLeaving.get(this.name) === leaving) roomsLeaving.delete(this.name);
			});
		roomsLeaving.set(this.name, leaving);
		log(`room "${this.name}" closed`);
	}

	// -----------------------------------------------------------------------------------------
	// CLUSTER: the directory and the room's event channel

	async enterDirectory() {
		this.listener = (message) => {
			let msg;
			try {
				msg = JSON.parse(message);
			} catch {
				return;
			}
			if (msg.from === NODE_ID || this.closed) return;
			this.onRoomEvent(msg).catch((error) => log(`room "${this.name}" event ${msg.type} failed:`, error));
		};
		await cluster.sub.subscribe(KEY.roomEvents(this.name), this.listener);
		await cluster.db
			.multi()
			.set(KEY.node(NODE_ID), JSON.stringify(nodeInfo()), { expiration: { type: 'PX', value: NODE_TTL_MS } })
			.sAdd(KEY.roomNodes(this.name), NODE_ID)
			.pExpire(KEY.roomNodes(this.name), NODE_TTL_MS)
			.exec();
	}

	async leaveDirectory() {
		// Just our listener: a new Room of the same name may be subscribed already.
		await cluster.sub.unsubscribe(KEY.roomEvents(this.name), this.listener);
		await cluster.db
			.multi()
			.sRem(KEY.roomNodes(this.name), NODE_ID)
			.del(KEY.roomPeers(this.name, NODE_ID))
			.del(KEY.roomProducers(this.name, NODE_ID))
			.exec();
		await this.publish('nodeLeft', {});
	}

	publish(type, data) {
		return cluster.publish(KEY.roomEvents(this.name), { type, from: NODE_ID, ...data });
	}

	/** Writes `value` under `field` of one of our hashes (peers or producers), or deletes it. */
	async setEntry(key, field, value) {
		if (value === undefined) {
			await cluster.db.hDel(key, field);
			return;
		}
		await cluster.db.multi().hSet(key, field, JSON.stringify(value)).pExpire(key, NODE_TTL_MS).exec();
	}

	async announcePeer(peer) {
		await this.setEntry(KEY.roomPeers(this.name, NODE_ID), peer.id, peer.info());
		await this.publish('peerJoined', { peer: peer.info() });
	}

	async announcePeerLeft(peer) {
		await this.setEntry(KEY.roomPeers(this.name, NODE_ID), peer.id, undefined);
		await this.publish('peerLeft', { peerId: peer.id });
	}

	async announceProducer(peer, producer) {
		const entry = producerEntry(peer, producer);
		await this.setEntry(KEY.roomProducers(this.name, NODE_ID), producer.id, entry);
		await this.publish('producerAdded', { producer: entry });
	}

	async announceProducerClosed(producerId) {
		await this.setEntry(KEY.roomProducers(this.name, NODE_ID), producerId, undefined);
		await this.publish('producerClosed', { producerId });
	}

	async announceProducerPaused(peer, producer) {
		await this.setEntry(KEY.roomProducers(this.name, NODE_ID), producer.id, producerEntry(peer, producer));
		await this.publish(producer.paused ? 'producerPaused' : 'producerResumed', { producerId: producer.id });
	}

	/** Reads the other live nodes' peers and producers in this room from Redis. */
	async readDirectory() {
		const { alive } = await this.listNodes();
		for (const nodeId of alive) {
			const [peers, producers] = await Promise.all([
				cluster.db.hGetAll(KEY.roomPeers(this.name, nodeId)),
				cluster.db.hGetAll(KEY.roomProducers(this.name, nodeId)),
			]);
			for (const json of Object.values(peers)) this.learnPeer(nodeId, JSON.parse(json));
			for (const json of Object.values(producers)) this.learnProducer(nodeId, JSON.parse(json));
		}
	}

	learnPeer(nodeId, { id, name }) {
		if (this.gone.has(id) || this.remotePeers.has(id)) return false;
		this.remotePeers.set(id, { id, name, nodeId });
		return true;
	}

	learnProducer(nodeId, entry) {
		if (this.gone.has(entry.id)) return false;
		const known = this.remoteProducers.get(entry.id);
		this.remoteProducers.set(entry.id, { ...entry, nodeId });
		return !known;
	}

	/** Another node of this room says something. */
	async onRoomEvent(msg) {
		const nodeId = msg.from;
		switch (msg.type) {
			case 'peerJoined':
				if (this.learnPeer(nodeId, msg.peer)) {
					this.broadcast(null, 'peerJoined', { id: msg.peer.id, name: msg.peer.name });
					this.notice(`${msg.peer.name} joined the room (on another node)`);
				}
				break;
			case 'peerLeft':
				await this.forgetPeer(msg.peerId);
				break;
			case 'producerAdded':
				if (this.learnProducer(nodeId, msg.producer)) {
					// Every page here that is ready consumes it (through a pipe from its node).
					const info = this.remoteProducers.get(msg.producer.id);
					for (const peer of this.peers.values()) {
						consumeRemote(peer, info).catch((error) => log(`[${peer.name}] consume of remote ${info.id} failed:`, errorText(error)));
					}
				}
				break;
			case 'producerClosed':
				this.forgetProducer(msg.producerId);
				break;
			case 'producerPaused':
			case 'producerResumed': {
				const info = this.remoteProducers.get(msg.producerId);
				if (info) info.paused = msg.type === 'producerPaused';
				// The pipe producer follows through the source node's pipeProducerPaused/Resumed note.
				break;
			}
			case 'nodeLeft':
				await this.dropNode(nodeId, 'left the room');
				break;
			default:
				break;
		}
	}

	/**
	 * A remote peer left: its producers are gone too. The pages hear of the closed consumers
	 * first, then that the peer left (as with a local peer).
	 */
	async forgetPeer(peerId) {
		this.gone.add(peerId);
		for (const p of this.remoteProducers.values()) if (p.peerId === peerId) this.forgetProducer(p.id);
		await Promise.all(this.closing);
		const known = this.remotePeers.get(peerId);
		if (!known) return;
		this.remotePeers.delete(peerId);
		this.broadcast(null, 'peerLeft', { id: peerId });
		this.notice(`${known.name} left the room`);
	}

	/**
	 * A remote producer closed: close its pipe producer here. Our consumers of it get
	 * 'producerclose' (from the engine, a moment later); resolves once they have.
	 */
	forgetProducer(producerId) {
		this.gone.add(producerId);
		this.remoteProducers.delete(producerId);
		const piped = this.piped.get(producerId);
		this.piped.delete(producerId);
		if (!piped) return Promise.resolve();
		const done = piped.then(
			(producer) => {
				const ours = this.localConsumersOf([producerId]);
				producer.close();
				return Promise.all(ours.map((c) => closedOrTimeout(c, 2000)));
			},
			() => {},
		);
		this.closing.add(done);
		done.finally(() => this.closing.delete(done));
		return done;
	}

	/** This node's consumers of any of `producerIds`. */
	localConsumersOf(producerIds) {
		const out = [];
		for (const peer of this.peers.values()) {
			for (const consumer of peer.consumers.values()) if (producerIds.includes(consumer.producerId)) out.push(consumer);
		}
		return out;
	}

	/**
	 * Node `nodeId` is gone (its heartbeat expired, or it closed the room): close the pipes to and
	 * from it (so our consumers of its producers get 'producerclose' and their pages are told),
	 * then tell the pages its peers left.
	 */
	async dropNode(nodeId, reason) {
		const producers = [...this.remoteProducers.values()].filter((p) => p.nodeId === nodeId);
		const peers = [...this.remotePeers.values()].filter((p) => p.nodeId === nodeId);
		const recv = this.recvPipes.get(nodeId);
		const send = this.sendPipes.get(nodeId);
		if (!producers.length && !peers.length && !recv && !send) return;
		this.recvPipes.delete(nodeId);
		this.sendPipes.delete(nodeId);
		const ours = this.localConsumersOf(producers.map((p) => p.id));
		for (const p of producers) {
			this.gone.add(p.id);
			this.remoteProducers.delete(p.id);
			this.piped.delete(p.id);
		}
		if (send) send.transport.close();
		if (recv) {
			// Closing the pipe transport closes its producers; the engine then closes their consumers.
			const transport = await recv.catch(() => null);
			if (transport) transport.close();
		}
		await Promise.all(ours.map((c) => closedOrTimeout(c, 2000)));
		for (const p of peers) await this.forgetPeer(p.id);
		log(`room "${this.name}": node ${nodeId} ${reason}: closed ${producers.length} of its producers (${ours.length} local consumers), ${peers.length} of its peers left`);
	}

	/** The other nodes listed in this room: those alive (node:<id> exists) and those dead. */
	async listNodes() {
		const members = (await cluster.db.sMembers(KEY.roomNodes(this.name))).filter((id) => id !== NODE_ID);
		const flags = await Promise.all(members.map((id) => cluster.db.exists(KEY.node(id))));
		const alive = members.filter((_, i) => flags[i]);
		const dead = members.filter((_, i) => !flags[i]);
		return { alive, dead };
	}

	/** Heartbeat sweep: nodes of this room whose node:<id> key expired are dead. */
	async sweep() {
		if (this.closed) return;
		const { alive, dead } = await this.listNodes();
		for (const nodeId of dead) {
			log(`room "${this.name}": node ${nodeId} missed its heartbeat; removing it from the directory`);
			await cluster.db
				.multi()
				.sRem(KEY.roomNodes(this.name), nodeId)
				.del(KEY.roomPeers(this.name, nodeId))
				.del(KEY.roomProducers(this.name, nodeId))
				.exec();
		}
		const listed = new Set(alive);
		// Whatever we hold from nodes no longer listed (expired here, or swept by another node).
		const known = new Set([
			...[...this.remotePeers.values()].map((p) => p.nodeId),
			...[...this.remoteProducers.values()].map((p) => p.nodeId),
			...this.recvPipes.keys(),
			...this.sendPipes.keys(),
		]);
		for (const nodeId of known) if (!listed.has(nodeId)) await this.dropNode(nodeId, 'is gone (heartbeat expired)');
	}

	// -----------------------------------------------------------------------------------------
	// CLUSTER: pipes

	/** The pipe bringing node `nodeId`'s producers to this router, created once (we initiate). */
	recvPipe(nodeId) {
		let pipe = this.recvPipes.get(nodeId);
		if (pipe) return pipe;
		pipe = (async () => {
			const transport = await this.router.createPipeTransport({ ...pipeTransportOptions(), appData: { nodeId } });
			try {
				const remoteEnd = await cluster.request(nodeId, 'openPipe', { room: this.name, ...pipeEnd(transport) });
				await transport.connect(remoteEnd);
			} catch (error) {
				transport.close();
				throw error;
			}
			transport.observer.once('close', () => {
				if (this.recvPipes.get(nodeId) === pipe) this.recvPipes.delete(nodeId);
			});
			log(`room "${this.name}": pipe from node ${nodeId} ${describeTuple(transport)}`);
			return transport;
		})();
		this.recvPipes.set(nodeId, pipe);
		pipe.catch(() => {
			if (this.recvPipes.get(nodeId) === pipe) this.recvPipes.delete(nodeId);
		});
		return pipe;
	}

	/** The copy on our router of remote producer `info` (piped once, then shared by our consumers). */
	pipeFrom(info) {
		let piped = this.piped.get(info.id);
		if (piped) return piped;
		piped = (async () => {
			const transport = await this.recvPipe(info.nodeId);
			const source = await cluster.request(info.nodeId, 'pipeProducer', { room: this.name, producerId: info.id });
			const producer = await transport.produce({
				id: info.id,
				kind: source.kind,
				rtpParameters: source.rtpParameters,
				paused: source.paused,
				appData: source.appData,
			});
			producer.observer.once('close', () => {
				if (this.piped.get(info.id) === piped) this.piped.delete(info.id);
			});
			// It may have closed on the source node while we were setting up.
			if (this.gone.has(info.id)) {
				producer.close();
				throw new Error(`producer ${info.id} closed on node ${info.nodeId}`);
			}
			log(`room "${this.name}": piped ${source.kind} producer ${info.id} of ${info.peerName} from node ${info.nodeId}`);
			return producer;
		})();
		this.piped.set(info.id, piped);
		piped.catch(() => {
			if (this.piped.get(info.id) === piped) this.piped.delete(info.id);
		});
		return piped;
	}
}

function describeTuple(transport) {
	const t = transport.tuple;
	return `(${t.localAddress}:${t.localPort} <-> ${t.remoteIp}:${t.remotePort}${transport.srtpParameters ? ', SRTP' : ''})`;
}

function producerEntry(peer, producer) {
	return { id: producer.id, kind: producer.kind, peerId: peer.id, peerName: peer.name, paused: producer.paused, appData: producer.appData };
}

// CLUSTER: what the other nodes ask of us.

// Node `from` wants our producers in `room`: create our end of its pipe and connect it to theirs.
cluster.handlers.set('openPipe', async ({ room: name, ip, port, srtpParameters }, from) => {
	const room = rooms.get(name);
	if (!(room instanceof Room) || room.closed) throw new Error(`room "${name}" is not on node ${NODE_ID}`);
	// An old pipe to that node (it closed its end and opens a new one): replace it.
	const old = room.sendPipes.get(from);
	if (old) old.transport.close();
	const transport = await room.router.createPipeTransport({ ...pipeTransportOptions(), appData: { nodeId: from } });
	await transport.connect({ ip, port, srtpParameters });
	const entry = { transport, consumers: new Map() };
	room.sendPipes.set(from, entry);
	transport.observer.once('close', () => {
		if (room.sendPipes.get(from) === entry) room.sendPipes.delete(from);
	});
	log(`room "${name}": pipe to node ${from} ${describeTuple(transport)}`);
	return pipeEnd(transport);
});

// Node `from` consumes our producer: consume it on the pipe to that node and say how it is sent.
cluster.handlers.set('pipeProducer', async ({ room: name, producerId }, from) => {
	const room = rooms.get(name);
	const entry = room instanceof Room ? room.sendPipes.get(from) : undefined;
	if (!entry) throw new Error(`no pipe to node ${from} in room "${name}"`);
	const local = room.localProducer(producerId);
	if (!local) throw new Error(`producer ${producerId} is not on node ${NODE_ID}`);
	let consumer = entry.consumers.get(producerId);
	if (!consumer) {
		consumer = await entry.transport.consume({ producerId });
		entry.consumers.set(producerId, consumer);
		const params = { room: name, producerId };
		consumer.on('transportclose', () => entry.consumers.delete(producerId));
		// The source closed or paused: the copy on the other node follows.
		consumer.on('producerclose', () => {
			entry.consumers.delete(producerId);
			cluster.note(from, 'pipeProducerClosed', params);
		});
		consumer.on('producerpause', () => cluster.note(from, 'pipeProducerPaused', params));
		consumer.on('producerresume', () => cluster.note(from, 'pipeProducerResumed', params));
	}
	return { kind: consumer.kind, rtpParameters: consumer.rtpParameters, paused: consumer.producerPaused, appData: local.producer.appData };
});

function pipedProducer(name, producerId) {
	const room = rooms.get(name);
	return room instanceof Room ? room.piped.get(producerId) : undefined;
}

cluster.handlers.set('pipeProducerClosed', ({ room: name, producerId }) => {
	const room = rooms.get(name);
	if (room instanceof Room) room.forgetProducer(producerId);
});
cluster.handlers.set('pipeProducerPaused', async ({ room, producerId }) => {
	const piped = pipedProducer(room, producerId);
	if (piped) await (await piped).pause();
});
cluster.handlers.set('pipeProducerResumed', async ({ room, producerId }) => {
	const piped = pipedProducer(room, producerId);
	if (piped) await (await piped).resume();
});

// =============================================================================================
// Peers (as examples/room/server.js)

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
		for (const t of this.transports.values()) t.close();
		this.transports.clear();
		this.producers.clear();
		this.consumers.clear();
		this.dataProducers.clear();
		this.dataConsumers.clear();
	}
}

async function createTransport(peer, sctpCapabilities) {
	const announce = PUBLIC_IP ? { announcedAddress: PUBLIC_IP } : {};
	const transport = await peer.room.router.createWebRtcTransport({
		listenInfos: [
			...(peer.tcpOnly ? [] : [{ protocol: 'udp', ip: LISTEN_IP, ...announce }]),
			{ protocol: 'tcp', ip: LISTEN_IP, ...announce },
		],
		enableSctp: true,
		numSctpStreams: (sctpCapabilities && sctpCapabilities.numStreams) || { OS: 1024, MIS: 1024 },
		enableUdp: !peer.tcpOnly,
		enableTcp: true,
		preferUdp: !peer.tcpOnly,
		initialAvailableOutgoingBitrate: INITIAL_OUTGOING_BITRATE,
		appData: { peerId: peer.id },
	});
	peer.transports.set(transport.id, transport);
	transport.on('dtlsstatechange', (s) => {
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

/**
 * Creates a paused consumer of `producer` (a producer of this node's router: a local page's, or
 * a pipe producer carrying a remote one) for `peer` and tells its page.
 */
async function consume(peer, producerPeer, producer) {
	if (!peer.rtpCapabilities || !peer.recvTransport || peer.consumed.has(producer.id)) return;
	peer.consumed.add(producer.id);
	if (!peer.room.router.canConsume({ producerId: producer.id, rtpCapabilities: peer.rtpCapabilities })) {
		log(`[${peer.name}] cannot consume ${producer.kind} producer ${producer.id}`);
		return;
	}
	let consumer;
	try {
		consumer = await peer.recvTransport.consume({
			producerId: producer.id,
			rtpCapabilities: peer.rtpCapabilities,
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
		log(`[${peer.name}] consumer ${consumer.id} (${consumer.kind} of ${producerPeer.name}): producerclose`);
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

/** CLUSTER: `peer` consumes remote producer `info`: pipe it here (once), then consume the copy. */
async function consumeRemote(peer, info) {
	if (!peer.rtpCapabilities || !peer.recvTransport || peer.consumed.has(info.id)) return;
	const producer = await peer.room.pipeFrom(info);
	if (!peer.room.peers.has(peer.id)) return; // left meanwhile
	await consume(peer, { id: info.peerId, name: info.peerName }, producer);
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
				if (typeof ack === 'function') ack({ error: errorText(error) });
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
	const producerOf = (id) => {
		const producer = need().producers.get(id);
		if (!producer) throw new Error(`unknown producer ${id}`);
		return producer;
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
		// CLUSTER: tell the other nodes, and learn who is on them.
		await room.announcePeer(peer);
		await room.readDirectory();
		log(`[${name}] joined "${roomName}"${peer.tcpOnly ? ' (TCP only)' : ''}`);
		return {
			peerId: peer.id,
			routerRtpCapabilities: room.router.rtpCapabilities,
			peers: [...room.otherPeers(peer).map((p) => p.info()), ...[...room.remotePeers.values()].map(({ id, name: n }) => ({ id, name: n }))],
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

	// The page is ready to receive: consume what every other peer already publishes, on this node
	// and (CLUSTER) on the others.
	on('ready', async ({ rtpCapabilities }) => {
		const p = need();
		p.rtpCapabilities = rtpCapabilities;
		for (const other of p.room.otherPeers(p)) {
			for (const producer of other.producers.values()) {
				await consume(p, other, producer).catch((error) => log(`[${p.name}] consume of ${producer.id} failed:`, errorText(error)));
			}
			for (const dataProducer of other.dataProducers.values()) {
				await consumeData(p, other, dataProducer).catch((error) => log(`[${p.name}] consumeData of ${dataProducer.id} failed:`, errorText(error)));
			}
		}
		await Promise.all(
			[...p.room.remoteProducers.values()].map((info) =>
				consumeRemote(p, info).catch((error) => log(`[${p.name}] consume of remote ${info.id} failed:`, errorText(error))),
			),
		);
		await consumeData(p, { id: 'server', name: 'libsfu' }, p.room.notices);
	});

	on('produce', async ({ transportId, kind, rtpParameters, appData }) => {
		const p = need();
		const { room } = p;
		const producer = await transportOf(transportId).produce({ kind, rtpParameters, appData: { ...(appData || {}), peerId: p.id } });
		p.producers.set(producer.id, producer);
		// Closed by its transport (the page left) or by closeProducer: the other nodes forget it.
		producer.observer.once('close', () => {
			p.producers.delete(producer.id);
			if (!room.closed) room.announceProducerClosed(producer.id).catch((error) => log('announce producerClosed failed:', errorText(error)));
		});
		log(`[${p.name}] produces ${kind} ${producer.id} (${producer.type})`);
		setImmediate(async () => {
			for (const other of room.otherPeers(p)) {
				await consume(other, p, producer).catch((error) => log(`[${other.name}] consume of ${producer.id} failed:`, errorText(error)));
			}
		});
		// CLUSTER: into the directory, and to the other nodes (their pages consume it via a pipe).
		await room.announceProducer(p, producer);
		return { id: producer.id };
	});

	// Data channels (the chat) stay on this node: its pages chat with each other.
	on('produceData', async ({ transportId, sctpStreamParameters, label, protocol, appData }) => {
		const p = need();
		const dataProducer = await transportOf(transportId).produceData({ sctpStreamParameters, label, protocol, appData: { ...(appData || {}), peerId: p.id } });
		p.dataProducers.set(dataProducer.id, dataProducer);
		dataProducer.on('transportclose', () => p.dataProducers.delete(dataProducer.id));
		setImmediate(async () => {
			for (const other of p.room.otherPeers(p)) {
				await consumeData(other, p, dataProducer).catch((error) => log(`[${other.name}] consumeData of ${dataProducer.id} failed:`, errorText(error)));
			}
		});
		return { id: dataProducer.id };
	});

	on('closeProducer', ({ producerId }) => {
		producerOf(producerId).close();
	});

	on('pauseProducer', async ({ producerId }) => {
		const producer = producerOf(producerId);
		await producer.pause();
		await peer.room.announceProducerPaused(peer, producer);
	});

	on('resumeProducer', async ({ producerId }) => {
		const producer = producerOf(producerId);
		await producer.resume();
		await peer.room.announceProducerPaused(peer, producer);
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

	on('getStats', async () => describePeer(need()));

	const leave = async () => {
		if (!peer) return;
		const p = peer;
		const { room } = p;
		peer = undefined;
		p.close();
		room.peers.delete(p.id);
		room.broadcast(p, 'peerLeft', { id: p.id });
		room.notice(`${p.name} left the room`);
		log(`[${p.name}] left "${room.name}"`);
		if (!room.closed) await room.announcePeerLeft(p).catch((error) => log('announce peerLeft failed:', errorText(error)));
		room.closeIfEmpty();
	};
	on('leave', leave);
	socket.on('disconnect', () => leave());
}

// =============================================================================================
// GET /debug/state (ROOM_DEBUG=1)

async function settled(fn) {
	try {
		return await fn();
	} catch (error) {
		return { error: errorText(error) };
	}
}

async function describePeer(peer) {
	const transports = [];
	for (const t of peer.transports.values()) {
		transports.push({ id: t.id, iceState: t.iceState, iceSelectedTuple: t.iceSelectedTuple, dtlsState: t.dtlsState, closed: t.closed, stats: await settled(() => t.getStats()) });
	}
	const producers = [];
	for (const p of peer.producers.values()) {
		producers.push({ id: p.id, kind: p.kind, type: p.type, paused: p.paused, score: p.score, stats: await settled(() => p.getStats()) });
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
			currentLayers: c.currentLayers,
			stats: await settled(() => c.getStats()),
		});
	}
	return { id: peer.id, name: peer.name, transports, producers, consumers };
}

async function describeRoom(room) {
	const peers = [];
	for (const p of room.peers.values()) peers.push(await describePeer(p));
	const recvPipes = [];
	for (const [nodeId, pipe] of room.recvPipes) {
		const transport = await pipe.catch(() => null);
		if (!transport) continue;
		const producers = [];
		for (const [id, piped] of room.piped) {
			const producer = await piped.catch(() => null);
			if (producer && room.remoteProducers.get(id)?.nodeId === nodeId) {
				producers.push({ id, kind: producer.kind, type: producer.type, paused: producer.paused, stats: await settled(() => producer.getStats()) });
			}
		}
		recvPipes.push({ nodeId, transportId: transport.id, tuple: transport.tuple, stats: await settled(() => transport.getStats()), producers });
	}
	const sendPipes = [];
	for (const [nodeId, { transport, consumers }] of room.sendPipes) {
		const list = [];
		for (const c of consumers.values()) list.push({ id: c.id, producerId: c.producerId, kind: c.kind, type: c.type, stats: await settled(() => c.getStats()) });
		sendPipes.push({ nodeId, transportId: transport.id, tuple: transport.tuple, consumers: list });
	}
	return {
		name: room.name,
		routerId: room.router.id,
		peers,
		remotePeers: [...room.remotePeers.values()],
		remoteProducers: [...room.remoteProducers.values()],
		recvPipes,
		sendPipes,
	};
}

// =============================================================================================

async function main() {
	for (let i = 0; i < WORKERS; i++) {
		const worker = await sfu.createWorker({
			logLevel: LOG_LEVEL,
			logTags: ['info', 'ice', 'dtls', 'rtp', 'srtp', 'rtcp', 'simulcast'],
			...(RTC_MIN_PORT ? { rtcMinPort: RTC_MIN_PORT } : {}),
			...(RTC_MAX_PORT ? { rtcMaxPort: RTC_MAX_PORT } : {}),
		});
		worker.on('died', (error) => {
			log('worker died:', error);
			process.exit(1);
		});
		workers.push(worker);
	}

	await cluster.start();
	cluster.startHeartbeat();
	log(`node ${NODE_ID} joined the cluster at ${REDIS_URL} (${WORKERS} worker${WORKERS > 1 ? 's' : ''}, pipes ${PIPE_SRTP ? 'with' : 'without'} SRTP)`);

	const app = express();
	app.disable('x-powered-by');
	// The demo room's page, unchanged (bundle.js is built by `run` / the tests).
	app.use(express.static(path.join(__dirname, '..', 'room', 'public')));
	if (DEBUG_ENDPOINT) {
		app.get('/debug/state', async (_req, res) => {
			const out = { nodeId: NODE_ID, name: NODE_NAME, rooms: [] };
			for (const room of rooms.values()) if (room instanceof Room) out.rooms.push(await describeRoom(room));
			res.json(out);
		});
	}

	const server = http.createServer(app);
	const io = new SocketServer(server, { serveClient: true });
	io.on('connection', handleSocket);
	server.listen(PORT, HTTP_HOST, () => {
		const { port } = server.address();
		log(`libsfu cluster node listening on http://${HTTP_HOST}:${port}/ (room page: /?room=demo&name=Alice)`);
	});

	let stopping = false;
	const shutdown = async () => {
		if (stopping) return;
		stopping = true;
		log('shutting down');
		await Promise.race([cluster.stop(), new Promise((r) => setTimeout(r, 2000))]);
		io.close();
		server.close();
		for (const worker of workers) worker.close();
		process.exit(0);
	};
	process.on('SIGINT', shutdown);
	process.on('SIGTERM', shutdown);
	if (process.send) process.on('disconnect', shutdown);
}

main().catch((error) => {
	console.error('failed to start:', error);
	process.exit(1);
});
