'use strict';

// mediasoup's Consumer. `producerPaused` follows the engine: it is re-read whenever the engine
// reports a producer pause/resume or the producer's pause()/resume() returns, and an event fires
// only on a real change, so late engine events never undo a newer state.

const { EngineObject } = require('./EngineObject');
const { Logger } = require('./logger');
const { call } = require('./native');
const { toJson } = require('./options');

const logger = new Logger('Consumer');

class Consumer extends EngineObject {
	#native;
	#events;
	#producer;
	#id;
	#producerId;
	#kind;
	#rtpParameters;
	#type;
	#paused;
	#producerPaused;
	#priority;
	#score;
	#preferredLayers;
	#currentLayers;

	/**
	 * @private Use transport.consume().
	 */
	constructor({ native, snapshot, worker, events, appData, producer }) {
		super({ native, worker, logger, appData });
		this.#native = native;
		this.#events = events;
		this.#producer = producer;
		// All the cached fields at once, made with the reply on the worker thread (see
		// node/src/consumer.rs snapshot).
		const s = JSON.parse(snapshot);
		this.#id = s.id;
		this.#producerId = s.producerId;
		this.#kind = s.kind;
		this.#rtpParameters = s.rtpParameters;
		this.#type = s.type;
		this.#paused = s.paused;
		this.#producerPaused = s.producerPaused;
		this.#priority = s.priority;
		this.#preferredLayers = s.preferredLayers ?? undefined;
		// A fresh consumer starts healthy, as mediasoup's does; 'score' events update it.
		const producerScores = (producer ? producer.rtpParameters.encodings : [{}]).map(() => 10);
		this.#score = { score: 10, producerScore: 10, producerScores };
		if (producer) producer._addConsumer(this);
		events.on(this.#id, (ev, data) => this.#onEngineEvent(ev, data));
	}

	get id() {
		return this.#id;
	}

	get producerId() {
		return this.#producerId;
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

	get producerPaused() {
		return this.#producerPaused;
	}

	get priority() {
		return this.#priority;
	}

	get score() {
		return this.#score;
	}

	get preferredLayers() {
		return this.#preferredLayers;
	}

	// Only simulcast/SVC consumers have layers; kept current by the engine's layerschange.
	get currentLayers() {
		return this.#currentLayers;
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
		await this.#setPaused(true);
	}

	async resume() {
		await this.#setPaused(false);
	}

	async setPreferredLayers(preferredLayers) {
		this._assertOpen();
		if (preferredLayers === null || typeof preferredLayers !== 'object') {
			throw new TypeError('preferredLayers must be an object');
		}
		call(() => this.#native.setPreferredLayers(toJson(preferredLayers)));
		this.#preferredLayers = this.#native.preferredLayers() ?? undefined;
	}

	async setPriority(priority) {
		this._assertOpen();
		if (typeof priority !== 'number') throw new TypeError('priority must be a number');
		call(() => this.#native.setPriority(priority));
		this.#priority = this.#native.priority();
	}

	async unsetPriority() {
		this._assertOpen();
		call(() => this.#native.setPriority(undefined));
		this.#priority = this.#native.priority();
	}

	async requestKeyFrame() {
		this._assertOpen();
		call(() => this.#native.requestKeyFrame());
	}

	async enableTraceEvent(types = []) {
		this._assertOpen();
		if (!Array.isArray(types) || !types.every((t) => typeof t === 'string')) {
			throw new TypeError('types must be an array of strings');
		}
		call(() => this.#native.enableTraceEvent(types));
	}

	/**
	 * @private Re-reads the engine's producerPaused and reports a change.
	 */
	_syncProducerPaused() {
		if (this.closed) return;
		const producerPaused = this.#native.producerPaused();
		if (producerPaused === this.#producerPaused) return;
		this.#producerPaused = producerPaused;
		this.safeEmit(producerPaused ? 'producerpause' : 'producerresume');
		if (!this.#paused) this.observer.safeEmit(producerPaused ? 'pause' : 'resume');
	}

	#onEngineEvent(ev, data) {
		if (ev.event === 'rtp') {
			if (!this.closed) this.safeEmit('rtp', data);
		} else if (ev.event === 'producerPause' || ev.event === 'producerResume') {
			this._syncProducerPaused();
		} else if (ev.event === 'closed' && ev.reason === 'producerClosed') {
			this._closeLocally('@producerclose', 'producerclose');
		} else if (ev.event === 'score') {
			if (this.closed) return;
			this.#score = ev.score;
			this.safeEmit('score', this.#score);
			this.observer.safeEmit('score', this.#score);
		} else if (ev.event === 'trace') {
			if (this.closed) return;
			this.safeEmit('trace', ev.trace);
			this.observer.safeEmit('trace', ev.trace);
		} else if (ev.event === 'layersChange') {
			if (this.closed) return;
			this.#currentLayers = ev.layers ?? undefined;
			this.safeEmit('layerschange', this.#currentLayers);
			this.observer.safeEmit('layerschange', this.#currentLayers);
		}
	}

	// Pipelined (see node/src/reply.rs); as in mediasoup, `paused` changes once the engine did.
	async #setPaused(paused) {
		this._assertOpen();
		const wasPaused = this.#paused;
		await this.#events.request((id) => this.#native.setPausedAsync(paused, id));
		this.#paused = paused;
		// While the producer is paused, the observer already sees the consumer paused.
		if (paused !== wasPaused && !this.#producerPaused) this.observer.safeEmit(paused ? 'pause' : 'resume');
	}

	/**
	 * @private
	 */
	_onClose() {
		this.#events.off(this.#id);
		if (this.#producer) this.#producer._removeConsumer(this);
	}
}

module.exports = { Consumer };
