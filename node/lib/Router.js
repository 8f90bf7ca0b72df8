'use strict';

// mediasoup's Router. It keeps its transports (for the close cascade) and the producers of
// those transports by id (canConsume(), and linking consumers to their producer).

const { EngineObject } = require('./EngineObject');
const { Logger } = require('./logger');
const { call } = require('./native');
const { UnsupportedError } = require('./errors');
const { splitOptions, toJson } = require('./options');
const { PlainTransport } = require('./PlainTransport');
const { DirectTransport } = require('./DirectTransport');
const { AudioLevelObserver, ActiveSpeakerObserver } = require('./RtpObserver');
const { WebRtcTransport } = require('./WebRtcTransport');
const { WebRtcServer } = require('./WebRtcServer');

const logger = new Logger('Router');

class Router extends EngineObject {
	#native;
	#worker;
	#events;
	#id;
	#rtpCapabilities;
	#transports = new Set();
	#producers = new Map();
	#rtpObservers = new Set();

	/**
	 * @private Use worker.createRouter().
	 */
	constructor({ native, worker, events, appData }) {
		super({ native, worker, logger, appData });
		this.#native = native;
		this.#worker = worker;
		this.#events = events;
		this.#id = native.id();
		this.#rtpCapabilities = native.rtpCapabilities();
	}

	get id() {
		return this.#id;
	}

	get rtpCapabilities() {
		return this.#rtpCapabilities;
	}

	/**
	 * @private Just for testing purposes (as in mediasoup).
	 */
	get transportsForTesting() {
		return this.#transports;
	}

	/**
	 * @private The worker closed or died.
	 */
	_workerClosed() {
		this._closeLocally(undefined, 'workerclose');
	}

	async createPlainTransport(options) {
		this._assertOpen();
		const { appData, json } = splitOptions(options);
		const native = call(() => this.#native.createPlainTransport(json));
		const transport = new PlainTransport({ native, worker: this.#worker, router: this, events: this.#events, appData });
		this.#addTransport(transport);
		return transport;
	}

	async createDirectTransport(options = {}) {
		this._assertOpen();
		const { appData, json } = splitOptions(options);
		const native = call(() => this.#native.createDirectTransport(json));
		const transport = new DirectTransport({ native, worker: this.#worker, router: this, events: this.#events, appData });
		this.#addTransport(transport);
		return transport;
	}

	// mediasoup's options, with `webRtcServer` (a WebRtcServer) passed to the engine by its id.
	async createWebRtcTransport(options) {
		this._assertOpen();
		let webRtcServer;
		if (options !== null && typeof options === 'object' && !Array.isArray(options) && options.webRtcServer !== undefined) {
			({ webRtcServer, ...options } = options);
			if (!(webRtcServer instanceof WebRtcServer)) throw new TypeError('webRtcServer must be a WebRtcServer');
		}
		const { appData, json } = splitOptions(options);
		const engineOptions = webRtcServer ? { ...json, webRtcServerId: webRtcServer.id } : json;
		const native = call(() => this.#native.createWebRtcTransport(engineOptions));
		const transport = new WebRtcTransport({ native, worker: this.#worker, router: this, events: this.#events, appData, webRtcServer });
		this.#addTransport(transport);
		if (webRtcServer) webRtcServer._handleWebRtcTransport(transport);
		return transport;
	}

	async createPipeTransport() {
		return this.#unsupported('createPipeTransport');
	}

	async pipeToRouter() {
		return this.#unsupported('pipeToRouter');
	}

	async createActiveSpeakerObserver(options = {}) {
		return this.#createRtpObserver(ActiveSpeakerObserver, options, (json) => this.#native.createActiveSpeakerObserver(json));
	}

	async createAudioLevelObserver(options = {}) {
		return this.#createRtpObserver(AudioLevelObserver, options, (json) => this.#native.createAudioLevelObserver(json));
	}

	#createRtpObserver(Class, options, create) {
		this._assertOpen();
		const { appData, json } = splitOptions(options);
		const native = call(() => create(json));
		const getProducer = (id) => this.#producers.get(id);
		const rtpObserver = new Class({ native, worker: this.#worker, events: this.#events, appData, getProducer });
		this._addChild(this.#rtpObservers, rtpObserver, 'newrtpobserver');
		return rtpObserver;
	}

	// Like mediasoup: a plain boolean, false (never an exception) for an unknown producer or bad
	// capabilities.
	canConsume({ producerId, rtpCapabilities } = {}) {
		if (typeof producerId !== 'string' || !this.#producers.has(producerId)) {
			logger.warn(`canConsume() | Producer with id "${producerId}" not found`);
			return false;
		}
		try {
			return this.#native.canConsume(producerId, toJson(rtpCapabilities) ?? null);
		} catch (error) {
			logger.warn(`canConsume() | unexpected error: ${error}`);
			return false;
		}
	}

	/**
	 * @private
	 */
	_addProducer(producer) {
		this.#producers.set(producer.id, producer);
	}

	/**
	 * @private
	 */
	_removeProducer(producer) {
		if (this.#producers.get(producer.id) === producer) this.#producers.delete(producer.id);
	}

	/**
	 * @private
	 */
	_getProducer(producerId) {
		return this.#producers.get(producerId);
	}

	#unsupported(method) {
		this._assertOpen();
		throw new UnsupportedError(`${method}() is not supported by libsfu yet`);
	}

	#addTransport(transport) {
		transport.on('@listenserverclose', () => this.#transports.delete(transport));
		this._addChild(this.#transports, transport, 'newtransport');
	}

	/**
	 * @private
	 */
	_onClose() {
		for (const rtpObserver of this.#rtpObservers) rtpObserver._routerClosed();
		this.#rtpObservers.clear();
		for (const transport of this.#transports) transport._routerClosed();
		this.#transports.clear();
		this.#producers.clear();
	}
}

module.exports = { Router };
