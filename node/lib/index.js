'use strict';

// libsfu: mediasoup v3's API over an in-process engine. `require('libsfu')` stands in for
// `require('mediasoup')`.

const { addon, addonPath, call } = require('./native');
const { EnhancedEventEmitter, enhancedOnce } = require('./enhancedEvents');
const { EngineEvents } = require('./engineEvents');
const { setLogEventListeners } = require('./logger');
const { splitOptions } = require('./options');
const { Worker } = require('./Worker');
const errors = require('./errors');
const types = require('./types');

const version = addon.version();

// Emits 'newworker'.
const observer = new EnhancedEventEmitter();

async function createWorker(settings) {
	const { appData, json } = splitOptions(settings, 'settings');
	const events = new EngineEvents();
	const native = call(() => addon.createWorker(json, (target, payload, extra) => (typeof target === 'number' ? events.settle(target, payload, extra) : events.dispatch(target, payload, extra))));
	const worker = new Worker({ native, events, appData });
	observer.safeEmit('newworker', worker);
	return worker;
}

function getSupportedRtpCapabilities() {
	return addon.supportedRtpCapabilities();
}

function parseScalabilityMode(scalabilityMode) {
	return addon.parseScalabilityMode(typeof scalabilityMode === 'string' ? scalabilityMode : undefined);
}

module.exports = {
	version,
	observer,
	// There is no worker binary: the engine is this addon.
	workerBin: addonPath,
	setLogEventListeners,
	createWorker,
	getSupportedRtpCapabilities,
	parseScalabilityMode,
	types,
	errors: {
		UnsupportedError: errors.UnsupportedError,
		InvalidStateError: errors.InvalidStateError,
		NotFoundError: errors.NotFoundError,
		WorkerClosedError: errors.WorkerClosedError,
	},
	extras: { EnhancedEventEmitter, enhancedOnce },
};
