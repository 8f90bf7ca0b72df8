'use strict';

// How app options cross into the engine: appData stays in JS (apps keep sockets and other
// non-JSON things in it), the rest travels as one JSON string (v8's JSON.stringify plus serde_json
// cost a fraction of walking the object through napi). JSON also drops `undefined` fields, which
// apps pass freely and mediasoup treats as absent.

function checkAppData(appData) {
	if (appData === null || typeof appData !== 'object' || Array.isArray(appData)) {
		throw new TypeError('if given, appData must be an object');
	}
}

// The JSON string the engine gets for `value` (undefined stays undefined: no options).
function toJson(value) {
	if (value === undefined) return undefined;
	return JSON.stringify(value);
}

// Splits `options` into its appData (default {}), the JSON string the engine gets, and the other
// fields as given (for checks made in JS).
function splitOptions(options, what = 'options') {
	if (options === undefined || options === null) return { appData: {}, json: undefined, fields: {} };
	if (typeof options !== 'object' || Array.isArray(options)) {
		throw new TypeError(`${what} must be an object`);
	}
	const { appData = {}, ...rest } = options;
	checkAppData(appData);
	return { appData, json: toJson(rest), fields: rest };
}

module.exports = { checkAppData, toJson, splitOptions };
