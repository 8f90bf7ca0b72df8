'use strict';

// mediasoup's Transport: what every transport kind shares. It keeps its producers and consumers
// so that close() and the router's close can cascade synchronously, as mediasoup's JS layer does.

const { EngineObject } = require('./EngineObject');
const { Logger } = require('./logger');
const { call } = require('./native');
const { UnsupportedError } = require('./errors');
const { splitOptions } = require('./options');
const { Producer } = require('./Producer');
const { Consumer } = require('./Consumer');
const { DataProducer } = require('./DataProducer');
const { DataConsumer } = require('./DataConsumer');

const logger = new Logger('Transport');

class Transport extends EngineObject {
	#native;
	#worker;
	#router;
	#events;
	#id;
	#producers = new Map();
	#consumers = new Map();
	#dataProducers = new Map();
	#dataConsumers = new Map();

	/**
	 * @private
	 */
	constructor({ native, worker, router, events, appData }) {
		super({ native, worker, logger, appData });
		this.#native = native;
		this.#worker = worker;
		this.#router = router;
		this.#events = events;
		this.#id = native.id();
		events.on(this.#id, (ev, data) => {
			if (ev.event === 'socketError') {
				// Not in mediasoup: a send refused or an ICMP error for the remote.
				if (this.closed) return;
				const { targetId, event, ...info } = ev;
				return this.safeEmit('socketerror', info);
			}
			if (ev.event !== 'trace') return this._onEngineEvent(ev, data);
			if (this.closed) return;
			this.safeEmit('trace', ev.trace);
			this.observer.safeEmit('trace', ev.trace);
		});
	}

	get id() {
		return this.#id;
	}

	/**
	 * @private The router closed (itself, or with its worker).
	 */
	_routerClosed() {
		this._closeLocally(undefined, 'routerclose');
	}

	/**
	 * @private The WebRtcServer whose ports the transport uses closed; the engine closes the
	 * transport with it.
	 */
	_listenServerClosed() {
		if (!this._markClosed()) return;
		// Tell the router first, as mediasoup does.
		this.emit('@listenserverclose');
		this._onClose();
		this.safeEmit('listenserverclose');
		this.observer.safeEmit('close');
	}

	async getStats() {
		this._assertOpen();
		return call(() => this.#native.getStats());
	}

	// Bandwidth limits: WebRtcTransports apply them; other transports accept and validate them
	// (as mediasoup's do) so apps written for mediasoup keep running.
	async setMaxIncomingBitrate(bitrate) {
		this._assertOpen();
		checkBitrate(bitrate);
		this._setMaxIncomingBitrate(bitrate);
	}

	/**
	 * Not in mediasoup: the lowest estimate announced (REMB) to producers that estimate from
	 * REMB rather than transport-cc (0 removes it).
	 */
	async setMinIncomingBitrate(bitrate) {
		this._assertOpen();
		checkBitrate(bitrate);
		this._setMinIncomingBitrate(bitrate);
	}

	/**
	 * @private WebRtcTransports announce it to the remote (REMB).
	 */
	_setMaxIncomingBitrate() {}

	/**
	 * @private WebRtcTransports announce it to the remote (REMB).
	 */
	_setMinIncomingBitrate() {}

	async setMaxOutgoingBitrate(bitrate) {
		this._assertOpen();
		checkBitrate(bitrate);
		this._setOutgoingBitrateBounds(undefined, bitrate);
	}

	async setMinOutgoingBitrate(bitrate) {
		this._assertOpen();
		checkBitrate(bitrate);
		this._setOutgoingBitrateBounds(bitrate, undefined);
	}

	/**
	 * @private Transports with bandwidth estimation (WebRtcTransport) apply the bounds.
	 */
	_setOutgoingBitrateBounds() {}

	async enableTraceEvent(types = []) {
		this._assertOpen();
		if (!Array.isArray(types) || !types.every((t) => typeof t === 'string')) {
			throw new TypeError('types must be an array of strings');
		}
		call(() => this.#native.enableTraceEvent(types));
	}

	async produce(options) {
		this._assertOpen();
		const { appData, json, fields } = splitOptions(options);
		if (fields.id !== undefined && this.#producers.has(fields.id)) {
			throw new TypeError(`a Producer with same id "${fields.id}" already exists`);
		}
		const { native, snapshot } = await this.#events.request((id) => this.#native.produceAsync(json, id));
		this._assertOpenAfterRequest(native);
		const producer = new Producer({ native, snapshot, worker: this.#worker, events: this.#events, appData });
		this.#producers.set(producer.id, producer);
		this.#router._addProducer(producer);
		producer.on('@close', () => this.#forgetProducer(producer));
		this.observer.safeEmit('newproducer', producer);
		return producer;
	}

	async consume(options) {
		this._assertOpen();
		const { appData, json, fields } = splitOptions(options);
		const { native, snapshot } = await this.#events.request((id) => this.#native.consumeAsync(json, id));
		this._assertOpenAfterRequest(native);
		const producer = this.#router._getProducer(fields.producerId);
		const consumer = new Consumer({ native, snapshot, worker: this.#worker, events: this.#events, appData, producer });
		this.#consumers.set(consumer.id, consumer);
		consumer.on('@close', () => this.#consumers.delete(consumer.id));
		consumer.on('@producerclose', () => this.#consumers.delete(consumer.id));
		this.observer.safeEmit('newconsumer', consumer);
		return consumer;
	}

	async produceData(options = {}) {
		this._assertOpen();
		const { appData, json, fields } = splitOptions(options);
		if (fields.id !== undefined && this.#dataProducers.has(fields.id)) {
			throw new TypeError(`a DataProducer with same id "${fields.id}" already exists`);
		}
		const native = call(() => this.#native.produceData(json));
		const dataProducer = new DataProducer({ native, worker: this.#worker, events: this.#events, appData });
		this.#dataProducers.set(dataProducer.id, dataProducer);
		this.#router._addDataProducer(dataProducer);
		dataProducer.on('@close', () => {
			this.#dataProducers.delete(dataProducer.id);
			this.#router._removeDataProducer(dataProducer);
		});
		this.observer.safeEmit('newdataproducer', dataProducer);
		return dataProducer;
	}

	async consumeData(options) {
		this._assertOpen();
		const { appData, json, fields } = splitOptions(options);
		if (typeof fields.dataProducerId !== 'string') throw new TypeError('missing dataProducerId');
		const native = call(() => this.#native.consumeData(json));
		const dataConsumer = new DataConsumer({ native, worker: this.#worker, events: this.#events, appData });
		this.#dataConsumers.set(dataConsumer.id, dataConsumer);
		dataConsumer.on('@close', () => this.#dataConsumers.delete(dataConsumer.id));
		dataConsumer.on('@dataproducerclose', () => this.#dataConsumers.delete(dataConsumer.id));
		this.observer.safeEmit('newdataconsumer', dataConsumer);
		return dataConsumer;
	}

	/**
	 * @private Events the engine sends about this transport; subclasses add theirs.
	 */
	_onEngineEvent() {}

	#forgetProducer(producer) {
		this.#producers.delete(producer.id);
		this.#router._removeProducer(producer);
	}

	/**
	 * @private
	 */
	_onClose() {
		this.#events.off(this.#id);
		for (const producer of this.#producers.values()) {
			this.#router._removeProducer(producer);
			producer._transportClosed();
		}
		this.#producers.clear();
		for (const consumer of this.#consumers.values()) consumer._transportClosed();
		this.#consumers.clear();
		for (const dataProducer of this.#dataProducers.values()) {
			this.#router._removeDataProducer(dataProducer);
			dataProducer._transportClosed();
		}
		this.#dataProducers.clear();
		for (const dataConsumer of this.#dataConsumers.values()) dataConsumer._transportClosed();
		this.#dataConsumers.clear();
	}
}

function checkBitrate(bitrate) {
	if (typeof bitrate !== 'number' || !(bitrate >= 0)) {
		throw new TypeError('bitrate must be a number >= 0');
	}
}

module.exports = { Transport };
