'use strict';

// mediasoup's DataConsumer: a data producer's messages delivered to a transport's remote on an
// SCTP stream, or to the application ('message' events) on a DirectTransport.

const { EngineObject } = require('./EngineObject');
const { Logger } = require('./logger');
const { call } = require('./native');
const { encodeMessage } = require('./DataProducer');

const logger = new Logger('DataConsumer');

class DataConsumer extends EngineObject {
	#native;
	#events;
	#id;
	#dataProducerId;
	#type;
	#sctpStreamParameters;
	#label;
	#protocol;
	#paused;
	#dataProducerPaused;

	/**
	 * @private Use transport.consumeData().
	 */
	constructor({ native, worker, events, appData }) {
		super({ native, worker, logger, appData });
		this.#native = native;
		this.#events = events;
		this.#id = native.id();
		this.#dataProducerId = native.dataProducerId();
		this.#type = native.type();
		this.#sctpStreamParameters = native.sctpStreamParameters() ?? undefined;
		this.#label = native.label();
		this.#protocol = native.protocol();
		this.#paused = native.paused();
		this.#dataProducerPaused = native.dataProducerPaused();
		events.on(this.#id, (ev, data) => this.#onEngineEvent(ev, data));
	}

	get id() {
		return this.#id;
	}

	get dataProducerId() {
		return this.#dataProducerId;
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

	get dataProducerPaused() {
		return this.#dataProducerPaused;
	}

	get subchannels() {
		return this.closed ? [] : call(() => this.#native.subchannels());
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

	async setBufferedAmountLowThreshold(threshold) {
		this._assertOpen();
		if (typeof threshold !== 'number') throw new TypeError('threshold must be a number');
		call(() => this.#native.setBufferedAmountLowThreshold(threshold));
	}

	async getBufferedAmount() {
		this._assertOpen();
		return call(() => this.#native.bufferedAmount());
	}

	/**
	 * Sends a message straight to this DataConsumer's remote (type 'sctp' only).
	 */
	async send(message, ppid) {
		this._assertOpen();
		const m = encodeMessage(message, ppid);
		call(() => this.#native.send(m.ppid, m.buffer));
	}

	async setSubchannels(subchannels) {
		this._assertOpen();
		if (!Array.isArray(subchannels)) throw new TypeError('subchannels must be an array');
		call(() => this.#native.setSubchannels(subchannels));
	}

	async addSubchannel(subchannel) {
		this._assertOpen();
		if (typeof subchannel !== 'number') throw new TypeError('subchannel must be a number');
		call(() => this.#native.setSubchannels([...this.subchannels, subchannel]));
	}

	async removeSubchannel(subchannel) {
		this._assertOpen();
		if (typeof subchannel !== 'number') throw new TypeError('subchannel must be a number');
		call(() => this.#native.setSubchannels(this.subchannels.filter((s) => s !== subchannel)));
	}

	#onEngineEvent(ev, data) {
		if (this.closed) return;
		switch (ev.event) {
			case 'message':
				this.safeEmit('message', data, ev.ppid);
				break;
			case 'closed':
				if (ev.reason === 'dataProducerClosed') this._closeLocally('@dataproducerclose', 'dataproducerclose');
				break;
			case 'dataProducerPause':
			case 'dataProducerResume': {
				const paused = ev.event === 'dataProducerPause';
				if (paused === this.#dataProducerPaused) break;
				this.#dataProducerPaused = paused;
				this.safeEmit(paused ? 'dataproducerpause' : 'dataproducerresume');
				if (!this.#paused) this.observer.safeEmit(paused ? 'pause' : 'resume');
				break;
			}
			case 'sctpSendBufferFull':
				this.safeEmit('sctpsendbufferfull');
				break;
			case 'bufferedAmountLow':
				this.safeEmit('bufferedamountlow', ev.bufferedAmount);
				break;
			default:
				break;
		}
	}

	#setPaused(paused) {
		this._assertOpen();
		const wasPaused = this.#paused;
		call(() => (paused ? this.#native.pause() : this.#native.resume()));
		this.#paused = paused;
		if (paused !== wasPaused && !this.#dataProducerPaused) this.observer.safeEmit(paused ? 'pause' : 'resume');
	}

	/**
	 * @private
	 */
	_onClose() {
		this.#events.off(this.#id);
	}
}

module.exports = { DataConsumer };
