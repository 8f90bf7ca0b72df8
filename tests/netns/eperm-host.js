'use strict';

// Run by send-eperm.test.js inside a network namespace whose firewall drops UDP to port
// BLOCKED (nftables, output hook): sendto() to it fails with EPERM. A plain transport consumer
// sends there, another to an open port; prints one JSON line with what each saw.

const path = require('node:path');
const mediasoup = require(path.join(__dirname, '..', '..', 'node'));
const h = require(path.join(__dirname, '..', '..', 'node', 'test', 'helpers'));

async function main() {
	const blocked = Number(process.argv[2]);
	const worker = await mediasoup.createWorker({ logLevel: 'error' });
	const sender = await h.udpSocket();
	const sink = await h.udpSocket();
	try {
		const router = await worker.createRouter({ mediaCodecs: h.mediaCodecs });
		const input = await router.createPlainTransport({ listenInfo: h.listenInfo, comedia: true });
		const producer = await input.produce({ kind: 'audio', rtpParameters: h.opusParameters(4321) });
		const firewalled = await h.plainConsumerTo(router, producer, blocked);
		const open = await h.plainConsumerTo(router, producer, sink.address().port);
		const received = h.collectRtp(sink);
		const events = { firewalled: [], open: [] };
		firewalled.on('socketerror', (e) => events.firewalled.push(e));
		open.on('socketerror', (e) => events.open.push(e));
		for (let seq = 0; seq < 50; seq++) {
			sender.send(h.rtpPacket({ payloadType: 111, sequenceNumber: seq, timestamp: seq * 960, ssrc: 4321, payload: Buffer.from('opus') }), input.tuple.localPort, '127.0.0.1');
			await h.sleep(2);
		}
		await h.waitUntil(() => events.firewalled.length > 0 && received.length === 50, 'a socketerror and 50 packets at the open port', 3000).catch(() => {});
		const stats = { firewalled: (await firewalled.getStats())[0].socketErrors, open: (await open.getStats())[0].socketErrors };
		console.log(JSON.stringify({ events, stats, received: received.length }));
	} finally {
		sender.close();
		sink.close();
		worker.close();
	}
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
