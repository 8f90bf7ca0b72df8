'use strict';

// The error classes mediasoup apps test with `instanceof`, and how the engine's errors and calls
// on closed objects map to them.

class UnsupportedError extends Error {
	constructor(message) {
		super(message);
		this.name = 'UnsupportedError';
	}
}

class InvalidStateError extends Error {
	constructor(message) {
		super(message);
		this.name = 'InvalidStateError';
	}
}

class NotFoundError extends Error {
	constructor(message) {
		super(message);
		this.name = 'NotFoundError';
	}
}

// mediasoup throws InvalidStateError once its worker channel is closed, so apps that catch that
// keep working; apps that want to know it was the worker can test the subclass.
class WorkerClosedError extends InvalidStateError {
	constructor(message) {
		super(message);
		this.name = 'WorkerClosedError';
	}
}

const byName = {
	TypeError,
	UnsupportedError,
	NotFoundError,
	InvalidStateError,
	WorkerClosedError,
	Error,
};

// The addon prefixes messages with the core's error kind: "[UnsupportedError] media codec ...".
const NATIVE_MESSAGE = /^\[(\w+)\] ([\s\S]*)$/;

function fromNative(error) {
	const m = error instanceof Error ? NATIVE_MESSAGE.exec(error.message) : null;
	if (!m) return error;
	const Class = byName[m[1]] || Error;
	return new Class(m[2]);
}

// Throws what mediasoup apps expect from a call on a closed object: the worker's fate first
// (WorkerClosedError), then the object's own (InvalidStateError).
function assertOpen(closed, worker, what) {
	if (worker.closed) {
		throw new WorkerClosedError(worker.died ? 'Worker died' : 'Worker closed');
	}
	if (closed) throw new InvalidStateError(`${what} closed`);
}

module.exports = {
	UnsupportedError,
	InvalidStateError,
	NotFoundError,
	WorkerClosedError,
	fromNative,
	assertOpen,
};
