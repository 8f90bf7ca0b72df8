'use strict';

// The addon (sfu.node, built by scripts/build.js) and the one way JS calls it: errors come back
// as the classes mediasoup apps expect.

const path = require('node:path');
const { fromNative } = require('./errors');

const addonPath = path.join(__dirname, '..', 'sfu.node');

let addon;
try {
	addon = require(addonPath);
} catch (error) {
	error.message = `libsfu: cannot load the native addon ${addonPath} (run \`npm run build\` in node/): ${error.message}`;
	throw error;
}

// Runs a native call, rethrowing its error as TypeError/UnsupportedError/....
function call(fn) {
	try {
		return fn();
	} catch (error) {
		throw fromNative(error);
	}
}

module.exports = { addon, addonPath, call };
