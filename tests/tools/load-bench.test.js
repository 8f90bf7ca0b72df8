'use strict';

// node --test tests/tools/load-bench.test.js
// The load bench's machinery works end to end (not its speed: that is benches/load/run.sh): the
// generator reaches a PlainTransport and a WebRtcTransport (ICE, DTLS, SRTP client side), the
// sink receives every consumer's streams without loss (consumer WebRtcTransports on their own
// ports and on one WebRtcServer, whose fan-out leaves in sendmmsg batches), the raw forwarder forwards, and the
// results file has the figures the README table is made of.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');

/** The workspace's target dir, as cargo reports it (CARGO_TARGET_DIR or .cargo/config). */
function targetDir() {
	const meta = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: ROOT, maxBuffer: 64 << 20 }));
	return meta.target_directory;
}

test('load bench: plain and WebRTC consumers, raw forwarders, control plane, JSON results', { timeout: 600_000 }, () => {
	execFileSync('cargo', ['build', '-q', '-p', 'sfu-benches', '--bin', 'sfu-load'], { cwd: ROOT, stdio: 'inherit' });
	const bin = path.join(targetDir(), 'debug', 'sfu-load');
	const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sfu-load-')), 'r.json');
	const r = spawnSync(process.execPath, [path.join(ROOT, 'benches', 'load', 'load.js'), '--consumers', '3', '--seconds', '2', '--warmup', '2', '--control', '20', '--idle', '50', '--bin', bin, '--out', out], {
		cwd: ROOT,
		encoding: 'utf8',
		timeout: 300_000,
	});
	assert.equal(r.status, 0, `load.js failed:\n${r.stdout}\n${r.stderr}`);
	const res = JSON.parse(fs.readFileSync(out, 'utf8'));
	assert.deepEqual(
		res.scenarios.map((s) => s.name),
		['raw', 'raw batched', 'libsfu plain', 'libsfu webrtc', 'libsfu webrtc-server'],
	);
	for (const s of res.scenarios) {
		// 3 consumers × (top video layer + audio): six streams, all of them seen, none with gaps.
		assert.equal(s.streams, 6, `${s.name}: streams`);
		assert.equal(s.lossPercent, 0, `${s.name}: loss`);
		assert.equal(s.undecryptable, 0, `${s.name}: undecryptable`);
		// Each of the 3 consumers gets the forwarded SSRCs: ~236 pkt/s of the ~360 offered (~2x in all).
		assert.ok(s.forwardedPps > 1.5 * s.offeredPps, `${s.name}: forwarded ${s.forwardedPps} pkt/s of ${s.offeredPps} offered`);
		assert.ok(s.latencyUs.p50 > 0 && s.latencyUs.p99 >= s.latencyUs.p50, `${s.name}: latency`);
	}
	// The sinks take GSO sends whole (UDP_GRO) and split them back (the checks above): the
	// raw forwarder sends datagram by datagram, the batched one a frame's packets per send.
	assert.equal(res.scenarios.find((s) => s.name === 'raw').packetsPerDatagram, 1);
	assert.ok(res.scenarios.find((s) => s.name === 'raw batched').packetsPerDatagram > 1.2);
	// So does libsfu: a consumer's packets of a frame (and its transport's audio) in one send.
	for (const name of ['libsfu plain', 'libsfu webrtc', 'libsfu webrtc-server']) {
		assert.ok(res.scenarios.find((s) => s.name === name).packetsPerDatagram > 1.2, name);
	}
	for (const name of ['libsfu webrtc', 'libsfu webrtc-server']) {
		const webrtc = res.scenarios.find((s) => s.name === name);
		assert.equal(webrtc.srtpCryptoSuite, 'AEAD_AES_128_GCM', name);
		assert.ok(webrtc.vsRaw > 0 && webrtc.addedLatencyUs, name);
		assert.ok(webrtc.vsRawBatched > 0 && webrtc.addedLatencyVsBatchedUs, name);
	}
	assert.equal(res.control.pairs, 20);
	assert.ok(res.control.pairsPerSecond > 0);
	assert.equal(res.controlRust.pairs, 20);
	// The idle run measured the worker thread's CPU (a number, possibly 0 for 50 transports).
	assert.equal(res.idle.transports, 50);
	assert.ok(Number.isFinite(res.idle.workerCpuPercent) && res.idle.workerCpuPercent >= 0, `idle CPU ${res.idle.workerCpuPercent}`);
});
