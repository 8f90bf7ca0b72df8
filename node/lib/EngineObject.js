'use strict';

// What the Worker and every object under it share: `closed`, `appData`, `observer`, dump(), the
// check of calls on closed objects, and the close bookkeeping. Each object closes once, in JS and
// synchronously: it is marked closed, closes (or lets go of) what hangs from it in _onClose(),
// then tells its owner ('@…' events), the app (mediasoup's event) and the observer ('close').
// `id` stays with the classes that have one (mediasoup's Worker has none).

const { EnhancedEventEmitter } = require('./enhancedEvents');
const { call } = require('./native');
const { assertOpen } = require('./errors');
const { checkAppData } = require('./options');

class EngineObject extends EnhancedEventEmitter {
	#native;
	#worker;
	#logger;
	#closed = false;
	#appData;
	#observer = new EnhancedEventEmitter();

	/**
	 * @private `native`: the addon's handle; `worker`: the Worker it lives in (none for the
	 * Worker itself); `logger`: the class's Logger, whose namespace also names it in errors.
	 */
	constructor({ native, worker, logger, appData }) {
		super();
		this.#native = native;
		this.#worker = worker ?? this;
		this.#logger = logger;
		this.#appData = appData;
	}

	get closed() {
		return this.#closed;
	}

	get appData() {
		return this.#appData;
	}

	set appData(appData) {
		checkAppData(appData);
		this.#appData = appData;
	}

	get observer() {
		return this.#observer;
	}

	close() {
		if (this.#closed) return;
		this.#logger.debug('close()');
		this._closeLocally('@close');
		this.#native.close();
	}

	async dump() {
		this._assertOpen();
		return call(() => this.#native.dump());
	}

	/**
	 * @private Throws WorkerClosedError or InvalidStateError when the object cannot be used.
	 */
	_assertOpen() {
		assertOpen(this.#closed, this.#worker, this.#logger.namespace);
	}

	/**
	 * @private `native` was created by a request this object made (pipelined, see
	 * node/src/reply.rs): if the object closed while the request was in flight, closes `native`
	 * (the engine closes it too, in its own order) and throws as _assertOpen() does.
	 */
	_assertOpenAfterRequest(native) {
		if (!this.#closed) return;
		native.close();
		this._assertOpen();
	}

	/**
	 * @private Marks the object closed; false when it already was.
	 */
	_markClosed() {
		if (this.#closed) return false;
		this.#closed = true;
		return true;
	}

	/**
	 * @private Closes the object on the JS side (not the engine's): marks it closed, runs
	 * _onClose(), then emits `ownerEvent` (internal, for its owner's bookkeeping) and `appEvent`
	 * with `args`, when given, and the observer's 'close'. False when it was already closed.
	 */
	_closeLocally(ownerEvent, appEvent, ...args) {
		if (!this._markClosed()) return false;
		this._onClose();
		if (ownerEvent) this.emit(ownerEvent);
		if (appEvent) this.safeEmit(appEvent, ...args);
		this.#observer.safeEmit('close');
		return true;
	}

	/**
	 * @private Runs once the object is marked closed, before any close event: subclasses close
	 * their children and drop their registrations here.
	 */
	_onClose() {}

	/**
	 * @private Keeps `child` in the set `children` until it closes, and announces it to the
	 * observer as `observerEvent`.
	 */
	_addChild(children, child, observerEvent) {
		children.add(child);
		child.on('@close', () => children.delete(child));
		this.#observer.safeEmit(observerEvent, child);
	}
}

module.exports = { EngineObject };
