'use strict';

// mediasoup's Producer. It knows its consumers so that, when pause()/resume() resolve, they
// already report the new producerPaused and have emitted producerpause/producerresume — the order
// mediasoup apps see, since its worker notifies consumers before answering.

const { EnhancedEventEmitter } = require('./enhancedEvents');
const { Logger } = require('./logger');
const { call } = require('./native');
const { assertOpen } = require('./errors');
const { checkAppData } = require('./options');

const logger = new Logger('Producer');

class Producer extends EnhancedEventEmitter {
	#native;
	#worker;
	#id;
	#kind;
	#rtpParameters;
	#type;
	#paused;
	#closed = false;
	#appData;
	#consumers = new Set();
	#observer = new EnhancedEventEmitter();

	/**
	 * @private Use transport.produce().
	 */
	constructor({ native, worker, events, appData }) {
		super();
		this.#native = native;
		this.#worker = worker;
		this.#id = native.id();
		this.#kind = native.kind();
		this.#rtpParameters = native.rtpParameters();
		this.#type = native.type();
		this.#paused = native.paused();
		this.#appData = appData;
		// The engine reports score changes about once a second (from its receive statistics).
		events?.on(this.#id, (ev) => {
			if (ev.event !== 'score' || this.#closed) return;
			this.safeEmit('score', ev.score);
			this.#observer.safeEmit('score', ev.score);
		});
	}

	get id() {
		return this.#id;
	}

	get closed() {
		return this.#closed;
	}

	get kind() {
		return this.#kind;
	}

	get rtpParameters() {
		return this.#rtpParameters;
	}

	get type() {
		return this.#type;
	}

	get paused() {
		return this.#paused;
	}

	get score() {
		if (this.#closed || this.#worker.closed) return [];
		try {
			return this.#native.score();
		} catch {
			return [];
		}
	}

	get appData() {
		return this.#appData;
	}

	set appData(appData) {
		checkAppData(appData);
		this.#appData = appData;
	}

	get observer() {
		return this.#observer;
	}

	// Consumers learn from the engine ('producerclose'), asynchronously, as in mediasoup.
	close() {
		if (this.#closed) return;
		logger.debug('close()');
		this.#closed = true;
		this.emit('@close');
		this.#observer.safeEmit('close');
		this.#native.close();
	}

	/**
	 * @private
	 */
	_transportClosed() {
		if (this.#closed) return;
		this.#closed = true;
		this.safeEmit('transportclose');
		this.#observer.safeEmit('close');
	}

	async getStats() {
		this.#assertOpen();
		return call(() => this.#native.getStats());
	}

	async dump() {
		this.#assertOpen();
		return call(() => this.#native.dump());
	}

	async pause() {
		this.#assertOpen();
		const wasPaused = this.#paused;
		call(() => this.#native.pause());
		this.#paused = true;
		this.#syncConsumers();
		if (!wasPaused) this.#observer.safeEmit('pause');
	}

	async resume() {
		this.#assertOpen();
		const wasPaused = this.#paused;
		call(() => this.#native.resume());
		this.#paused = false;
		this.#syncConsumers();
		if (wasPaused) this.#observer.safeEmit('resume');
	}

	async enableTraceEvent(types = []) {
		this.#assertOpen();
		if (!Array.isArray(types)) throw new TypeError('types must be an array');
	}

	/**
	 * @private
	 */
	_addConsumer(consumer) {
		this.#consumers.add(consumer);
	}

	/**
	 * @private
	 */
	_removeConsumer(consumer) {
		this.#consumers.delete(consumer);
	}

	#syncConsumers() {
		for (const consumer of this.#consumers) consumer._syncProducerPaused();
	}

	#assertOpen() {
		assertOpen(this.#closed, this.#worker, 'Producer');
	}
}

module.exports = { Producer };
