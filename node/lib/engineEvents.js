'use strict';

// Routes the engine's events ({targetId, event, ...}, delivered on the JS thread by the addon's
// threadsafe function) to the JS object they are about. Objects register while open; events for
// objects the JS layer already closed are dropped, since its close cascade came first.
//
// Once the engine's worker has stopped, only the worker's own events count: when it dies, the
// engine's teardown reports every object closed (consumers as 'producerClosed') just before
// 'died', but apps expect mediasoup's cascade from 'died' (workerclose → routerclose →
// transportclose), which the JS layer produces itself.

const { Logger } = require('./logger');

const logger = new Logger('EngineEvents');

class EngineEvents {
	#handlers = new Map();
	#worker; // the native worker, once created

	bindWorker(nativeWorker) {
		this.#worker = { id: nativeWorker.id(), native: nativeWorker };
	}

	on(targetId, handler) {
		this.#handlers.set(targetId, handler);
	}

	off(targetId) {
		this.#handlers.delete(targetId);
	}

	clear() {
		this.#handlers.clear();
	}

	// `data`: the packet or message (a Buffer) of 'rtp', 'rtcp' and 'message' events.
	dispatch(event, data) {
		const handler = this.#handlers.get(event.targetId);
		if (!handler) return;
		if (this.#worker && event.targetId !== this.#worker.id && this.#worker.native.closed()) return;
		try {
			handler(event, data);
		} catch (error) {
			// Called from the addon: an exception here would be an uncaught one.
			logger.error(`engine event "${event.event}" handler failed:`, error);
		}
	}
}

module.exports = { EngineEvents };
