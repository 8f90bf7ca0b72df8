'use strict';

// Where the JS layer's own logs go: the listeners given to setLogEventListeners(), or by default
// errors to stderr (a swallowed listener exception should still be seen) and debug/warn only
// when DEBUG names libsfu or mediasoup.

let listeners; // undefined: defaults; null: silenced; object: the app's listeners
const verbose = /\b(libsfu|mediasoup)\b|\*/.test(process.env.DEBUG || '');

function setLogEventListeners(l) {
	listeners = l || null;
}

function emit(level, namespace, message, error) {
	if (listeners === null) return;
	if (listeners) {
		const fn = listeners[`on${level}`];
		if (typeof fn === 'function') {
			try {
				fn(namespace, message, error);
			} catch {
				// A log listener must not turn a log line into a crash.
			}
		}
		return;
	}
	if (level === 'error') console.error(`libsfu:ERROR:${namespace} ${message}`, error || '');
	else if (verbose) console.error(`libsfu:${level.toUpperCase()}:${namespace} ${message}`);
}

class Logger {
	constructor(namespace) {
		this.namespace = namespace;
	}

	debug(message) {
		emit('debug', this.namespace, message);
	}

	warn(message) {
		emit('warn', this.namespace, message);
	}

	error(message, error) {
		emit('error', this.namespace, message, error);
	}
}

module.exports = { Logger, setLogEventListeners };
