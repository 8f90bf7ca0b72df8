'use strict';

// mediasoup's DataProducer: messages a transport's remote sends on an SCTP stream, or that the
// application sends with send() on a DirectTransport.

const { EngineObject } = require('./EngineObject');
const { Logger } = require('./logger');
const { call } = require('./native');

const logger = new Logger('DataProducer');

// WebRTC PPIDs (RFC 8831): text, binary, empty text, empty binary.
const PPID = { STRING: 51, BINARY: 53, STRING_EMPTY: 56, BINARY_EMPTY: 57 };

/**
 * mediasoup's message/PPID rules: the PPID follows the message type (and emptiness) unless given;
 * an empty message travels as one byte under an "empty" PPID.
 */
function encodeMessage(message, ppid) {
	if (typeof message !== 'string' && !Buffer.isBuffer(message)) {
		throw new TypeError('message must be a string or a Buffer');
	}
	if (ppid === undefined) {
		if (typeof message === 'string') ppid = message.length > 0 ? PPID.STRING : PPID.STRING_EMPTY;
		else ppid = message.length > 0 ? PPID.BINARY : PPID.BINARY_EMPTY;
	} else if (!Number.isInteger(ppid) || ppid < 0 || ppid > 0xffffffff) {
		throw new TypeError('ppid must be an unsigned 32-bit integer');
	}
	if (ppid === PPID.STRING_EMPTY) message = ' ';
	else if (ppid === PPID.BINARY_EMPTY) message = Buffer.alloc(1);
	return { ppid, buffer: typeof message === 'string' ? Buffer.from(message, 'utf8') : message };
}

class DataProducer extends EngineObject {
	#native;
	#events;
	#id;
	#type;
	#sctpStreamParameters;
	#label;
	#protocol;
	#paused;

	/**
	 * @private Use transport.produceData().
	 */
	constructor({ native, worker, events, appData }) {
		super({ native, worker, logger, appData });
		this.#native = native;
		this.#events = events;
		this.#id = native.id();
		this.#type = native.type();
		this.#sctpStreamParameters = native.sctpStreamParameters() ?? undefined;
		this.#label = native.label();
		this.#protocol = native.protocol();
		this.#paused = native.paused();
		events.on(this.#id, () => {});
	}

	get id() {
		return this.#id;
	}

	get type() {
		return this.#type;
	}

	get sctpStreamParameters() {
		return this.#sctpStreamParameters;
	}

	get label() {
		return this.#label;
	}

	get protocol() {
		return this.#protocol;
	}

	get paused() {
		return this.#paused;
	}

	/**
	 * @private The transport closed.
	 */
	_transportClosed() {
		this._closeLocally(undefined, 'transportclose');
	}

	async getStats() {
		this._assertOpen();
		return call(() => this.#native.getStats());
	}

	async pause() {
		this.#setPaused(true);
	}

	async resume() {
		this.#setPaused(false);
	}

	/**
	 * Sends a message to the data consumers (DataProducers of a DirectTransport only).
	 */
	send(message, ppid, subchannels, requiredSubchannel) {
		this._assertOpen();
		const m = encodeMessage(message, ppid);
		if (subchannels !== undefined && !Array.isArray(subchannels)) throw new TypeError('subchannels must be an array');
		if (requiredSubchannel !== undefined && typeof requiredSubchannel !== 'number') {
			throw new TypeError('requiredSubchannel must be a number');
		}
		call(() => this.#native.send(m.ppid, m.buffer, subchannels, requiredSubchannel));
	}

	#setPaused(paused) {
		this._assertOpen();
		const wasPaused = this.#paused;
		call(() => (paused ? this.#native.pause() : this.#native.resume()));
		this.#paused = paused;
		if (paused !== wasPaused) this.observer.safeEmit(paused ? 'pause' : 'resume');
	}

	/**
	 * @private
	 */
	_onClose() {
		this.#events.off(this.#id);
	}
}

module.exports = { DataProducer, encodeMessage };
