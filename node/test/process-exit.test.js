'use strict';

// The engine's event channel keeps Node's event loop alive exactly while a worker runs (like
// mediasoup's worker subprocess): a process exits by itself once its workers are closed or died.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');

const libsfu = path.join(__dirname, '..');
const codecs = path.join(__dirname, '..', '..', 'core', 'testdata', 'router-media-codecs.json');

const setup = `
const mediasoup = require(${JSON.stringify(libsfu)});
async function setup() {
	const worker = await mediasoup.createWorker();
	const router = await worker.createRouter({ mediaCodecs: require(${JSON.stringify(codecs)}) });
	const send = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, comedia: true });
	const recv = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' } });
	await recv.connect({ ip: '127.0.0.1', port: 9 });
	const producer = await send.produce({ kind: 'audio', rtpParameters: {
		codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 1 }] } });
	const consumer = await recv.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
	consumer.on('transportclose', () => console.log('transportclose'));
	return worker;
}
`;

// Runs `body` in a fresh node; resolves {code, signal, stdout, stderr, ms}, or {timedOut} after
// `timeoutMs` (the child is then killed).
function run(body, timeoutMs) {
	return new Promise((resolve) => {
		const started = Date.now();
		const child = spawn(process.execPath, ['-e', setup + body], { stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (d) => (stdout += d));
		child.stderr.on('data', (d) => (stderr += d));
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			resolve({ timedOut: true, stdout, stderr });
		}, timeoutMs);
		child.on('exit', (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
		});
	});
}

test('a process exits by itself once the app closes its worker', async () => {
	const r = await run(`setup().then((worker) => { worker.close(); console.log('closed'); });`, 5000);
	assert.ok(!r.timedOut, `child still running after 5 s; stdout: ${r.stdout} stderr: ${r.stderr}`);
	assert.equal(r.code, 0, r.stderr);
	assert.deepEqual(r.stdout.trim().split('\n'), ['transportclose', 'closed']);
});

test('a process exits by itself once its worker died', async () => {
	const r = await run(
		`setup().then((worker) => {
			worker.on('died', () => console.log('died'));
			worker._injectPanicForTests('boom');
		});`,
		5000,
	);
	assert.ok(!r.timedOut, `child still running after 5 s; stdout: ${r.stdout} stderr: ${r.stderr}`);
	assert.equal(r.code, 0, r.stderr);
	assert.deepEqual(r.stdout.trim().split('\n'), ['transportclose', 'died']);
});

test('a running worker keeps the process alive, as a mediasoup worker does', async () => {
	const r = await run(`setup().then(() => console.log('ready'));`, 1500);
	assert.equal(r.timedOut, true, `child exited early: code ${r.code}, stderr: ${r.stderr}`);
	assert.equal(r.stdout.trim(), 'ready');
});

test('a process with a WebRtcServer and WebRTC transports exits once its worker is closed', async () => {
	const r = await run(
		`(async () => {
			const listenInfos = [{ protocol: 'udp', ip: '127.0.0.1' }, { protocol: 'tcp', ip: '127.0.0.1' }];
			const worker = await mediasoup.createWorker();
			const webRtcServer = await worker.createWebRtcServer({ listenInfos });
			const router = await worker.createRouter({ mediaCodecs: require(${JSON.stringify(codecs)}) });
			const shared = await router.createWebRtcTransport({ webRtcServer });
			await router.createWebRtcTransport({ listenInfos });
			shared.on('routerclose', () => console.log('routerclose'));
			webRtcServer.on('workerclose', () => console.log('workerclose'));
			worker.close();
		})();`,
		5000,
	);
	assert.ok(!r.timedOut, `child still running after 5 s; stdout: ${r.stdout} stderr: ${r.stderr}`);
	assert.equal(r.code, 0, r.stderr);
	assert.deepEqual(r.stdout.trim().split('\n'), ['routerclose', 'workerclose']);
});
