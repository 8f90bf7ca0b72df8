'use strict';

// mediasoup's `types` export: at run time, the classes and error classes (the TypeScript types
// live in index.d.ts).

const errors = require('./errors');
const { Worker } = require('./Worker');
const { Router } = require('./Router');
const { Transport } = require('./Transport');
const { PlainTransport } = require('./PlainTransport');
const { WebRtcTransport } = require('./WebRtcTransport');
const { WebRtcServer } = require('./WebRtcServer');
const { Producer } = require('./Producer');
const { Consumer } = require('./Consumer');
const { DirectTransport } = require('./DirectTransport');
const { PipeTransport } = require('./PipeTransport');
const { DataProducer } = require('./DataProducer');
const { DataConsumer } = require('./DataConsumer');
const { RtpObserver, AudioLevelObserver, ActiveSpeakerObserver } = require('./RtpObserver');
const { EnhancedEventEmitter } = require('./enhancedEvents');

module.exports = {
	Worker,
	Router,
	Transport,
	PlainTransport,
	WebRtcTransport,
	WebRtcServer,
	Producer,
	Consumer,
	DirectTransport,
	PipeTransport,
	DataProducer,
	DataConsumer,
	RtpObserver,
	AudioLevelObserver,
	ActiveSpeakerObserver,
	EnhancedEventEmitter,
	UnsupportedError: errors.UnsupportedError,
	InvalidStateError: errors.InvalidStateError,
	NotFoundError: errors.NotFoundError,
	WorkerClosedError: errors.WorkerClosedError,
};
