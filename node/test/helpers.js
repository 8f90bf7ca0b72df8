'use strict';

// Shared by the tests: fixtures from core/testdata, real loopback UDP sockets, RTP packets.

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

module.exports = {
	mediaCodecs,
	chromeAudio,
	chromeVideo,
	opusParameters,
	listenInfo,
	udpSocket,
	rtpPacket,
	parseRtp,
	collectRtp,
	waitUntil,
	sleep,
	nextEvent,
};
