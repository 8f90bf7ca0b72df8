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
const { fromNative, WorkerClosedError } = require('./errors');

const logger = new Logger('EngineEvents');

// Requests (the addon's `*Async(options, requestId)` methods, see node/src/reply.rs) are
// answered on the same channel, in the engine's order: a reply comes after the events its
// request emitted and before any event about the object it created.

class EngineEvents {
	#handlers = new Map();
	#worker; // the native worker, once created
	#pending = new Map(); // requestId → { resolve, reject }
	#nextRequestId = 0;

	bindWorker(nativeWorker) {
		this.#worker = { id: nativeWorker.id(), native: nativeWorker };
	}

	on(targetId, handler) {
		this.#handlers.set(targetId, handler);
	}

	off(targetId) {
		this.#handlers.delete(targetId);
	}

	// Drops every handler, and rejects the requests the engine will not answer now.
	clear() {
		this.#handlers.clear();
		const pending = [...this.#pending.values()];
		this.#pending.clear();
		const died = this.#worker?.native.died();
		for (const { reject } of pending) reject(new WorkerClosedError(died ? 'Worker died' : 'Worker closed'));
	}

	// Runs `start(requestId)` (an addon `*Async` call) and returns the promise its reply settles.
	// Bad arguments throw synchronously from `start`, as from a blocking call.
	request(start) {
		return new Promise((resolve, reject) => {
			this.#nextRequestId = (this.#nextRequestId + 1) >>> 0;
			const id = this.#nextRequestId;
			this.#pending.set(id, { resolve, reject });
			try {
				start(id);
			} catch (error) {
				this.#pending.delete(id);
				reject(fromNative(error));
			}
		});
	}

	// The reply to request `id`: the new native handle and its snapshot (JSON made on the worker
	// thread), resolved as `{ native, snapshot }`, or the engine's error message.
	settle(id, result, snapshot) {
		const p = this.#pending.get(id);
		if (!p) return;
		this.#pending.delete(id);
		if (typeof result === 'string') p.reject(fromNative(new Error(result)));
		else p.resolve({ native: result, snapshot });
	}

	// An event about `targetId`, as JSON (parsed only when someone listens); `data`: the packet
	// or message (a Buffer) of 'rtp', 'rtcp' and 'message' events.
	dispatch(targetId, json, data) {
		const handler = this.#handlers.get(targetId);
		if (!handler) return;
		if (this.#worker && targetId !== this.#worker.id && this.#worker.native.closed()) return;
		const event = JSON.parse(json);
		try {
			handler(event, data);
		} catch (error) {
			// Called from the addon: an exception here would be an uncaught one.
			logger.error(`engine event "${event.event}" handler failed:`, error);
		}
	}
}

module.exports = { EngineEvents };
