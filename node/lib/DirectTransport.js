'use strict';

// mediasoup's DirectTransport: RTP, RTCP and data messages to and from this process. Its
// consumers emit 'rtp' with each packet, its producers take packets with send(), the engine's
// RTCP for it arrives as 'rtcp', and sendRtcp() feeds the application's RTCP in.

const { Transport } = require('./Transport');
const { call } = require('./native');
const { UnsupportedError } = require('./errors');

class DirectTransport extends Transport {
	#native;

	/**
	 * @private Use router.createDirectTransport().
	 */
	constructor(options) {
		super(options);
		this.#native = options.native;
	}

	get type() {
		return 'direct';
	}

	// Nothing to connect to: the application is the remote.
	async connect() {
		this._assertOpen();
	}

	async setMaxIncomingBitrate() {
		throw new UnsupportedError('setMaxIncomingBitrate() not implemented in DirectTransport');
	}

	async setMinIncomingBitrate() {
		throw new UnsupportedError('setMinIncomingBitrate() not implemented in DirectTransport');
	}

	async setMaxOutgoingBitrate() {
		throw new UnsupportedError('setMaxOutgoingBitrate() not implemented in DirectTransport');
	}

	async setMinOutgoingBitrate() {
		throw new UnsupportedError('setMinOutgoingBitrate() not implemented in DirectTransport');
	}

	sendRtcp(rtcpPacket) {
		this._assertOpen();
		if (!Buffer.isBuffer(rtcpPacket)) throw new TypeError('rtcpPacket must be a Buffer');
		call(() => this.#native.sendRtcp(rtcpPacket));
	}

	/**
	 * @private
	 */
	_onEngineEvent(ev, data) {
		if (this.closed) return;
		if (ev.event === 'rtcp') this.safeEmit('rtcp', data);
	}
}

module.exports = { DirectTransport };
