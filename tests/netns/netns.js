'use strict';

// Two network namespaces, each joined to the root namespace by a veth pair on its own /24, and
// child processes run inside them ("hosts"), driven over Node's IPC channel. Needs root and
// iproute2. The root namespace gets an address on each subnet but no route or forwarding between
// them, so a packet from one namespace reaches the other only through a process in the root
// namespace that relays it (the impairment relay).

const { execFileSync, spawn, spawnSync } = require('node:child_process');

function ip(...args) {
	return execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Why the namespaces cannot be made here, or null when they can. */
function unsupportedReason() {
	if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'not root (ip netns needs CAP_SYS_ADMIN)';
	const r = spawnSync('ip', ['-V'], { stdio: 'ignore' });
	if (r.error || r.status !== 0) return 'the `ip` command (iproute2) is missing';
	return null;
}

function alive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return error.code === 'EPERM';
	}
}

/** Deletes namespaces `<prefix><pid>` left by runs whose process is gone (killed mid-test). */
function removeStale(prefixes) {
	let names;
	try {
		names = ip('netns', 'list')
			.split('\n')
			.map((l) => l.split(' ')[0])
			.filter(Boolean);
	} catch {
		return;
	}
	for (const name of names) {
		for (const prefix of prefixes) {
			const m = name.startsWith(prefix) && /^(\d+)$/.exec(name.slice(prefix.length));
			if (m && !alive(Number(m[1]))) {
				try {
					ip('netns', 'del', name);
				} catch {
					// gone meanwhile
				}
			}
		}
	}
}

/** Two /24s of 10.201.0.0/16 that no interface of the root namespace uses yet. */
function freeSubnets() {
	const used = ip('-o', '-4', 'addr', 'show') + ip('-4', 'route', 'show', 'table', 'all');
	for (let i = 0; i < 127; i++) {
		const k = (process.pid + i) % 127;
		const a = `10.201.${2 * k}`;
		const b = `10.201.${2 * k + 1}`;
		if (!used.includes(`${a}.`) && !used.includes(`${b}.`)) return [a, b];
	}
	throw new Error('no free /24 pair in 10.201.0.0/16');
}

/**
 * Creates namespaces `sfuA-<pid>` and `sfuB-<pid>`. Returns
 * `{ a: {ns, root, peer}, b: {ns, root, peer}, exec(side, argv, options), cleanup() }` where `root`
 * is the root namespace's address on that side's veth and `peer` the namespace's. On error,
 * whatever was made is removed before throwing.
 */
function createPair() {
	removeStale(['sfuA-', 'sfuB-']);
	const pid = process.pid;
	const [netA, netB] = freeSubnets();
	const sides = {
		a: { ns: `sfuA-${pid}`, veth: `sfa${pid}`, root: `${netA}.1`, peer: `${netA}.2` },
		b: { ns: `sfuB-${pid}`, veth: `sfb${pid}`, root: `${netB}.1`, peer: `${netB}.2` },
	};
	const children = new Set();
	let cleaned = false;
	const cleanup = () => {
		if (cleaned) return;
		cleaned = true;
		for (const child of children) {
			if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
		}
		for (const side of Object.values(sides)) {
			// Deleting the root end removes the pair; deleting the namespace removes what is left.
			for (const args of [['link', 'del', `${side.veth}r`], ['netns', 'del', side.ns]]) {
				try {
					ip(...args);
				} catch {
					// not created, or already gone
				}
			}
		}
	};
	try {
		for (const side of Object.values(sides)) {
			const rootEnd = `${side.veth}r`;
			const nsEnd = `${side.veth}n`;
			ip('netns', 'add', side.ns);
			ip('link', 'add', rootEnd, 'type', 'veth', 'peer', 'name', nsEnd);
			ip('link', 'set', nsEnd, 'netns', side.ns);
			ip('addr', 'add', `${side.root}/24`, 'dev', rootEnd);
			ip('link', 'set', rootEnd, 'up');
			ip('-n', side.ns, 'addr', 'add', `${side.peer}/24`, 'dev', nsEnd);
			ip('-n', side.ns, 'link', 'set', nsEnd, 'up');
			ip('-n', side.ns, 'link', 'set', 'lo', 'up');
		}
	} catch (error) {
		cleanup();
		throw error;
	}
	/** Spawns `argv` inside side `side`'s namespace (ip netns exec execs it: same pid). */
	const exec = (side, argv, options = {}) => {
		const child = spawn('ip', ['netns', 'exec', sides[side].ns, ...argv], options);
		children.add(child);
		child.once('exit', () => children.delete(child));
		return child;
	};
	/** The namespace's routes and addresses, for the test to check there is no path around the relay. */
	const show = (side) => ({ routes: ip('-n', sides[side].ns, '-4', 'route', 'show'), addrs: ip('-n', sides[side].ns, '-o', '-4', 'addr', 'show') });
	return { ...sides, exec, show, cleanup };
}

/**
 * A child process inside a namespace that answers `{id, cmd, args}` messages with
 * `{id, ok, result}` or `{id, ok: false, error}` (see host.js).
 */
class Host {
	constructor(name, child) {
		this.name = name;
		this.child = child;
		this.nextId = 1;
		this.pending = new Map();
		// Spawn and IPC errors (the host gone, its channel closed) fail the pending requests via
		// 'exit' or the send callback; they must not become uncaught exceptions.
		child.on('error', (error) => {
			this.error = error;
		});
		this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
		child.on('message', (m) => {
			const p = this.pending.get(m.id);
			if (!p) return;
			this.pending.delete(m.id);
			clearTimeout(p.timer);
			if (m.ok) p.resolve(m.result);
			else p.reject(new Error(`${name}: ${m.cmd}: ${m.error}`));
		});
		child.once('exit', (code, signal) => {
			for (const p of this.pending.values()) {
				clearTimeout(p.timer);
				p.reject(new Error(`${name} exited (code ${code}, signal ${signal}) during ${p.cmd}`));
			}
			this.pending.clear();
		});
	}

	request(cmd, args = {}, timeoutMs = 10_000) {
		const id = this.nextId++;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.pending.delete(id);
				reject(new Error(`${this.name}: ${cmd} timed out after ${timeoutMs} ms`));
			}, timeoutMs);
			this.pending.set(id, { resolve, reject, timer, cmd });
			const failed = (error) => {
				if (!this.pending.has(id)) return;
				clearTimeout(timer);
				this.pending.delete(id);
				reject(new Error(`${this.name}: ${cmd}: ${error.message}`));
			};
			try {
				this.child.send({ id, cmd, args }, (error) => error && failed(error));
			} catch (error) {
				failed(error);
			}
		});
	}

	/** Asks the host to close its worker and exit; kills it when it does not within `timeoutMs`. */
	async stop(timeoutMs = 3000) {
		if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
		this.request('exit', {}, timeoutMs).catch(() => {});
		const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
		const result = await this.exited;
		clearTimeout(timer);
		return result;
	}
}

module.exports = { unsupportedReason, createPair, Host };
