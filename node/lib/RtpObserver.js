'use strict';

// mediasoup's RtpObserver and its two kinds: AudioLevelObserver ('volumes', 'silence') and
// ActiveSpeakerObserver ('dominantspeaker'), fed by the audio producers added to them.

const { EngineObject } = require('./EngineObject');
const { Logger } = require('./logger');
const { call } = require('./native');

const logger = new Logger('RtpObserver');

class RtpObserver extends EngineObject {
	#native;
	#events;
	#id;
	#paused;
	#getProducer;

	/**
	 * @private Use router.createAudioLevelObserver() / createActiveSpeakerObserver().
	 * `getProducer(id)`: the router's Producer object of an id.
	 */
	constructor({ native, worker, events, appData, getProducer }) {
		super({ native, worker, logger, appData });
		this.#native = native;
		this.#events = events;
		this.#id = native.id();
		this.#paused = native.paused();
		this.#getProducer = getProducer;
		events.on(this.#id, (ev) => {
			if (!this.closed) this._onEngineEvent(ev);
		});
	}

	get id() {
		return this.#id;
	}

	get type() {
		return this.#native.type();
	}

	get paused() {
		return this.#paused;
	}

	/**
	 * @private The router closed.
	 */
	_routerClosed() {
		this._closeLocally(undefined, 'routerclose');
	}

	async pause() {
		this._assertOpen();
		const was = this.#paused;
		call(() => this.#native.pause());
		this.#paused = true;
		if (!was) this.observer.safeEmit('pause');
	}

	async resume() {
		this._assertOpen();
		const was = this.#paused;
		call(() => this.#native.resume());
		this.#paused = false;
		if (was) this.observer.safeEmit('resume');
	}

	async addProducer({ producerId } = {}) {
		this._assertOpen();
		if (typeof producerId !== 'string') throw new TypeError('missing producerId');
		call(() => this.#native.addProducer(producerId));
		const producer = this.#getProducer(producerId);
		if (producer) this.observer.safeEmit('addproducer', producer);
	}

	async removeProducer({ producerId } = {}) {
		this._assertOpen();
		if (typeof producerId !== 'string') throw new TypeError('missing producerId');
		call(() => this.#native.removeProducer(producerId));
		const producer = this.#getProducer(producerId);
		if (producer) this.observer.safeEmit('removeproducer', producer);
	}

	/**
	 * @private The router's Producer for an id the engine reported.
	 */
	_producer(producerId) {
		return this.#getProducer(producerId);
	}

	/**
	 * @private
	 */
	_onEngineEvent() {}

	/**
	 * @private
	 */
	_onClose() {
		this.#events.off(this.#id);
	}
}

class AudioLevelObserver extends RtpObserver {
	/**
	 * @private
	 */
	_onEngineEvent(ev) {
		if (ev.event === 'volumes') {
			// Producers the JS layer no longer knows (closing right now) are left out.
			const volumes = ev.volumes.map(({ producerId, volume }) => ({ producer: this._producer(producerId), volume })).filter((v) => v.producer);
			if (volumes.length === 0) return;
			this.safeEmit('volumes', volumes);
			this.observer.safeEmit('volumes', volumes);
		} else if (ev.event === 'silence') {
			this.safeEmit('silence');
			this.observer.safeEmit('silence');
		}
	}
}

class ActiveSpeakerObserver extends RtpObserver {
	/**
	 * @private
	 */
	_onEngineEvent(ev) {
		if (ev.event !== 'dominantSpeaker') return;
		const producer = this._producer(ev.producerId);
		if (!producer) return;
		this.safeEmit('dominantspeaker', { producer });
		this.observer.safeEmit('dominantspeaker', { producer });
	}
}

module.exports = { RtpObserver, AudioLevelObserver, ActiveSpeakerObserver };
