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
const { PipeTransport } = require('./PipeTransport');
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
	#dataProducers = new Map();
	/** other Router -> Promise of [local PipeTransport, remote PipeTransport] */
	#pipePairs = new Map();

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
		const { appData, json, fields } = splitOptions(options);
		const engineOptions = webRtcServer ? JSON.stringify({ ...fields, webRtcServerId: webRtcServer.id }) : json;
		const { native, snapshot } = await this.#events.request((id) => this.#native.createWebRtcTransportAsync(engineOptions, id));
		this._assertOpenAfterRequest(native);
		webRtcServer?._assertOpenAfterRequest(native);
		const transport = new WebRtcTransport({ native, snapshot, worker: this.#worker, router: this, events: this.#events, appData, webRtcServer });
		this.#addTransport(transport);
		if (webRtcServer) webRtcServer._handleWebRtcTransport(transport);
		return transport;
	}

	async createPipeTransport(options = {}) {
		this._assertOpen();
		const { appData, json } = splitOptions(options);
		const native = call(() => this.#native.createPipeTransport(json));
		const transport = new PipeTransport({ native, worker: this.#worker, router: this, events: this.#events, appData });
		this.#addTransport(transport);
		return transport;
	}

	/**
	 * mediasoup's pipeToRouter(): the producer (or data producer) consumed over a pipe transport
	 * pair (created once per pair of routers and reused) and recreated on `router` with the same
	 * id; closing or pausing the source follows through.
	 */
	async pipeToRouter({
		producerId,
		dataProducerId,
		router,
		listenInfo = { protocol: 'udp', ip: '127.0.0.1' },
		listenIp,
		enableSctp = true,
		numSctpStreams = { OS: 1024, MIS: 1024 },
		enableRtx = false,
		enableSrtp = false,
	} = {}) {
		this._assertOpen();
		if (!producerId && !dataProducerId) throw new TypeError('missing producerId or dataProducerId');
		if (producerId && dataProducerId) throw new TypeError('just producerId or dataProducerId can be given');
		if (!(router instanceof Router)) throw new TypeError('Router not found');
		if (router === this) throw new TypeError('cannot use this Router as destination');
		const producer = producerId ? this.#producers.get(producerId) : undefined;
		const dataProducer = dataProducerId ? this.#dataProducers.get(dataProducerId) : undefined;
		if (producerId && !producer) throw new TypeError('Producer not found');
		if (dataProducerId && !dataProducer) throw new TypeError('DataProducer not found');
		if (listenIp !== undefined && listenInfo === undefined) listenInfo = { protocol: 'udp', ip: listenIp.ip ?? listenIp, announcedAddress: listenIp.announcedIp };
		const [local, remote] = await this.#pipePair(router, { listenInfo, enableSctp, numSctpStreams, enableRtx, enableSrtp });
		if (producer) {
			let pipeConsumer;
			let pipeProducer;
			try {
				pipeConsumer = await local.consume({ producerId });
				pipeProducer = await remote.produce({
					id: producer.id,
					kind: pipeConsumer.kind,
					rtpParameters: pipeConsumer.rtpParameters,
					paused: pipeConsumer.producerPaused,
					appData: producer.appData,
				});
			} catch (error) {
				if (pipeConsumer) pipeConsumer.close();
				throw error;
			}
			// Closing either end closes the other; pausing the source pauses the copy.
			pipeConsumer.observer.on('close', () => pipeProducer.close());
			pipeConsumer.observer.on('pause', () => pipeProducer.pause().catch(() => {}));
			pipeConsumer.observer.on('resume', () => pipeProducer.resume().catch(() => {}));
			pipeProducer.observer.on('close', () => pipeConsumer.close());
			return { pipeConsumer, pipeProducer };
		}
		let pipeDataConsumer;
		let pipeDataProducer;
		try {
			pipeDataConsumer = await local.consumeData({ dataProducerId });
			pipeDataProducer = await remote.produceData({
				id: dataProducer.id,
				sctpStreamParameters: pipeDataConsumer.sctpStreamParameters,
				label: pipeDataConsumer.label,
				protocol: pipeDataConsumer.protocol,
				appData: dataProducer.appData,
			});
		} catch (error) {
			if (pipeDataConsumer) pipeDataConsumer.close();
			throw error;
		}
		pipeDataConsumer.observer.on('close', () => pipeDataProducer.close());
		pipeDataProducer.observer.on('close', () => pipeDataConsumer.close());
		return { pipeDataConsumer, pipeDataProducer };
	}

	/** The pipe transports linking this router with `router`, created and connected once. */
	#pipePair(router, options) {
		let pair = this.#pipePairs.get(router);
		if (pair) return pair;
		pair = (async () => {
			const local = await this.createPipeTransport(options);
			let remote;
			try {
				remote = await router.createPipeTransport(options);
				if (options.enableSrtp) {
					await local.connect({ ip: remote.tuple.localAddress, port: remote.tuple.localPort, srtpParameters: remote.srtpParameters });
					await remote.connect({ ip: local.tuple.localAddress, port: local.tuple.localPort, srtpParameters: local.srtpParameters });
				} else {
					// Both routers live in this process: hand packets between the workers in memory.
					local._linkLocal(remote);
				}
			} catch (error) {
				local.close();
				if (remote) remote.close();
				throw error;
			}
			const forget = () => {
				this.#pipePairs.delete(router);
				router._forgetPipePair(this);
			};
			local.observer.on('close', () => {
				forget();
				remote.close();
			});
			remote.observer.on('close', () => {
				forget();
				local.close();
			});
			return [local, remote];
		})();
		this.#pipePairs.set(router, pair);
		router._rememberPipePair(this, pair.then(([l, r]) => [r, l]));
		pair.catch(() => {
			this.#pipePairs.delete(router);
			router._forgetPipePair(this);
		});
		return pair;
	}

	/**
	 * @private The other router built a pipe pair to this one: reuse it from this side too.
	 */
	_rememberPipePair(router, pair) {
		pair.catch(() => {});
		this.#pipePairs.set(router, pair);
	}

	/**
	 * @private
	 */
	_forgetPipePair(router) {
		this.#pipePairs.delete(router);
	}

	/**
	 * @private
	 */
	_addDataProducer(dataProducer) {
		this.#dataProducers.set(dataProducer.id, dataProducer);
	}

	/**
	 * @private
	 */
	_removeDataProducer(dataProducer) {
		if (this.#dataProducers.get(dataProducer.id) === dataProducer) this.#dataProducers.delete(dataProducer.id);
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
	// Answered by the producer's native handle on this thread (no round trip to the worker).
	canConsume({ producerId, rtpCapabilities } = {}) {
		const producer = typeof producerId === 'string' ? this.#producers.get(producerId) : undefined;
		if (!producer) {
			logger.warn(`canConsume() | Producer with id "${producerId}" not found`);
			return false;
		}
		try {
			return producer._canConsume(toJson(rtpCapabilities) ?? null);
		} catch (error) {
			logger.warn(`canConsume() | invalid rtpCapabilities: ${error.message}`);
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
		this.#dataProducers.clear();
		this.#pipePairs.clear();
	}
}

module.exports = { Router };
