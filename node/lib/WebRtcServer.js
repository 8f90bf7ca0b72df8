'use strict';

// mediasoup's WebRtcServer: one set of UDP/TCP ports shared by many WebRtcTransports (the engine
// demultiplexes by ICE username fragment, then by remote address). It keeps the transports
// using it, so that close() cascades synchronously: they emit 'listenserverclose'.

const { EnhancedEventEmitter } = require('./enhancedEvents');
const { Logger } = require('./logger');
const { call } = require('./native');
const { assertOpen } = require('./errors');
const { checkAppData } = require('./options');

const logger = new Logger('WebRtcServer');

class WebRtcServer extends EnhancedEventEmitter {
	#native;
	#worker;
	#events;
	#id;
	#closed = false;
	#appData;
	#webRtcTransports = new Map();
	#observer = new EnhancedEventEmitter();

	/**
	 * @private Use worker.createWebRtcServer().
	 */
	constructor({ native, worker, events, appData }) {
		super();
		this.#native = native;
		this.#worker = worker;
		this.#events = events;
		this.#id = native.id();
		this.#appData = appData;
		events.on(this.#id, (ev) => this.#onEngineEvent(ev));
	}

	get id() {
		return this.#id;
	}

	get closed() {
		return this.#closed;
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

	/**
	 * @private Just for testing purposes (as in mediasoup).
	 */
	get webRtcTransportsForTesting() {
		return this.#webRtcTransports;
	}

	close() {
		if (this.#closed) return;
		logger.debug('close()');
		this.#closeLocally();
		this.emit('@close');
		this.#observer.safeEmit('close');
		// The engine closes the transports that use the server along with it.
		this.#native.close();
	}

	/**
	 * @private The worker closed or died. Its routers already closed the transports.
	 */
	_workerClosed() {
		if (this.#closed) return;
		this.#closed = true;
		this.#events.off(this.#id);
		this.#webRtcTransports.clear();
		this.safeEmit('workerclose');
		this.#observer.safeEmit('close');
	}

	async dump() {
		assertOpen(this.#closed, this.#worker, 'WebRtcServer');
		return call(() => this.#native.dump());
	}

	/**
	 * @private A transport was created on this server.
	 */
	_handleWebRtcTransport(transport) {
		this.#webRtcTransports.set(transport.id, transport);
		this.#observer.safeEmit('webrtctransporthandled', transport);
	}

	/**
	 * @private A transport on this server closed (by itself or with its router).
	 */
	_transportClosed(transport) {
		if (this.#webRtcTransports.get(transport.id) !== transport) return;
		this.#webRtcTransports.delete(transport.id);
		this.#observer.safeEmit('webrtctransportunhandled', transport);
	}

	#closeLocally() {
		this.#closed = true;
		this.#events.off(this.#id);
		const transports = [...this.#webRtcTransports.values()];
		this.#webRtcTransports.clear();
		for (const transport of transports) {
			transport._listenServerClosed();
			this.#observer.safeEmit('webrtctransportunhandled', transport);
		}
	}

	// The engine closed the server without being asked (nothing does today): same cascade.
	#onEngineEvent(ev) {
		if (this.#closed || ev.event !== 'closed') return;
		this.#closeLocally();
		this.emit('@close');
		this.#observer.safeEmit('close');
	}
}

module.exports = { WebRtcServer };
