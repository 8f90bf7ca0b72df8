'use strict';

// mediasoup's WebRtcServer: one set of UDP/TCP ports shared by many WebRtcTransports (the engine
// demultiplexes by ICE username fragment, then by remote address). It keeps the transports
// using it, so that close() cascades synchronously: they emit 'listenserverclose' (the engine
// closes them along with the server).

const { EngineObject } = require('./EngineObject');
const { Logger } = require('./logger');

const logger = new Logger('WebRtcServer');

class WebRtcServer extends EngineObject {
	#events;
	#id;
	#webRtcTransports = new Map();

	/**
	 * @private Use worker.createWebRtcServer().
	 */
	constructor({ native, worker, events, appData }) {
		super({ native, worker, logger, appData });
		this.#events = events;
		this.#id = native.id();
		events.on(this.#id, (ev) => this.#onEngineEvent(ev));
	}

	get id() {
		return this.#id;
	}

	/**
	 * @private Just for testing purposes (as in mediasoup).
	 */
	get webRtcTransportsForTesting() {
		return this.#webRtcTransports;
	}

	/**
	 * @private The worker closed or died. Its routers already closed the transports.
	 */
	_workerClosed() {
		this._closeLocally(undefined, 'workerclose');
	}

	/**
	 * @private A transport was created on this server.
	 */
	_handleWebRtcTransport(transport) {
		this.#webRtcTransports.set(transport.id, transport);
		this.observer.safeEmit('webrtctransporthandled', transport);
	}

	/**
	 * @private A transport on this server closed (by itself or with its router).
	 */
	_transportClosed(transport) {
		if (this.#webRtcTransports.get(transport.id) !== transport) return;
		this.#webRtcTransports.delete(transport.id);
		this.observer.safeEmit('webrtctransportunhandled', transport);
	}

	/**
	 * @private The transports still on the server close with it ('listenserverclose').
	 */
	_onClose() {
		this.#events.off(this.#id);
		const transports = [...this.#webRtcTransports.values()];
		this.#webRtcTransports.clear();
		for (const transport of transports) {
			transport._listenServerClosed();
			this.observer.safeEmit('webrtctransportunhandled', transport);
		}
	}

	// The engine closed the server without being asked (nothing does today): same cascade.
	#onEngineEvent(ev) {
		if (ev.event === 'closed') this._closeLocally('@close');
	}
}

module.exports = { WebRtcServer };
