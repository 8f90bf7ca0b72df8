'use strict';

// mediasoup's Producer. It knows its consumers so that, when pause()/resume() resolve, they
// already report the new producerPaused and have emitted producerpause/producerresume — the order
// mediasoup apps see, since its worker notifies consumers before answering. Of its close() they
// learn from the engine ('producerclose'), asynchronously, as in mediasoup.

const { EngineObject } = require('./EngineObject');
const { Logger } = require('./logger');
const { call } = require('./native');

const logger = new Logger('Producer');

class Producer extends EngineObject {
	#native;
	#worker;
	#id;
	#kind;
	#rtpParameters;
	#type;
	#paused;
	#consumers = new Set();
	#events;

	/**
	 * @private Use transport.produce().
	 */
	constructor({ native, snapshot, worker, events, appData }) {
		super({ native, worker, logger, appData });
		this.#native = native;
		this.#worker = worker;
		// All the cached fields at once, made with the reply on the worker thread (see
		// node/src/producer.rs snapshot).
		const s = JSON.parse(snapshot);
		this.#id = s.id;
		this.#kind = s.kind;
		this.#rtpParameters = s.rtpParameters;
		this.#type = s.type;
		this.#paused = s.paused;
		this.#events = events;
		// The engine reports score changes about once a second (from its receive statistics).
		events?.on(this.#id, (ev) => {
			if (this.closed) return;
			if (ev.event === 'score' || ev.event === 'trace') {
				this.safeEmit(ev.event, ev[ev.event]);
				this.observer.safeEmit(ev.event, ev[ev.event]);
			}
		});
	}

	get id() {
		return this.#id;
	}

	/**
	 * @private router.canConsume() for this producer: `rtpCapabilities` as JSON (or null).
	 */
	_canConsume(json) {
		return this.#native.canConsume(json);
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
		if (this.closed || this.#worker.closed) return [];
		try {
			return this.#native.score();
		} catch {
			return [];
		}
	}

	/**
	 * @private Drops the engine-event registration: it holds this producer (and, through its
	 * '@close' listener, its transport) for as long as the worker lives.
	 */
	_onClose() {
		this.#events?.off(this.#id);
	}

	/**
	 * @private
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
	 * Injects an RTP packet (producers of a DirectTransport only).
	 */
	send(rtpPacket) {
		this._assertOpen();
		if (!Buffer.isBuffer(rtpPacket)) throw new TypeError('rtpPacket must be a Buffer');
		call(() => this.#native.send(rtpPacket));
	}

	async enableTraceEvent(types = []) {
		this._assertOpen();
		if (!Array.isArray(types) || !types.every((t) => typeof t === 'string')) {
			throw new TypeError('types must be an array of strings');
		}
		call(() => this.#native.enableTraceEvent(types));
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

	#setPaused(paused) {
		this._assertOpen();
		const wasPaused = this.#paused;
		call(() => (paused ? this.#native.pause() : this.#native.resume()));
		this.#paused = paused;
		for (const consumer of this.#consumers) consumer._syncProducerPaused();
		if (paused !== wasPaused) this.observer.safeEmit(paused ? 'pause' : 'resume');
	}
}

module.exports = { Producer };
