'use strict';

// mediasoup's PipeTransport: a router's producers (and data producers) carried to another router,
// in this process or on another host, over UDP with optional SRTP. router.pipeToRouter() builds
// and connects a pair; apps linking hosts call createPipeTransport()/connect() themselves.

const { Transport } = require('./Transport');
const { call } = require('./native');
const { toJson } = require('./options');

class PipeTransport extends Transport {
	#native;
	#router;
	#sctpState;

	/**
	 * @private Use router.createPipeTransport().
	 */
	constructor(options) {
		super(options);
		this.#native = options.native;
		this.#router = options.router;
		this.#sctpState = this.#native.sctpParameters() ? 'new' : undefined;
	}

	get type() {
		return 'pipe';
	}

	get tuple() {
		return this.#native.tuple();
	}

	get sctpParameters() {
		return this.#native.sctpParameters() ?? undefined;
	}

	get sctpState() {
		return this.#sctpState;
	}

	get srtpParameters() {
		return this.#native.srtpParameters() ?? undefined;
	}

	/**
	 * @private pipeToRouter(): link with a pipe transport of a router in this process, in memory.
	 */
	_linkLocal(other) {
		call(() => this.#native.linkLocal(other.#native));
	}

	async connect(parameters) {
		this._assertOpen();
		call(() => this.#native.connect(toJson(parameters)));
	}

	// A pipe consumer carries the producer as it is: no receiver capabilities to match.
	async consume(options) {
		if (options !== null && typeof options === 'object' && !Array.isArray(options) && options.rtpCapabilities === undefined) {
			options = { ...options, rtpCapabilities: this.#router.rtpCapabilities };
		}
		return super.consume(options);
	}

	/**
	 * @private
	 */
	_onEngineEvent(ev) {
		if (this.closed) return;
		if (ev.event === 'sctpStateChange') {
			this.#sctpState = ev.sctpState;
			this.safeEmit('sctpstatechange', ev.sctpState);
			this.observer.safeEmit('sctpstatechange', ev.sctpState);
		}
	}
}

module.exports = { PipeTransport };
