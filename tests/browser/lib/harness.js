'use strict';

// Harness for the browser end-to-end tests: makes sure Chromium and the libsfu addon exist,
// bundles the demo room's page, starts the room server (examples/room) on free ports as a child
// process, opens headless Chromium pages on it (one browser, with its own profile, per page), and
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

// ---------------------------------------------------------------------------------------------
// Room server

class RoomServer {
	constructor(proc, port, env) {
		this.proc = proc;
		this.port = port;
		this.env = env;
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
					if (process.env.E2E_VERBOSE) console.error(`[server] ${line}`);
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
 */
async function startServer(extraEnv = {}, options = {}) {
	await prepare();
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
	const proc = spawn(process.execPath, [...preload, path.join(ROOM_DIR, 'server.js')], {
		cwd: ROOM_DIR,
		env,
		// The IPC channel makes the server exit if this process dies without cleaning up.
		stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
	});
	const killOnExit = () => proc.kill('SIGKILL');
	process.on('exit', killOnExit);
	proc.on('exit', () => process.removeListener('exit', killOnExit));
	const server = new RoomServer(proc, port, extraEnv);
	const deadline = Date.now() + 20_000;
	for (;;) {
		if (server.exited) {
			throw new Error(`room server exited (${JSON.stringify(server.exited)}) before listening:\n${server.tail()}`);
		}
		if (server.lines.some((l) => l.includes('listening on'))) return server;
		if (Date.now() > deadline) {
			await server.stop();
			throw new Error(`room server did not start within 20 s:\n${server.tail()}`);
		}
		await sleep(100);
	}
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
		page.on('console', (m) => this.#keep(`${m.type()}: ${m.text()}`));
		page.on('pageerror', (e) => this.#keep(`pageerror: ${e.message}`));
		page.on('crash', () => this.#keep('page crashed'));
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
 * A test's resources: one room server and any number of participants. `close()` releases them
 * all; call it from `finally` (or t.after).
 */
class Session {
	constructor() {
		this.server = null;
		this.participants = [];
	}

	/** `env`: extra environment of the room server; `options`: see startServer. */
	async start(env, options) {
		this.server = await startServer(env, options);
		return this.server;
	}

	/** Opens `/?room=…&name=…&…` in a fresh browser and waits until the page has joined. */
	async join(name, query = {}) {
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
		await page.goto(`${this.server.url}/?${qs}`, { timeout: 15_000 });
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
		if (this.server) {
			parts.push('==== server: GET /debug/state (transports, producers, consumers with getStats())');
			parts.push(JSON.stringify(await this.server.debugState(), null, 1));
			parts.push(`==== server log (${this.server.lines.length} lines, tail)`);
			parts.push(this.server.tail());
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
		if (this.server) await this.server.stop();
		this.server = null;
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
	Session,
	freeDualPort,
	prepare,
	consumerOf,
	inbound,
	sleep,
};
