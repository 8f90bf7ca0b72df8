'use strict';

// mediasoup's WebRtcTransport: ICE-lite + DTLS + SRTP towards a browser, on its own ports or on a
// WebRtcServer's. Like mediasoup's JS layer, it keeps the ICE/DTLS state the engine last reported,
// so a listener of 'icestatechange' reads the state it is told about; close() marks them 'closed'.
// With enableSctp, data channels run over its DTLS session (sctpParameters, sctpState, sctpstatechange).

const { Transport } = require('./Transport');
const { call } = require('./native');
const { toJson } = require('./options');

class WebRtcTransport extends Transport {
	#native;
	#events;
	#webRtcServer;
	#iceRole;
	#iceParameters;
	#iceCandidates;
	#iceState;
	#iceSelectedTuple;
	#dtlsParameters;
	#dtlsState;
	#dtlsRemoteCert;
	#sctpParameters;
	#sctpState;

	/**
	 * @private Use router.createWebRtcTransport().
	 */
	constructor(options) {
		super(options);
		const native = options.native;
		this.#native = native;
		this.#events = options.events;
		this.#webRtcServer = options.webRtcServer;
		// All the cached fields at once, made with the reply on the worker thread (see
		// node/src/webrtc_transport.rs snapshot).
		const s = JSON.parse(options.snapshot);
		this.#iceRole = s.iceRole;
		this.#iceParameters = s.iceParameters;
		this.#iceCandidates = s.iceCandidates;
		this.#iceState = s.iceState;
		this.#iceSelectedTuple = s.iceSelectedTuple ?? undefined;
		this.#dtlsParameters = s.dtlsParameters;
		this.#dtlsState = s.dtlsState;
		this.#sctpParameters = s.sctpParameters ?? undefined;
		this.#sctpState = s.sctpState ?? undefined;
		this.#dtlsRemoteCert = s.dtlsRemoteCert ?? undefined;
	}

	get type() {
		return 'webrtc';
	}

	get iceRole() {
		return this.#iceRole;
	}

	get iceParameters() {
		return this.#iceParameters;
	}

	get iceCandidates() {
		return this.#iceCandidates;
	}

	get iceState() {
		return this.#iceState;
	}

	get iceSelectedTuple() {
		return this.#iceSelectedTuple;
	}

	get dtlsParameters() {
		return this.#dtlsParameters;
	}

	get dtlsState() {
		return this.#dtlsState;
	}

	get dtlsRemoteCert() {
		return this.#dtlsRemoteCert;
	}

	/**
	 * @private
	 */
	_setMaxIncomingBitrate(bitrate) {
		call(() => this.#native.setMaxIncomingBitrate(Math.round(bitrate)));
	}

	/**
	 * @private
	 */
	_setMinIncomingBitrate(bitrate) {
		call(() => this.#native.setMinIncomingBitrate(Math.round(bitrate)));
	}

	/**
	 * @private
	 */
	_setOutgoingBitrateBounds(min, max) {
		call(() => this.#native.setOutgoingBitrateBounds(min, max));
	}

	get sctpParameters() {
		return this.#sctpParameters;
	}

	get sctpState() {
		return this.#sctpState;
	}

	close() {
		if (this.closed) return;
		this.#markStatesClosed();
		super.close();
		this.#unhandle();
	}

	/**
	 * @private
	 */
	_routerClosed() {
		if (this.closed) return;
		this.#markStatesClosed();
		super._routerClosed();
		this.#unhandle();
	}

	/**
	 * @private
	 */
	_listenServerClosed() {
		if (this.closed) return;
		this.#markStatesClosed();
		super._listenServerClosed();
	}

	// `{ dtlsParameters }`: the remote's role and certificate fingerprints (mediasoup-client's
	// 'connect' event). Starts the DTLS handshake once ICE has a tuple.
	async connect(parameters) {
		this._assertOpen();
		await this.#events.request((id) => this.#native.connectAsync(toJson(parameters), id));
		// Our DTLS role is decided now ('client' unless the remote asked to be one).
		this.#dtlsParameters = this.#native.dtlsParameters();
	}

	async restartIce() {
		this._assertOpen();
		this.#iceParameters = call(() => this.#native.restartIce());
		return this.#iceParameters;
	}

	/**
	 * @private
	 */
	_onEngineEvent(ev) {
		if (this.closed) return;
		switch (ev.event) {
			case 'iceStateChange': {
				this.#iceState = ev.iceState;
				// The engine drops the selected tuple when consent expires.
				if (ev.iceState === 'disconnected') this.#iceSelectedTuple = undefined;
				this.safeEmit('icestatechange', ev.iceState);
				this.observer.safeEmit('icestatechange', ev.iceState);
				break;
			}
			case 'iceSelectedTupleChange': {
				this.#iceSelectedTuple = ev.iceSelectedTuple;
				this.safeEmit('iceselectedtuplechange', ev.iceSelectedTuple);
				this.observer.safeEmit('iceselectedtuplechange', ev.iceSelectedTuple);
				break;
			}
			case 'dtlsStateChange': {
				this.#dtlsState = ev.dtlsState;
				if (ev.dtlsState === 'connected' && ev.dtlsRemoteCert !== undefined) {
					this.#dtlsRemoteCert = ev.dtlsRemoteCert;
				}
				this.safeEmit('dtlsstatechange', ev.dtlsState);
				this.observer.safeEmit('dtlsstatechange', ev.dtlsState);
				break;
			}
			case 'sctpStateChange': {
				this.#sctpState = ev.sctpState;
				this.safeEmit('sctpstatechange', ev.sctpState);
				this.observer.safeEmit('sctpstatechange', ev.sctpState);
				break;
			}
			default:
				break;
		}
	}

	#markStatesClosed() {
		this.#iceState = 'closed';
		this.#iceSelectedTuple = undefined;
		this.#dtlsState = 'closed';
		if (this.#sctpState !== undefined) this.#sctpState = 'closed';
	}

	#unhandle() {
		if (this.#webRtcServer) this.#webRtcServer._transportClosed(this);
	}
}

module.exports = { WebRtcTransport };
