'use strict';

// Shared by the tests: fixtures from core/testdata, real loopback UDP sockets, RTP packets, STUN
// (ICE connectivity checks as a browser sends them).

const crypto = require('node:crypto');
const dgram = require('node:dgram');
const path = require('node:path');
const { once } = require('node:events');

const testdata = path.join(__dirname, '..', '..', 'core', 'testdata');
const mediaCodecs = require(path.join(testdata, 'router-media-codecs.json'));
const chromeProduce = require(path.join(testdata, 'chrome-mediasoup-client-produce.json'));

// What mediasoup-client sent for Chrome's microphone and camera.
const chromeAudio = chromeProduce.produce.find((p) => p.kind === 'audio');
const chromeVideo = chromeProduce.produce.find((p) => p.kind === 'video');

// A minimal audio producer whose SSRC the test chooses.
function opusParameters(ssrc) {
	return {
		codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
		encodings: [{ ssrc }],
	};
}

const listenInfo = { protocol: 'udp', ip: '127.0.0.1' };

async function udpSocket() {
	const socket = dgram.createSocket('udp4');
	socket.bind(0, '127.0.0.1');
	await once(socket, 'listening');
	return socket;
}

// A PlainTransport on loopback that sends `producer` to 127.0.0.1:`port`.
async function plainConsumerTo(router, producer, port) {
	const transport = await router.createPlainTransport({ listenInfo });
	await transport.connect({ ip: '127.0.0.1', port });
	await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
	return transport;
}

// Builds an RTP packet (RFC 3550, no CSRC, no extension).
function rtpPacket({ payloadType, sequenceNumber, timestamp, ssrc, payload, marker = false }) {
	const header = Buffer.alloc(12);
	header[0] = 0x80;
	header[1] = (marker ? 0x80 : 0) | payloadType;
	header.writeUInt16BE(sequenceNumber & 0xffff, 2);
	header.writeUInt32BE(timestamp >>> 0, 4);
	header.writeUInt32BE(ssrc >>> 0, 8);
	return Buffer.concat([header, payload]);
}

// Parses what a consumer sent: header fields and the payload after CSRCs and extensions.
function parseRtp(buf) {
	const csrcCount = buf[0] & 0x0f;
	let offset = 12 + 4 * csrcCount;
	if (buf[0] & 0x10) offset += 4 + 4 * buf.readUInt16BE(offset + 2);
	let end = buf.length;
	if (buf[0] & 0x20) end -= buf[buf.length - 1];
	return {
		version: buf[0] >> 6,
		payloadType: buf[1] & 0x7f,
		sequenceNumber: buf.readUInt16BE(2),
		timestamp: buf.readUInt32BE(4),
		ssrc: buf.readUInt32BE(8),
		payload: buf.subarray(offset, end),
	};
}

function isRtcp(buf) {
	return buf.length >= 2 && buf[1] >= 192 && buf[1] <= 223;
}

// Collects the RTP packets a socket receives (RTCP, e.g. receiver reports, is set aside).
function collectRtp(socket) {
	const packets = [];
	socket.on('message', (msg) => {
		if (!isRtcp(msg)) packets.push(parseRtp(msg));
	});
	return packets;
}

// Resolves when `predicate()` holds, polling; rejects with `describe()` after `timeoutMs`.
async function waitUntil(predicate, describe, timeoutMs = 3000) {
	const deadline = Date.now() + timeoutMs;
	while (!predicate()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting: ${describe()}`);
		await sleep(5);
	}
}

function sleep(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

// Resolves with the arguments of the next `event`, or rejects after `timeoutMs`.
function nextEvent(emitter, event, timeoutMs = 3000) {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no '${event}' event within ${timeoutMs} ms`)), timeoutMs);
		emitter.once(event, (...args) => {
			clearTimeout(timer);
			resolve(args);
		});
	});
}

// ---- STUN (RFC 5389) and ICE (RFC 8445) attributes a browser's connectivity check carries ----

const STUN_MAGIC_COOKIE = 0x2112a442;
const STUN_BINDING_REQUEST = 0x0001;
const STUN_BINDING_SUCCESS = 0x0101;
const STUN_BINDING_ERROR = 0x0111;
const ATTR_USERNAME = 0x0006;
const ATTR_MESSAGE_INTEGRITY = 0x0008;
const ATTR_ERROR_CODE = 0x0009;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_PRIORITY = 0x0024;
const ATTR_USE_CANDIDATE = 0x0025;
const ATTR_FINGERPRINT = 0x8028;
const ATTR_ICE_CONTROLLING = 0x802a;

function stunAttribute(type, value) {
	const header = Buffer.alloc(4);
	header.writeUInt16BE(type, 0);
	header.writeUInt16BE(value.length, 2);
	const padding = Buffer.alloc((4 - (value.length % 4)) % 4);
	return Buffer.concat([header, value, padding]);
}

// The STUN header with the message length set to `bodyLength`.
function stunHeader(type, bodyLength, transactionId) {
	const header = Buffer.alloc(20);
	header.writeUInt16BE(type, 0);
	header.writeUInt16BE(bodyLength, 2);
	header.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
	transactionId.copy(header, 8);
	return header;
}

const CRC32_TABLE = (() => {
	const table = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		table[n] = c >>> 0;
	}
	return table;
})();

function crc32(buf) {
	let c = 0xffffffff;
	for (const byte of buf) c = CRC32_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
}

// A Binding request from an ICE-controlling browser to the transport whose local ICE parameters
// are `usernameFragment` / `password`: USERNAME "local:remote", PRIORITY, ICE-CONTROLLING,
// optionally USE-CANDIDATE, then MESSAGE-INTEGRITY (HMAC-SHA1 keyed with the password) and
// FINGERPRINT (CRC-32 xor 0x5354554e).
function stunBindingRequest({ usernameFragment, password, remoteUsernameFragment = 'x', useCandidate = true, priority = 0x6e7f1eff, transactionId = crypto.randomBytes(12) }) {
	const priorityValue = Buffer.alloc(4);
	priorityValue.writeUInt32BE(priority >>> 0);
	let body = Buffer.concat([
		stunAttribute(ATTR_USERNAME, Buffer.from(`${usernameFragment}:${remoteUsernameFragment}`)),
		stunAttribute(ATTR_PRIORITY, priorityValue),
		stunAttribute(ATTR_ICE_CONTROLLING, crypto.randomBytes(8)),
		useCandidate ? stunAttribute(ATTR_USE_CANDIDATE, Buffer.alloc(0)) : Buffer.alloc(0),
	]);
	// MESSAGE-INTEGRITY covers the header with a length that already counts itself (24 bytes).
	const hmac = crypto
		.createHmac('sha1', password)
		.update(Buffer.concat([stunHeader(STUN_BINDING_REQUEST, body.length + 24, transactionId), body]))
		.digest();
	body = Buffer.concat([body, stunAttribute(ATTR_MESSAGE_INTEGRITY, hmac)]);
	// FINGERPRINT likewise counts itself (8 bytes).
	const crc = Buffer.alloc(4);
	crc.writeUInt32BE((crc32(Buffer.concat([stunHeader(STUN_BINDING_REQUEST, body.length + 8, transactionId), body])) ^ 0x5354554e) >>> 0);
	body = Buffer.concat([body, stunAttribute(ATTR_FINGERPRINT, crc)]);
	return { packet: Buffer.concat([stunHeader(STUN_BINDING_REQUEST, body.length, transactionId), body]), transactionId };
}

// Parses a STUN response: `{ type: 'success'|'error'|number, transactionId, mappedAddress, errorCode }`.
function parseStun(buf) {
	if (buf.length < 20 || buf.readUInt32BE(4) !== STUN_MAGIC_COOKIE) return undefined;
	const rawType = buf.readUInt16BE(0);
	const type = rawType === STUN_BINDING_SUCCESS ? 'success' : rawType === STUN_BINDING_ERROR ? 'error' : rawType;
	const result = { type, transactionId: buf.subarray(8, 20) };
	let offset = 20;
	const end = Math.min(buf.length, 20 + buf.readUInt16BE(2));
	while (offset + 4 <= end) {
		const attrType = buf.readUInt16BE(offset);
		const length = buf.readUInt16BE(offset + 2);
		const value = buf.subarray(offset + 4, offset + 4 + length);
		if (attrType === ATTR_XOR_MAPPED_ADDRESS && value[1] === 0x01) {
			const port = value.readUInt16BE(2) ^ (STUN_MAGIC_COOKIE >>> 16);
			const ip = [0, 1, 2, 3].map((i) => value[4 + i] ^ ((STUN_MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff)).join('.');
			result.mappedAddress = { ip, port };
		} else if (attrType === ATTR_ERROR_CODE) {
			result.errorCode = (value[2] & 0x07) * 100 + value[3];
		}
		offset += 4 + length + ((4 - (length % 4)) % 4);
	}
	return result;
}

// Sends a Binding request from `socket` (dgram) and resolves with the parsed answer to it, or
// undefined when none comes within `timeoutMs`.
function stunCheck(socket, port, credentials, { timeoutMs = 1000, ...options } = {}) {
	const { packet, transactionId } = stunBindingRequest({ ...credentials, ...options });
	return new Promise((resolve) => {
		const onMessage = (msg) => {
			const response = parseStun(msg);
			if (!response || !response.transactionId.equals(transactionId)) return;
			clearTimeout(timer);
			socket.off('message', onMessage);
			resolve(response);
		};
		const timer = setTimeout(() => {
			socket.off('message', onMessage);
			resolve(undefined);
		}, timeoutMs);
		socket.on('message', onMessage);
		socket.send(packet, port, '127.0.0.1');
	});
}

// Collects `events` of `emitter` as [name, ...args] entries.
function recordEvents(emitter, events) {
	const log = [];
	for (const name of events) emitter.on(name, (...args) => log.push([name, ...args]));
	return log;
}

module.exports = {
	mediaCodecs,
	chromeAudio,
	chromeVideo,
	opusParameters,
	listenInfo,
	udpSocket,
	plainConsumerTo,
	rtpPacket,
	parseRtp,
	collectRtp,
	waitUntil,
	sleep,
	nextEvent,
	stunBindingRequest,
	parseStun,
	stunCheck,
	recordEvents,
};
