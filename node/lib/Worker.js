'use strict';

// mediasoup's Worker. The engine's worker is a thread in this process, so `pid` is the host's
// and 'subprocessclose' follows close at once.

const { EnhancedEventEmitter } = require('./enhancedEvents');
const { Logger } = require('./logger');
const { EngineEvents } = require('./engineEvents');
const { call } = require('./native');
const { assertOpen } = require('./errors');
const { checkAppData, splitOptions, toJson } = require('./options');
const { Router } = require('./Router');
const { WebRtcServer } = require('./WebRtcServer');

const logger = new Logger('Worker');

class Worker extends EnhancedEventEmitter {
	#native;
	#events;
	#pid;
	#closed = false;
	#died = false;
	#subprocessClosed = false;
	#appData;
	#routers = new Set();
	#webRtcServers = new Set();
	#observer = new EnhancedEventEmitter();

	/**
	 * @private Use createWorker().
	 */
	constructor({ native, events, appData }) {
		super();
		this.#native = native;
		this.#events = events;
		this.#pid = native.pid();
		this.#appData = appData || {};
		events.bindWorker(native);
		events.on(native.id(), (ev) => this.#onEngineEvent(ev));
	}

	get pid() {
		return this.#pid;
	}

	get closed() {
		return this.#closed;
	}

	get died() {
		return this.#died;
	}

	get subprocessClosed() {
		return this.#subprocessClosed;
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
		if (this.#closed) return;
		logger.debug('close()');
		this.#closed = true;
		this.#closeChildren();
		// Joins the worker thread; the engine then releases the event channel so Node may exit.
		this.#native.close();
		this.#events.clear();
		this.#observer.safeEmit('close');
		this.#subprocessDone();
	}

	async getResourceUsage() {
		this.#assertOpen();
		return call(() => this.#native.getResourceUsage());
	}

	async updateSettings(settings) {
		this.#assertOpen();
		call(() => this.#native.updateSettings(toJson(settings)));
	}

	async dump() {
		this.#assertOpen();
		return call(() => this.#native.dump());
	}

	async createWebRtcServer(options) {
		this.#assertOpen();
		const { appData, json } = splitOptions(options);
		const native = call(() => this.#native.createWebRtcServer(json));
		const webRtcServer = new WebRtcServer({ native, worker: this, events: this.#events, appData });
		this.#webRtcServers.add(webRtcServer);
		webRtcServer.on('@close', () => this.#webRtcServers.delete(webRtcServer));
		this.#observer.safeEmit('newwebrtcserver', webRtcServer);
		return webRtcServer;
	}

	async createRouter(options) {
		this.#assertOpen();
		const { appData, json } = splitOptions(options);
		const native = call(() => this.#native.createRouter(json));
		const router = new Router({ native, worker: this, events: this.#events, appData });
		this.#routers.add(router);
		router.on('@close', () => this.#routers.delete(router));
		this.#observer.safeEmit('newrouter', router);
		return router;
	}

	/**
	 * @private Makes the worker thread panic, to exercise the 'died' path in tests.
	 */
	_injectPanicForTests(message = 'injected panic') {
		this.#native.injectPanicForTests(String(message));
	}

	#assertOpen() {
		assertOpen(this.#closed, this, 'Worker');
	}

	// Routers first (their transports leave the WebRtcServers), then the WebRtcServers.
	#closeChildren() {
		for (const router of this.#routers) router._workerClosed();
		this.#routers.clear();
		for (const webRtcServer of this.#webRtcServers) webRtcServer._workerClosed();
		this.#webRtcServers.clear();
	}

	#onEngineEvent(ev) {
		if (ev.event === 'died') this.#onDied(ev.reason);
	}

	#onDied(reason) {
		if (this.#closed) return;
		logger.error(`worker died: ${reason}`);
		this.#closed = true;
		this.#died = true;
		this.#closeChildren();
		this.#events.clear();
		const error = new Error(`Worker died unexpectedly: ${reason}`);
		this.safeEmit('died', error);
		this.#observer.safeEmit('close');
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
