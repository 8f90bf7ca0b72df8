'use strict';

// mediasoup's Consumer. `producerPaused` follows the engine: it is re-read whenever the engine
// reports a producer pause/resume or the producer's pause()/resume() returns, and an event fires
// only on a real change, so late engine events never undo a newer state.

const { EnhancedEventEmitter } = require('./enhancedEvents');
const { Logger } = require('./logger');
const { call } = require('./native');
const { assertOpen } = require('./errors');
const { checkAppData, toJson } = require('./options');

const logger = new Logger('Consumer');

class Consumer extends EnhancedEventEmitter {
	#native;
	#worker;
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
	#closed = false;
	#appData;
	#observer = new EnhancedEventEmitter();

	/**
	 * @private Use transport.consume().
	 */
	constructor({ native, worker, events, appData, producer }) {
		super();
		this.#native = native;
		this.#worker = worker;
		this.#events = events;
		this.#producer = producer;
		this.#id = native.id();
		this.#producerId = native.producerId();
		this.#kind = native.kind();
		this.#rtpParameters = native.rtpParameters();
		this.#type = native.type();
		this.#paused = native.paused();
		this.#producerPaused = native.producerPaused();
		this.#priority = native.priority();
		this.#preferredLayers = native.preferredLayers() ?? undefined;
		// A fresh consumer starts healthy, as mediasoup's does; 'score' events update it.
		const producerScores = (producer ? producer.rtpParameters.encodings : [{}]).map(() => 10);
		this.#score = { score: 10, producerScore: 10, producerScores };
		this.#appData = appData;
		if (producer) producer._addConsumer(this);
		events.on(this.#id, (ev) => this.#onEngineEvent(ev));
	}

	get id() {
		return this.#id;
	}

	get producerId() {
		return this.#producerId;
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

	close() {
		if (this.#closed) return;
		logger.debug('close()');
		this.#markClosed();
		this.emit('@close');
		this.#observer.safeEmit('close');
		this.#native.close();
	}

	/**
	 * @private
	 */
	_transportClosed() {
		if (this.#closed) return;
		this.#markClosed();
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
		if (!wasPaused && !this.#producerPaused) this.#observer.safeEmit('pause');
	}

	async resume() {
		this.#assertOpen();
		const wasPaused = this.#paused;
		call(() => this.#native.resume());
		this.#paused = false;
		if (wasPaused && !this.#producerPaused) this.#observer.safeEmit('resume');
	}

	async setPreferredLayers(preferredLayers) {
		this.#assertOpen();
		if (preferredLayers === null || typeof preferredLayers !== 'object') {
			throw new TypeError('preferredLayers must be an object');
		}
		call(() => this.#native.setPreferredLayers(toJson(preferredLayers)));
		this.#preferredLayers = this.#native.preferredLayers() ?? undefined;
	}

	async setPriority(priority) {
		this.#assertOpen();
		if (typeof priority !== 'number') throw new TypeError('priority must be a number');
		call(() => this.#native.setPriority(priority));
		this.#priority = this.#native.priority();
	}

	async unsetPriority() {
		this.#assertOpen();
		call(() => this.#native.setPriority(undefined));
		this.#priority = this.#native.priority();
	}

	async requestKeyFrame() {
		this.#assertOpen();
		call(() => this.#native.requestKeyFrame());
	}

	async enableTraceEvent(types = []) {
		this.#assertOpen();
		if (!Array.isArray(types)) throw new TypeError('types must be an array');
	}

	/**
	 * @private Re-reads the engine's producerPaused and reports a change.
	 */
	_syncProducerPaused() {
		if (this.#closed) return;
		const producerPaused = this.#native.producerPaused();
		if (producerPaused === this.#producerPaused) return;
		this.#producerPaused = producerPaused;
		this.safeEmit(producerPaused ? 'producerpause' : 'producerresume');
		if (!this.#paused) this.#observer.safeEmit(producerPaused ? 'pause' : 'resume');
	}

	#onEngineEvent(ev) {
		if (ev.event === 'producerPause' || ev.event === 'producerResume') {
			this._syncProducerPaused();
		} else if (ev.event === 'closed' && ev.reason === 'producerClosed') {
			this.#producerClosed();
		} else if (ev.event === 'score') {
			if (this.#closed) return;
			this.#score = ev.score;
			this.safeEmit('score', this.#score);
			this.#observer.safeEmit('score', this.#score);
		} else if (ev.event === 'layersChange') {
			if (this.#closed) return;
			this.#currentLayers = ev.layers ?? undefined;
			this.safeEmit('layerschange', this.#currentLayers);
			this.#observer.safeEmit('layerschange', this.#currentLayers);
		}
	}

	#producerClosed() {
		if (this.#closed) return;
		this.#markClosed();
		this.emit('@producerclose');
		this.safeEmit('producerclose');
		this.#observer.safeEmit('close');
	}

	#markClosed() {
		this.#closed = true;
		this.#events.off(this.#id);
		if (this.#producer) this.#producer._removeConsumer(this);
	}

	#assertOpen() {
		assertOpen(this.#closed, this.#worker, 'Consumer');
	}
}

module.exports = { Consumer };
