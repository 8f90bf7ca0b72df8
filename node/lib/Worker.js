'use strict';

// mediasoup's Worker. The engine's worker is a thread in this process, so `pid` is the host's
// and 'subprocessclose' follows close at once.

const { EngineObject } = require('./EngineObject');
const { Logger } = require('./logger');
const { call } = require('./native');
const { splitOptions, toJson } = require('./options');
const { Router } = require('./Router');
const { WebRtcServer } = require('./WebRtcServer');

const logger = new Logger('Worker');

class Worker extends EngineObject {
	#native;
	#events;
	#pid;
	#died = false;
	#subprocessClosed = false;
	#routers = new Set();
	#webRtcServers = new Set();

	/**
	 * @private Use createWorker().
	 */
	constructor({ native, events, appData }) {
		super({ native, logger, appData: appData || {} });
		this.#native = native;
		this.#events = events;
		this.#pid = native.pid();
		events.bindWorker(native);
		events.on(native.id(), (ev) => this.#onEngineEvent(ev));
	}

	get pid() {
		return this.#pid;
	}

	get died() {
		return this.#died;
	}

	get subprocessClosed() {
		return this.#subprocessClosed;
	}

	/**
	 * @private Just for testing purposes (as in mediasoup).
	 */
	get webRtcServersForTesting() {
		return this.#webRtcServers;
	}

	/**
	 * @private Just for testing purposes (as in mediasoup).
	 */
	get routersForTesting() {
		return this.#routers;
	}

	close() {
		if (this.closed) return;
		logger.debug('close()');
		this._markClosed();
		this._onClose();
		// Joins the worker thread; the engine then releases the event channel so Node may exit.
		this.#native.close();
		this.#events.clear();
		this.observer.safeEmit('close');
		this.#subprocessDone();
	}

	async getResourceUsage() {
		this._assertOpen();
		return call(() => this.#native.getResourceUsage());
	}

	async updateSettings(settings) {
		this._assertOpen();
		call(() => this.#native.updateSettings(toJson(settings)));
	}

	async createWebRtcServer(options) {
		this._assertOpen();
		const { appData, json } = splitOptions(options);
		const native = call(() => this.#native.createWebRtcServer(json));
		const webRtcServer = new WebRtcServer({ native, worker: this, events: this.#events, appData });
		this._addChild(this.#webRtcServers, webRtcServer, 'newwebrtcserver');
		return webRtcServer;
	}

	async createRouter(options) {
		this._assertOpen();
		const { appData, json } = splitOptions(options);
		const native = call(() => this.#native.createRouter(json));
		const router = new Router({ native, worker: this, events: this.#events, appData });
		this._addChild(this.#routers, router, 'newrouter');
		return router;
	}

	/**
	 * @private Makes the worker thread panic, to exercise the 'died' path in tests.
	 */
	_injectPanicForTests(message = 'injected panic') {
		this.#native.injectPanicForTests(String(message));
	}

	/**
	 * @private Routers first (their transports leave the WebRtcServers), then the WebRtcServers.
	 */
	_onClose() {
		for (const router of this.#routers) router._workerClosed();
		this.#routers.clear();
		for (const webRtcServer of this.#webRtcServers) webRtcServer._workerClosed();
		this.#webRtcServers.clear();
	}

	#onEngineEvent(ev) {
		if (ev.event === 'died') this.#onDied(ev.reason);
	}

	#onDied(reason) {
		if (this.closed) return;
		logger.error(`worker died: ${reason}`);
		this._markClosed();
		this.#died = true;
		this._onClose();
		this.#events.clear();
		const error = new Error(`Worker died unexpectedly: ${reason}`);
		this.safeEmit('died', error);
		this.observer.safeEmit('close');
		this.#subprocessDone();
	}

	// A worker subprocess would exit a moment after close; keep that event for apps awaiting it.
	#subprocessDone() {
		setImmediate(() => {
			this.#subprocessClosed = true;
			this.safeEmit('subprocessclose');
		});
	}
}

module.exports = { Worker };
