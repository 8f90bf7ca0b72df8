'use strict';

// How app options cross into the engine: appData stays in JS (apps keep sockets and other
// non-JSON things in it), the rest travels as JSON. JSON also drops `undefined` fields, which
// apps pass freely and mediasoup treats as absent.

function checkAppData(appData) {
	if (appData === null || typeof appData !== 'object' || Array.isArray(appData)) {
		throw new TypeError('if given, appData must be an object');
	}
}

function toJson(value) {
	if (value === undefined) return undefined;
	return JSON.parse(JSON.stringify(value));
}

// Splits `options` into its appData (default {}) and the JSON the engine gets.
function splitOptions(options, what = 'options') {
	if (options === undefined || options === null) return { appData: {}, json: undefined };
	if (typeof options !== 'object' || Array.isArray(options)) {
		throw new TypeError(`${what} must be an object`);
	}
	const { appData = {}, ...rest } = options;
	checkAppData(appData);
	return { appData, json: toJson(rest) };
}

module.exports = { checkAppData, toJson, splitOptions };
