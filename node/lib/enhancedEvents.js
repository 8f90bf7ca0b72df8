'use strict';

// mediasoup's EnhancedEventEmitter: events are emitted with safeEmit(), so an app listener that
// throws (or returns a rejected promise) is logged and reported as 'listenererror' instead of
// unwinding into the engine's code path or crashing the host.

const { EventEmitter } = require('node:events');
const { Logger } = require('./logger');

const logger = new Logger('EnhancedEventEmitter');

class EnhancedEventEmitter extends EventEmitter {
	constructor() {
		// captureRejections routes rejected promises of async listeners to the method below.
		super({ captureRejections: true });
		this.setMaxListeners(Infinity);
	}

	safeEmit(eventName, ...args) {
		try {
			return this.emit(eventName, ...args);
		} catch (error) {
			this.#listenerFailed(eventName, error);
			return this.listenerCount(eventName) > 0;
		}
	}

	safeEmitAsPromise(eventName, ...args) {
		return new Promise((resolve, reject) => {
			this.safeEmit(eventName, ...args, resolve, reject);
		});
	}

	[Symbol.for('nodejs.rejection')](error, eventName) {
		this.#listenerFailed(eventName, error);
	}

	#listenerFailed(eventName, error) {
		logger.error(`safeEmit() | event listener threw an error [eventName:${String(eventName)}]:`, error);
		if (eventName === 'listenererror') return;
		try {
			this.emit('listenererror', eventName, error);
		} catch {
			// Nothing left to report to.
		}
	}
}

// Resolves with the arguments of the next `eventName` event.
function enhancedOnce(emitter, eventName) {
	return new Promise((resolve) => emitter.once(eventName, (...args) => resolve(args)));
}

module.exports = { EnhancedEventEmitter, enhancedOnce };
