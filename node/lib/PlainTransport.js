'use strict';

// mediasoup's PlainTransport: RTP/RTCP over UDP with an explicit remote (connect()) or one
// learnt from the first packet (comedia), optionally with SRTP (srtpParameters) and SCTP data
// channels (sctpParameters).

const { Transport } = require('./Transport');
const { call } = require('./native');
const { toJson } = require('./options');

class PlainTransport extends Transport {
	#native;
	#rtcpMux;
	#comedia;
	#sctpState;

	/**
	 * @private Use router.createPlainTransport().
	 */
	constructor(options) {
		super(options);
		this.#native = options.native;
		this.#rtcpMux = options.native.rtcpMux();
		this.#comedia = options.native.comedia();
		this.#sctpState = options.native.sctpParameters() ? 'new' : undefined;
	}

	get type() {
		return 'plain';
	}

	// Tuples change when comedia learns the remote: read the engine's current view.
	get tuple() {
		return this.#native.tuple();
	}

	get rtcpTuple() {
		return this.#native.rtcpTuple() ?? undefined;
	}

	get rtcpMux() {
		return this.#rtcpMux;
	}

	get comedia() {
		return this.#comedia;
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

	async connect(parameters) {
		this._assertOpen();
		call(() => this.#native.connect(toJson(parameters)));
	}

	/**
	 * @private
	 */
	_onEngineEvent(ev) {
		if (this.closed) return;
		if (ev.event === 'tuple') {
			this.safeEmit('tuple', ev.tuple);
			this.observer.safeEmit('tuple', ev.tuple);
		} else if (ev.event === 'rtcpTuple') {
			this.safeEmit('rtcptuple', ev.tuple);
			this.observer.safeEmit('rtcptuple', ev.tuple);
		} else if (ev.event === 'sctpStateChange') {
			this.#sctpState = ev.sctpState;
			this.safeEmit('sctpstatechange', ev.sctpState);
			this.observer.safeEmit('sctpstatechange', ev.sctpState);
		}
	}
}

module.exports = { PlainTransport };
