'use strict';

// Harness for the browser end-to-end tests: makes sure Chromium and the libsfu addon exist,
// bundles the demo room's page, starts the room server (examples/room) on free ports as a child
// process (or another server script, such as examples/cluster's nodes, and a Redis for them),
// opens headless Chromium pages on it (one browser, with its own profile, per page), and
// cleans all of that up whatever happens. Every wait is bounded; a failed wait throws with the
// evidence (page reports with getStats(), the server's /debug/state, the server log tail).

const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const net = require('node:net');
const dgram = require('node:dgram');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const ROOM_DIR = path.join(ROOT, 'examples', 'room');
const CLUSTER_NODE = path.join(ROOT, 'examples', 'cluster', 'node.js');
const NODE_DIR = path.join(ROOT, 'node');
const OUT_DIR = path.join(ROOT, 'tests', 'out');
const OWN_MODULES = path.resolve(__dirname, '..', 'node_modules');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// From shared/BROWSER_E2E.md: all of these are needed.
const CHROMIUM_FLAGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--use-fake-device-for-media-stream',
	'--use-fake-ui-for-media-stream',
	'--allow-loopback-in-peer-connection',
	'--disable-features=WebRtcHideLocalIpsWithMdns',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function log(...args) {
	if (process.env.E2E_VERBOSE) console.error('[e2e]', ...args);
}

// ---------------------------------------------------------------------------------------------
// One-time preparation

let prepared;

/** Chromium, the addon and the page bundle; once per process. */
function prepare() {
	if (!prepared) prepared = doPrepare();
	return prepared;
}

async function doPrepare() {
	ensureChromium();
	ensureAddon();
	await bundlePage();
}

function ensureChromium() {
	if (fs.existsSync(CHROMIUM)) return;
	if (process.getuid && process.getuid() !== 0) {
		throw new Error(`${CHROMIUM} is missing; install it with: apt-get install -y chromium`);
	}
	console.error('[e2e] installing chromium with apt-get (about 1.5 min)…');
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env, timeout: 300_000 });
	execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env, timeout: 600_000 });
	if (!fs.existsSync(CHROMIUM)) throw new Error(`apt-get install chromium did not provide ${CHROMIUM}`);
}

function ensureAddon() {
	if (fs.existsSync(path.join(NODE_DIR, 'sfu.node'))) return;
	console.error('[e2e] node/sfu.node is missing: building it (npm run build in node/)…');
	execFileSync('npm', ['run', 'build'], { cwd: NODE_DIR, stdio: 'inherit', timeout: 1_200_000 });
}

async function bundlePage() {
	const esbuild = require('esbuild');
	await esbuild.build({
		entryPoints: [path.join(ROOM_DIR, 'public', 'app.js')],
		outfile: path.join(ROOM_DIR, 'public', 'bundle.js'),
		bundle: true,
		format: 'iife',
		target: 'es2020',
		// examples/room may have no node_modules of its own (CI): use ours.
		nodePaths: [OWN_MODULES],
		logLevel: 'warning',
	});
}

// ---------------------------------------------------------------------------------------------
// Ports

function freeTcpPort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.unref();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

function udpPortFree(port) {
	return new Promise((resolve) => {
		const sock = dgram.createSocket('udp4');
		sock.once('error', () => resolve(false));
		sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
	});
}

/** A port free for both TCP and UDP on 127.0.0.1 (for a WebRtcServer). */
async function freeDualPort() {
	for (let i = 0; i < 20; i++) {
		const port = await freeTcpPort();
		if (await udpPortFree(port)) return port;
	}
	throw new Error('no port free for both TCP and UDP');
}

/** Where the impairment relay listens (browsers are told this address) and where the server is. */
const RELAY_IP = '127.0.0.2';
const SERVER_IP = '127.0.0.1';

/**
 * The seeded impairment relay (tests/tools/impair-relay.js, `options` as its startRelay) on
 * RELAY_IP:port in front of SERVER_IP:port, with `port` free for a WebRtcServer (UDP + TCP) on
 * SERVER_IP. Returns { port, relay }.
 */
async function relayAndPort(options = {}) {
	const { startRelay } = require(path.join(ROOT, 'tests', 'tools', 'impair-relay'));
	let lastError;
	for (let i = 0; i < 10; i++) {
		const port = await freeDualPort();
		try {
			const relay = await startRelay({ ...options, listen: { ip: RELAY_IP, port }, target: { ip: SERVER_IP, port } });
			return { port, relay };
		} catch (error) {
			lastError = error;
		}
	}
	throw new Error(`no port for the relay on ${RELAY_IP}: ${lastError && lastError.message}`);
}

// ---------------------------------------------------------------------------------------------
// Room server

class RoomServer {
	constructor(proc, port, env, name = 'server') {
		this.proc = proc;
		this.port = port;
		this.env = env;
		this.name = name;
		this.url = `http://127.0.0.1:${port}`;
		this.lines = [];
		this.exited = null;
		const collect = (stream) => {
			let rest = '';
			stream.on('data', (chunk) => {
				rest += chunk.toString();
				const parts = rest.split('\n');
				rest = parts.pop();
				for (const line of parts) {
					this.lines.push(line);
					if (this.lines.length > 20000) this.lines.splice(0, 5000);
					if (process.env.E2E_VERBOSE) console.error(`[${this.name}] ${line}`);
				}
			});
		};
		collect(proc.stdout);
		collect(proc.stderr);
		this.exit = new Promise((resolve) => {
			proc.on('exit', (code, signal) => {
				this.exited = { code, signal };
				resolve(this.exited);
			});
		});
	}

	/** The last `n` log lines, preferring the interesting ones when the log is long. */
	tail(n = 120) {
		const important = this.lines.filter((l) => /WARN|ERROR|error|fail|ice|dtls|panic/i.test(l));
		const last = this.lines.slice(-n);
		const extra = important.filter((l) => !last.includes(l)).slice(-40);
		return [...(extra.length ? ['… selected earlier lines:', ...extra, '… last lines:'] : []), ...last].join('\n');
	}

	async debugState() {
		try {
			const res = await fetch(`${this.url}/debug/state`, { signal: AbortSignal.timeout(5000) });
			return await res.json();
		} catch (error) {
			return { error: `GET /debug/state: ${error.message}` };
		}
	}

	async stop() {
		if (this.exited) return;
		this.proc.kill('SIGTERM');
		const done = await Promise.race([this.exit, sleep(5000).then(() => null)]);
		if (!done) {
			this.proc.kill('SIGKILL');
			await Promise.race([this.exit, sleep(5000)]);
		}
	}
}

/**
 * Starts examples/room/server.js. `extraEnv` is passed to it; `options.announcedAddress` makes every
 * listenInfo of its WebRtcServer / WebRtcTransports announce that address instead of the one it
 * binds (127.0.0.1), e.g. to send the browsers through an impairment relay on 127.0.0.2.
 * `options.script` starts another server script instead (same environment and conventions: PORT,
 * serves the room page, logs "listening on" when ready), `options.name` labels its log.
 */
async function startServer(extraEnv = {}, options = {}) {
	await prepare();
	const script = options.script || path.join(ROOM_DIR, 'server.js');
	const name = options.name || 'server';
	const port = await freeTcpPort();
	const preload = [];
	if (options.announcedAddress) {
		extraEnv = { ...extraEnv, LIBSFU_E2E_ANNOUNCED_ADDRESS: options.announcedAddress };
		preload.push('--require', __filename);
	}
	const env = {
		...process.env,
		PORT: String(port),
		ROOM_DEBUG: '1',
		LIBSFU_LOG_LEVEL: process.env.LIBSFU_LOG_LEVEL || 'debug',
		SFU_MODULE: process.env.SFU_MODULE || NODE_DIR,
		// examples/room may have no node_modules of its own (CI): use ours.
		NODE_PATH: [OWN_MODULES, process.env.NODE_PATH].filter(Boolean).join(path.delimiter),
		...extraEnv,
	};
	const proc = spawn(process.execPath, [...preload, script], {
		cwd: path.dirname(script),
		env,
		// The IPC channel makes the server exit if this process dies without cleaning up.
		stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
	});
	const killOnExit = () => proc.kill('SIGKILL');
	process.on('exit', killOnExit);
	proc.on('exit', () => process.removeListener('exit', killOnExit));
	const server = new RoomServer(proc, port, extraEnv, name);
	const deadline = Date.now() + 20_000;
	for (;;) {
		if (server.exited) {
			throw new Error(`${name} exited (${JSON.stringify(server.exited)}) before listening:\n${server.tail()}`);
		}
		if (server.lines.some((l) => l.includes('listening on'))) return server;
		if (Date.now() > deadline) {
			await server.stop();
			throw new Error(`${name} did not start within 20 s:\n${server.tail()}`);
		}
		await sleep(100);
	}
}

// ---------------------------------------------------------------------------------------------
// Redis (for examples/cluster)

function ensureRedis() {
	try {
		execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
		return;
	} catch {
		// missing
	}
	if (process.getuid && process.getuid() !== 0) {
		throw new Error('redis-server is missing; install it with: apt-get install -y redis-server');
	}
	console.error('[e2e] installing redis-server with apt-get…');
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env, timeout: 300_000 });
	execFileSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'inherit', env, timeout: 600_000 });
}

/** Sends PING to 127.0.0.1:`port`; true on +PONG. */
function redisPing(port) {
	return new Promise((resolve) => {
		const sock = net.connect(port, '127.0.0.1');
		const done = (ok) => {
			sock.destroy();
			resolve(ok);
		};
		sock.setTimeout(1000, () => done(false));
		sock.on('error', () => done(false));
		sock.on('connect', () => sock.write('PING\r\n'));
		sock.on('data', (d) => done(d.toString().startsWith('+PONG')));
	});
}

/**
 * A throwaway redis-server on a free port of 127.0.0.1 (no persistence), killed by stop() or
 * when this process exits. `{ port, url, proc, lines, stop() }`.
 */
async function startRedis() {
	ensureRedis();
	const port = await freeTcpPort();
	const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	const killOnExit = () => proc.kill('SIGKILL');
	process.on('exit', killOnExit);
	const lines = [];
	for (const stream of [proc.stdout, proc.stderr]) stream.on('data', (d) => lines.push(...d.toString().split('\n').filter(Boolean)));
	let exited = null;
	const exit = new Promise((resolve) => proc.on('exit', (code, signal) => resolve((exited = { code, signal }))));
	exit.then(() => process.removeListener('exit', killOnExit));
	const redis = {
		port,
		url: `redis://127.0.0.1:${port}`,
		proc,
		lines,
		async stop() {
			if (exited) return;
			proc.kill('SIGTERM');
			if (!(await Promise.race([exit, sleep(5000).then(() => null)]))) proc.kill('SIGKILL');
		},
	};
	const deadline = Date.now() + 10_000;
	while (!(await redisPing(port))) {
		if (exited || Date.now() > deadline) {
			await redis.stop();
			throw new Error(`redis-server on port ${port} did not start (${JSON.stringify(exited)}):\n${lines.join('\n')}`);
		}
		await sleep(100);
	}
	return redis;
}

// ---------------------------------------------------------------------------------------------
// Browsers

class Participant {
	constructor(name, context, page, dir) {
		this.name = name;
		this.context = context;
		this.page = page;
		this.dir = dir;
		this.console = [];
		/** socket.io events the page received from its server: { at, event, data } */
		this.socketEvents = [];
		page.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => this.#socketFrame(payload)));
		page.on('console', (m) => this.#keep(`${m.type()}: ${m.text()}`));
		page.on('pageerror', (e) => this.#keep(`pageerror: ${e.message}`));
		page.on('crash', () => this.#keep('page crashed'));
	}

	// socket.io over a WebSocket: an event is the text frame `42["name", data]`.
	#socketFrame(payload) {
		if (typeof payload !== 'string' || !payload.startsWith('42')) return;
		try {
			const [event, data] = JSON.parse(payload.slice(2));
			this.socketEvents.push({ at: Date.now(), event, data });
			if (this.socketEvents.length > 1000) this.socketEvents.shift();
		} catch {
			// not an event
		}
	}

	#keep(line) {
		this.console.push(line);
		if (this.console.length > 200) this.console.shift();
		if (process.env.E2E_VERBOSE) console.error(`[${this.name}] ${line}`);
	}

	/** window.room.report(): the page's view with getStats() of every transport, producer, consumer. */
	async report() {
		try {
			return await Promise.race([
				this.page.evaluate(() => (window.room ? window.room.report() : { error: 'window.room is missing' })),
				sleep(8000).then(() => ({ error: 'report() timed out' })),
			]);
		} catch (error) {
			return { error: `report(): ${error.message}` };
		}
	}

	async close() {
		try {
			await Promise.race([this.context.close(), sleep(10_000)]);
		} catch {
			// already gone
		}
		await fsp.rm(this.dir, { recursive: true, force: true }).catch(() => {});
	}
}

/**
 * A test's resources: one room server (or several servers, e.g. cluster nodes, and a Redis) and
 * any number of participants. `close()` releases them all; call it from `finally` (or t.after).
 */
class Session {
	constructor() {
		this.server = null;
		/** every server started, `server` first */
		this.servers = [];
		this.redis = null;
		this.participants = [];
	}

	/** `env`: extra environment of the room server; `options`: see startServer. */
	async start(env, options) {
		this.server = await this.startServer(env, options);
		return this.server;
	}

	/** Starts one more server (see startServer); the first one started is `this.server`. */
	async startServer(env, options) {
		const server = await startServer(env, options);
		this.servers.push(server);
		if (!this.server) this.server = server;
		return server;
	}

	/** Starts a throwaway Redis (see startRedis), stopped by close(). */
	async startRedis() {
		this.redis = await startRedis();
		return this.redis;
	}

	/**
	 * Opens `/?room=…&name=…&…` in a fresh browser and waits until the page has joined.
	 * `options.server`: the server whose page to open (default `this.server`).
	 */
	async join(name, query = {}, { server = this.server } = {}) {
		const { chromium } = require('playwright-core');
		const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'libsfu-e2e-'));
		const context = await chromium.launchPersistentContext(dir, {
			executablePath: CHROMIUM,
			headless: true,
			args: CHROMIUM_FLAGS,
			viewport: { width: 1280, height: 720 },
			timeout: 30_000,
		});
		const page = context.pages()[0] || (await context.newPage());
		const who = new Participant(name, context, page, dir);
		this.participants.push(who);
		const qs = new URLSearchParams({ room: 'e2e', name, ...query });
		await page.goto(`${server.url}/?${qs}`, { timeout: 15_000 });
		await this.waitFor(`${name} joins`, async () => {
			const phase = await page.evaluate(() => window.room && window.room.state.phase);
			if (phase === 'failed') throw new Error(`${name}: join failed`);
			return phase === 'joined';
		}, { timeout: 20_000 });
		return who;
	}

	/**
	 * Polls `check()` every `interval` ms until it returns a truthy value (returned), or throws a
	 * failure carrying the evidence after `timeout` ms. `check` may throw to fail at once.
	 */
	async waitFor(what, check, { timeout = 15_000, interval = 500, context } = {}) {
		const deadline = Date.now() + timeout;
		const extra = () => (context ? `\n${context()}` : '');
		for (;;) {
			let result;
			try {
				result = await check();
			} catch (error) {
				throw await this.failure(`${what}: ${error.message}${extra()}`);
			}
			if (result) return result;
			if (Date.now() > deadline) throw await this.failure(`${what}: not within ${timeout / 1000} s${extra()}`);
			await sleep(interval);
		}
	}

	/** An Error whose message holds every piece of evidence the session can gather. */
	async failure(message) {
		const parts = [message, ''];
		for (const p of this.participants) {
			parts.push(`==== page ${p.name}: window.room.report()`);
			parts.push(JSON.stringify(await p.report(), null, 1));
			if (p.console.length) {
				parts.push(`---- page ${p.name}: console`);
				parts.push(p.console.slice(-30).join('\n'));
			}
		}
		for (const server of this.servers) {
			const name = this.servers.length > 1 ? server.name : 'server';
			parts.push(`==== ${name}: GET /debug/state (transports, producers, consumers with getStats())`);
			parts.push(JSON.stringify(await server.debugState(), null, 1));
			parts.push(`==== ${name} log (${server.lines.length} lines, tail)${server.exited ? ` (exited: ${JSON.stringify(server.exited)})` : ''}`);
			parts.push(server.tail());
		}
		const text = parts.join('\n');
		await saveEvidence(message, text);
		return new Error(text);
	}

	async screenshot(participant, file) {
		await fsp.mkdir(path.dirname(file), { recursive: true });
		await participant.page.screenshot({ path: file, timeout: 10_000 });
		return file;
	}

	async close() {
		await Promise.all(this.participants.map((p) => p.close()));
		this.participants = [];
		await Promise.all(this.servers.map((server) => server.stop()));
		this.servers = [];
		this.server = null;
		if (this.redis) await this.redis.stop();
		this.redis = null;
	}
}

async function saveEvidence(message, text) {
	try {
		await fsp.mkdir(OUT_DIR, { recursive: true });
		const name = message.replace(/[^a-z0-9]+/gi, '-').slice(0, 60).replace(/^-|-$/g, '');
		await fsp.writeFile(path.join(OUT_DIR, `failure-${name}.txt`), text);
	} catch {
		// evidence is also in the error message
	}
}

// ---------------------------------------------------------------------------------------------
// Report helpers

/** The consumer of `kind` from `peerName` in a page report, or undefined. */
function consumerOf(report, peerName, kind) {
	return (report.consumers || []).find((c) => c.peerName === peerName && c.kind === kind);
}

function inbound(report, peerName, kind) {
	const c = consumerOf(report, peerName, kind);
	return (c && c.inbound) || {};
}

// ---------------------------------------------------------------------------------------------
// Inside the room server

/**
 * Runs in the room server's process when startServer preloads this file (`node --require
 * harness.js server.js`, see `announcedAddress`): replaces the SFU module the server is about to
 * require with one whose workers' createWebRtcServer and routers' createWebRtcTransport add
 * `announcedAddress` to every listenInfo. The server itself stays unchanged.
 */
function announceListenInfos(address) {
	const { createRequire } = require('node:module');
	const roomRequire = createRequire(path.join(ROOM_DIR, 'server.js'));
	const name = process.env.SFU_MODULE || 'libsfu';
	const sfu = roomRequire(name);
	const announce = (options) =>
		options && Array.isArray(options.listenInfos)
			? { ...options, listenInfos: options.listenInfos.map((info) => ({ ...info, announcedAddress: address })) }
			: options;
	const createWorker = async (...args) => {
		const worker = await sfu.createWorker(...args);
		const createWebRtcServer = worker.createWebRtcServer.bind(worker);
		worker.createWebRtcServer = (options) => createWebRtcServer(announce(options));
		const createRouter = worker.createRouter.bind(worker);
		worker.createRouter = async (...routerArgs) => {
			const router = await createRouter(...routerArgs);
			const createWebRtcTransport = router.createWebRtcTransport.bind(router);
			router.createWebRtcTransport = (options) => createWebRtcTransport(announce(options));
			return router;
		};
		return worker;
	};
	require.cache[roomRequire.resolve(name)].exports = Object.create(sfu, {
		createWorker: { value: createWorker, enumerable: true },
	});
	console.log(`[e2e preload] every listenInfo announces ${address}`);
}

// Preloaded (no main module yet) into a room server that was asked to announce an address.
if (require.main === undefined && process.env.LIBSFU_E2E_ANNOUNCED_ADDRESS) {
	announceListenInfos(process.env.LIBSFU_E2E_ANNOUNCED_ADDRESS);
}

module.exports = {
	ROOT,
	OUT_DIR,
	CLUSTER_NODE,
	Session,
	startRedis,
	freeDualPort,
	relayAndPort,
	RELAY_IP,
	SERVER_IP,
	prepare,
	consumerOf,
	inbound,
	sleep,
};
