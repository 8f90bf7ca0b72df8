// TypeScript declarations of libsfu: mediasoup v3's API (the subset libsfu implements), so that
// TypeScript apps switching from `mediasoup` keep compiling.

import { EventEmitter } from 'node:events';

// ---------------------------------------------------------------------------------------------
// Events

export type EventListenerArgs = Record<string, any[]>;

/** An EventEmitter whose listener exceptions are caught and reported as 'listenererror'. */
export declare class EnhancedEventEmitter<E extends EventListenerArgs = EventListenerArgs> extends EventEmitter {
	constructor();
	emit<K extends keyof E & string>(eventName: K, ...args: E[K]): boolean;
	/** Emits, catching (and logging) listener exceptions. */
	safeEmit<K extends keyof E & string>(eventName: K, ...args: E[K]): boolean;
	safeEmitAsPromise<K extends keyof E & string>(eventName: K, ...args: E[K]): Promise<any>;
	on<K extends keyof E & string>(eventName: K, listener: (...args: E[K]) => void): this;
	off<K extends keyof E & string>(eventName: K, listener: (...args: E[K]) => void): this;
	addListener<K extends keyof E & string>(eventName: K, listener: (...args: E[K]) => void): this;
	prependListener<K extends keyof E & string>(eventName: K, listener: (...args: E[K]) => void): this;
	once<K extends keyof E & string>(eventName: K, listener: (...args: E[K]) => void): this;
	prependOnceListener<K extends keyof E & string>(eventName: K, listener: (...args: E[K]) => void): this;
	removeListener<K extends keyof E & string>(eventName: K, listener: (...args: E[K]) => void): this;
	removeAllListeners<K extends keyof E & string>(eventName?: K): this;
	listenerCount<K extends keyof E & string>(eventName: K): number;
}

/** Resolves with the arguments of the next `eventName` event. */
export declare function enhancedOnce<E extends EventListenerArgs>(emitter: EnhancedEventEmitter<E>, eventName: keyof E & string): Promise<any[]>;

type ListenerError = { listenererror: [string, Error] };

// ---------------------------------------------------------------------------------------------
// Common types

export type AppData = { [key: string]: unknown };

export type MediaKind = 'audio' | 'video';

export type RtcpFeedback = { type: string; parameter?: string };

export type RtpCodecCapability = {
	kind: MediaKind;
	mimeType: string;
	preferredPayloadType?: number;
	clockRate: number;
	channels?: number;
	parameters?: any;
	rtcpFeedback?: RtcpFeedback[];
};

export type RtpHeaderExtensionDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export type RtpHeaderExtension = {
	kind: MediaKind;
	uri: string;
	preferredId: number;
	preferredEncrypt?: boolean;
	direction?: RtpHeaderExtensionDirection;
};

export type RtpCapabilities = {
	codecs?: RtpCodecCapability[];
	headerExtensions?: RtpHeaderExtension[];
};

export type RouterRtpCodecCapability = RtpCodecCapability;
export type RouterRtpCapabilities = RtpCapabilities;

export type RtpCodecParameters = {
	mimeType: string;
	payloadType: number;
	clockRate: number;
	channels?: number;
	parameters?: any;
	rtcpFeedback?: RtcpFeedback[];
};

export type RtpEncodingParameters = {
	ssrc?: number;
	rid?: string;
	codecPayloadType?: number;
	rtx?: { ssrc: number };
	dtx?: boolean;
	scalabilityMode?: string;
	scaleResolutionDownBy?: number;
	maxBitrate?: number;
	maxFramerate?: number;
	adaptivePtime?: boolean;
	priority?: 'very-low' | 'low' | 'medium' | 'high';
	networkPriority?: 'very-low' | 'low' | 'medium' | 'high';
};

export type RtpHeaderExtensionParameters = {
	uri: string;
	id: number;
	encrypt?: boolean;
	parameters?: any;
};

export type RtcpParameters = {
	cname?: string;
	reducedSize?: boolean;
	mux?: boolean;
};

export type RtpParameters = {
	mid?: string;
	codecs: RtpCodecParameters[];
	headerExtensions?: RtpHeaderExtensionParameters[];
	encodings?: RtpEncodingParameters[];
	rtcp?: RtcpParameters;
	msid?: string;
};

export type ScalabilityMode = {
	spatialLayers: number;
	temporalLayers: number;
	ksvc: boolean;
};

// ---------------------------------------------------------------------------------------------
// Errors

/** Capabilities do not match: unsupported codec, nothing consumable, unsupported feature. */
export declare class UnsupportedError extends Error {
	constructor(message: string);
}

/** The object is closed or in a state that does not allow the call. */
export declare class InvalidStateError extends Error {
	constructor(message: string);
}

/** An unknown entity, e.g. `consume()` of an unknown producerId. */
export declare class NotFoundError extends Error {
	constructor(message: string);
}

/** The worker is closed or died; an InvalidStateError, as mediasoup throws then. */
export declare class WorkerClosedError extends InvalidStateError {
	constructor(message: string);
}

// ---------------------------------------------------------------------------------------------
// Worker

export type WorkerLogLevel = 'debug' | 'warn' | 'error' | 'none';

export type WorkerLogTag =
	| 'info' | 'ice' | 'dtls' | 'rtp' | 'srtp' | 'rtcp' | 'rtx' | 'bwe' | 'score' | 'simulcast' | 'svc' | 'sctp' | 'message';

export type WorkerSettings<WorkerAppData extends AppData = AppData> = {
	logLevel?: WorkerLogLevel;
	logTags?: WorkerLogTag[];
	rtcMinPort?: number;
	rtcMaxPort?: number;
	dtlsCertificateFile?: string;
	dtlsPrivateKeyFile?: string;
	/** Accepted and ignored (mediasoup worker option). */
	libwebrtcFieldTrials?: string;
	/** Accepted and ignored (mediasoup worker option). */
	disableLiburing?: boolean;
	/** Accepted and ignored: there is no worker binary. */
	workerBin?: string;
	/** Not in mediasoup: most transports this worker holds at once (default 10000). */
	maxTransports?: number;
	/** Not in mediasoup: most producers (and, separately, data producers) per transport (default 1000). */
	maxProducersPerTransport?: number;
	/** Not in mediasoup: most consumers (and, separately, data consumers) per transport (default 5000). */
	maxConsumersPerTransport?: number;
	appData?: WorkerAppData;
};

export type WorkerUpdateableSettings = Pick<WorkerSettings, 'logLevel' | 'logTags'>;

export type WorkerResourceUsage = {
	ru_utime: number;
	ru_stime: number;
	ru_maxrss: number;
	ru_ixrss: number;
	ru_idrss: number;
	ru_isrss: number;
	ru_minflt: number;
	ru_majflt: number;
	ru_nswap: number;
	ru_inblock: number;
	ru_oublock: number;
	ru_msgsnd: number;
	ru_msgrcv: number;
	ru_nsignals: number;
	ru_nvcsw: number;
	ru_nivcsw: number;
};

export type WorkerDump = {
	pid: number;
	webRtcServerIds: string[];
	routerIds: string[];
	channelMessageHandlers: { channelRequestHandlers: string[]; channelNotificationHandlers: string[] };
	liburing?: unknown;
};

export type WorkerEvents = ListenerError & { died: [Error]; subprocessclose: [] };
export type WorkerObserverEvents = { close: []; newwebrtcserver: [WebRtcServer]; newrouter: [Router] };
export type WorkerObserver = EnhancedEventEmitter<WorkerObserverEvents>;

export declare class Worker<WorkerAppData extends AppData = AppData> extends EnhancedEventEmitter<WorkerEvents> {
	private constructor();
	/** The host process id: workers are threads of this process. */
	get pid(): number;
	get closed(): boolean;
	get died(): boolean;
	get subprocessClosed(): boolean;
	get appData(): WorkerAppData;
	set appData(appData: WorkerAppData);
	get observer(): WorkerObserver;
	/** @private Just for testing purposes. */
	get webRtcServersForTesting(): Set<WebRtcServer>;
	/** @private Just for testing purposes. */
	get routersForTesting(): Set<Router>;
	close(): void;
	getResourceUsage(): Promise<WorkerResourceUsage>;
	updateSettings(settings?: WorkerUpdateableSettings): Promise<void>;
	dump(): Promise<WorkerDump>;
	createWebRtcServer<WebRtcServerAppData extends AppData = AppData>(
		options: WebRtcServerOptions<WebRtcServerAppData>,
	): Promise<WebRtcServer<WebRtcServerAppData>>;
	createRouter<RouterAppData extends AppData = AppData>(options?: RouterOptions<RouterAppData>): Promise<Router<RouterAppData>>;
}

// ---------------------------------------------------------------------------------------------
// Router

export type RouterOptions<RouterAppData extends AppData = AppData> = {
	mediaCodecs?: RouterRtpCodecCapability[];
	appData?: RouterAppData;
};

export type RouterDump = {
	id: string;
	transportIds: string[];
	rtpObserverIds: string[];
	mapProducerIdConsumerIds: { key: string; values: string[] }[];
	mapConsumerIdProducerId: { key: string; value: string }[];
	mapProducerIdObserverIds: { key: string; values: string[] }[];
	mapDataProducerIdDataConsumerIds: { key: string; values: string[] }[];
	mapDataConsumerIdDataProducerId: { key: string; value: string }[];
};

export type RouterEvents = ListenerError & { workerclose: [] };
export type RouterObserverEvents = { close: []; newtransport: [Transport]; newrtpobserver: [RtpObserver] };
export type RouterObserver = EnhancedEventEmitter<RouterObserverEvents>;

export declare class Router<RouterAppData extends AppData = AppData> extends EnhancedEventEmitter<RouterEvents> {
	private constructor();
	get id(): string;
	get closed(): boolean;
	get rtpCapabilities(): RouterRtpCapabilities;
	get appData(): RouterAppData;
	set appData(appData: RouterAppData);
	get observer(): RouterObserver;
	/** @private Just for testing purposes. */
	get transportsForTesting(): Set<Transport>;
	close(): void;
	dump(): Promise<RouterDump>;
	createPlainTransport<PlainTransportAppData extends AppData = AppData>(
		options: PlainTransportOptions<PlainTransportAppData>,
	): Promise<PlainTransport<PlainTransportAppData>>;
	createWebRtcTransport<WebRtcTransportAppData extends AppData = AppData>(
		options: WebRtcTransportOptions<WebRtcTransportAppData>,
	): Promise<WebRtcTransport<WebRtcTransportAppData>>;
	createPipeTransport<PipeTransportAppData extends AppData = AppData>(
		options?: PipeTransportOptions<PipeTransportAppData>,
	): Promise<PipeTransport<PipeTransportAppData>>;
	createDirectTransport<DirectTransportAppData extends AppData = AppData>(
		options?: DirectTransportOptions<DirectTransportAppData>,
	): Promise<DirectTransport<DirectTransportAppData>>;
	pipeToRouter(options: PipeToRouterOptions): Promise<PipeToRouterResult>;
	createActiveSpeakerObserver<ActiveSpeakerObserverAppData extends AppData = AppData>(
		options?: ActiveSpeakerObserverOptions<ActiveSpeakerObserverAppData>,
	): Promise<ActiveSpeakerObserver<ActiveSpeakerObserverAppData>>;
	createAudioLevelObserver<AudioLevelObserverAppData extends AppData = AppData>(
		options?: AudioLevelObserverOptions<AudioLevelObserverAppData>,
	): Promise<AudioLevelObserver<AudioLevelObserverAppData>>;
	/** False (never an exception) for an unknown producer or unusable capabilities. */
	canConsume(options: { producerId: string; rtpCapabilities: RtpCapabilities }): boolean;
}

// ---------------------------------------------------------------------------------------------
// Transports

export type TransportProtocol = 'udp' | 'tcp';

export type TransportPortRange = { min: number; max: number };

export type TransportListenInfo = {
	protocol: TransportProtocol;
	ip: string;
	announcedAddress?: string;
	/** @deprecated Use announcedAddress. */
	announcedIp?: string;
	port?: number;
	portRange?: TransportPortRange;
	flags?: { ipv6Only?: boolean; udpReusePort?: boolean };
	sendBufferSize?: number;
	recvBufferSize?: number;
};

/** @deprecated Use TransportListenInfo. */
export type TransportListenIp = { ip: string; announcedIp?: string };

export type TransportTuple = {
	localAddress: string;
	/** @deprecated Use localAddress. */
	localIp: string;
	localPort: number;
	remoteIp?: string;
	remotePort?: number;
	protocol: TransportProtocol;
};

export type TransportType = 'webrtc' | 'plain' | 'pipe' | 'direct';

export type TransportTraceEventType = 'probation' | 'bwe';

export type BaseTransportDump = {
	id: string;
	direct: boolean;
	producerIds: string[];
	consumerIds: string[];
	mapSsrcConsumerId: { key: number; value: string }[];
	mapRtxSsrcConsumerId: { key: number; value: string }[];
	dataProducerIds: string[];
	dataConsumerIds: string[];
	recvRtpHeaderExtensions: { mid?: number; rid?: number; rrid?: number; absSendTime?: number; transportWideCc01?: number };
	rtpListener: {
		ssrcTable: { key: number; value: string }[];
		midTable: { key: string; value: string }[];
		ridTable: { key: string; value: string }[];
	};
	maxMessageSize: number;
	/** With `enableSctp`: OS is the negotiated outgoing stream count once connected. */
	sctpParameters?: { port: number; OS: number; MIS: number; maxMessageSize: number };
	sctpState?: SctpState;
	sctpListener?: { streamIdTable: { key: number; value: string }[] };
	traceEventTypes: TransportTraceEventType[];
};

export type BaseTransportStats = {
	type: string;
	transportId: string;
	timestamp: number;
	bytesReceived: number;
	recvBitrate: number;
	bytesSent: number;
	sendBitrate: number;
	rtpBytesReceived: number;
	rtpRecvBitrate: number;
	rtpBytesSent: number;
	rtpSendBitrate: number;
	rtxBytesReceived: number;
	rtxRecvBitrate: number;
	rtxBytesSent: number;
	rtxSendBitrate: number;
	probationBytesSent: number;
	probationSendBitrate: number;
	/** WebRtcTransport: the send-side bandwidth estimate, bps. */
	availableOutgoingBitrate?: number;
	/** WebRtcTransport: the receive-side estimate (abs-send-time), bps, once measured. */
	availableIncomingBitrate?: number;
	/** What setMaxIncomingBitrate() set, bps. */
	maxIncomingBitrate?: number;
	/** With SCTP (beyond mediasoup): DATA chunks the remote sent on stream ids it was not granted, discarded. */
	sctpInvalidStreamChunks?: number;
	/** What setMinIncomingBitrate() set, bps (not in mediasoup). */
	minIncomingBitrate?: number;
	/** Plain, pipe and WebRTC transports (not in mediasoup): sends refused and ICMP errors for the remote (see 'socketerror'). */
	socketErrors?: number;
};

/** A `trace` event: what `enableTraceEvent()` asked for. */
export interface TraceEventData {
	type: 'rtp' | 'keyframe' | 'nack' | 'pli' | 'fir' | 'sr' | 'probation' | 'bwe';
	timestamp: number;
	direction: 'in' | 'out';
	info: any;
}

/**
 * libsfu extension (not in mediasoup): the transport's socket reported an error for its remote —
 * a send refused (`origin: 'send'`, e.g. EPERM from a firewall) or an ICMP error for datagrams sent
 * to it (`origin: 'icmp'`, e.g. ECONNREFUSED for a dead port). At most one event a second per
 * transport; `count` is how many errors it stands for. Also counted in `getStats()` as `socketErrors`.
 */
export type SocketErrorInfo = {
	error: string;
	errno: number;
	message: string;
	origin: 'send' | 'icmp' | 'local';
	remoteIp: string;
	remotePort: number;
	protocol: 'udp';
	icmpType?: number;
	icmpCode?: number;
	offenderIp?: string;
	count: number;
};

export type TransportEvents = ListenerError & { routerclose: []; listenserverclose: []; trace: [TraceEventData]; socketerror: [SocketErrorInfo] };
export type TransportObserverEvents = {
	close: [];
	newproducer: [Producer];
	newconsumer: [Consumer];
	newdataproducer: [DataProducer];
	newdataconsumer: [DataConsumer];
	trace: [TraceEventData];
};

export declare class Transport<
	TransportAppData extends AppData = AppData,
	Events extends EventListenerArgs = TransportEvents,
	ObserverEvents extends EventListenerArgs = TransportObserverEvents,
> extends EnhancedEventEmitter<Events> {
	protected constructor();
	get id(): string;
	get closed(): boolean;
	get type(): TransportType;
	get appData(): TransportAppData;
	set appData(appData: TransportAppData);
	get observer(): EnhancedEventEmitter<ObserverEvents>;
	close(): void;
	dump(): Promise<BaseTransportDump>;
	getStats(): Promise<BaseTransportStats[]>;
	connect(params: unknown): Promise<void>;
	/** WebRtcTransport: caps what the remote publishes (REMB, 0 removes the cap); accepted elsewhere. */
	setMaxIncomingBitrate(bitrate: number): Promise<void>;
	/** Not in mediasoup. WebRtcTransport: floor of the REMB announced to REMB-only publishers (0 removes it). */
	setMinIncomingBitrate(bitrate: number): Promise<void>;
	/** Bounds the send-side bandwidth estimate of a WebRtcTransport (0: default); accepted elsewhere. */
	setMaxOutgoingBitrate(bitrate: number): Promise<void>;
	/** Bounds the send-side bandwidth estimate of a WebRtcTransport (0: default); accepted elsewhere. */
	setMinOutgoingBitrate(bitrate: number): Promise<void>;
	enableTraceEvent(types?: TransportTraceEventType[]): Promise<void>;
	produce<ProducerAppData extends AppData = AppData>(options: ProducerOptions<ProducerAppData>): Promise<Producer<ProducerAppData>>;
	consume<ConsumerAppData extends AppData = AppData>(options: ConsumerOptions<ConsumerAppData>): Promise<Consumer<ConsumerAppData>>;
	produceData<DataProducerAppData extends AppData = AppData>(
		options?: DataProducerOptions<DataProducerAppData>,
	): Promise<DataProducer<DataProducerAppData>>;
	consumeData<DataConsumerAppData extends AppData = AppData>(
		options: DataConsumerOptions<DataConsumerAppData>,
	): Promise<DataConsumer<DataConsumerAppData>>;
}

// ---------------------------------------------------------------------------------------------
// PipeTransport

export type SrtpParameters = { cryptoSuite: string; keyBase64: string };

export type PipeTransportOptions<PipeTransportAppData extends AppData = AppData> = {
	listenInfo?: TransportListenInfo;
	/** @deprecated Use listenInfo. */
	listenIp?: TransportListenIp | string;
	/** @deprecated Use listenInfo.port. */
	port?: number;
	enableSctp?: boolean;
	numSctpStreams?: NumSctpStreams;
	maxSctpMessageSize?: number;
	sctpSendBufferSize?: number;
	/** Default false. */
	enableRtx?: boolean;
	/** Default false (AEAD_AES_256_GCM when true). */
	enableSrtp?: boolean;
	appData?: PipeTransportAppData;
};

export declare class PipeTransport<PipeTransportAppData extends AppData = AppData> extends Transport<
	PipeTransportAppData,
	TransportEvents & { sctpstatechange: [SctpState] }
> {
	get type(): 'pipe';
	get tuple(): TransportTuple;
	get sctpParameters(): SctpParameters | undefined;
	get sctpState(): SctpState | undefined;
	get srtpParameters(): SrtpParameters | undefined;
	connect(params: { ip: string; port: number; srtpParameters?: SrtpParameters }): Promise<void>;
}

export type PipeToRouterOptions = {
	producerId?: string;
	dataProducerId?: string;
	router: Router;
	listenInfo?: TransportListenInfo;
	/** @deprecated Use listenInfo. */
	listenIp?: TransportListenIp | string;
	/** Default true. */
	enableSctp?: boolean;
	numSctpStreams?: NumSctpStreams;
	/** Default false. */
	enableRtx?: boolean;
	/** Default false. */
	enableSrtp?: boolean;
};

export type PipeToRouterResult = {
	pipeConsumer?: Consumer;
	pipeProducer?: Producer;
	pipeDataConsumer?: DataConsumer;
	pipeDataProducer?: DataProducer;
};

// ---------------------------------------------------------------------------------------------
// RtpObservers

export type RtpObserverType = 'audiolevel' | 'activespeaker';
export type AudioLevelObserverOptions<AudioLevelObserverAppData extends AppData = AppData> = {
	/** Default 1. */
	maxEntries?: number;
	/** dBov, -127..0, default -80. */
	threshold?: number;
	/** ms, default 1000 (250..5000). */
	interval?: number;
	appData?: AudioLevelObserverAppData;
};
export type ActiveSpeakerObserverOptions<ActiveSpeakerObserverAppData extends AppData = AppData> = {
	/** ms, default 300 (100..5000). */
	interval?: number;
	appData?: ActiveSpeakerObserverAppData;
};
export type AudioLevelObserverVolume = { producer: Producer; volume: number };
export type ActiveSpeakerObserverDominantSpeaker = { producer: Producer };
export type RtpObserverObserverEvents = { close: []; pause: []; resume: []; addproducer: [Producer]; removeproducer: [Producer] };

export declare class RtpObserver<
	RtpObserverAppData extends AppData = AppData,
	Events extends EventListenerArgs = { routerclose: [] },
	ObserverEvents extends EventListenerArgs = RtpObserverObserverEvents,
> extends EnhancedEventEmitter<Events> {
	protected constructor();
	get id(): string;
	get closed(): boolean;
	get type(): RtpObserverType;
	get paused(): boolean;
	get appData(): RtpObserverAppData;
	set appData(appData: RtpObserverAppData);
	get observer(): EnhancedEventEmitter<ObserverEvents>;
	close(): void;
	pause(): Promise<void>;
	resume(): Promise<void>;
	addProducer(options: { producerId: string }): Promise<void>;
	removeProducer(options: { producerId: string }): Promise<void>;
}

export declare class AudioLevelObserver<AudioLevelObserverAppData extends AppData = AppData> extends RtpObserver<
	AudioLevelObserverAppData,
	{ routerclose: []; volumes: [AudioLevelObserverVolume[]]; silence: [] },
	RtpObserverObserverEvents & { volumes: [AudioLevelObserverVolume[]]; silence: [] }
> {}

export declare class ActiveSpeakerObserver<ActiveSpeakerObserverAppData extends AppData = AppData> extends RtpObserver<
	ActiveSpeakerObserverAppData,
	{ routerclose: []; dominantspeaker: [ActiveSpeakerObserverDominantSpeaker] },
	RtpObserverObserverEvents & { dominantspeaker: [ActiveSpeakerObserverDominantSpeaker] }
> {}

// ---------------------------------------------------------------------------------------------
// DirectTransport, DataProducer, DataConsumer

export type DirectTransportOptions<DirectTransportAppData extends AppData = AppData> = {
	/** Largest data message, default 262144. */
	maxMessageSize?: number;
	appData?: DirectTransportAppData;
};

export type DirectTransportEvents = TransportEvents & { rtcp: [Buffer] };

export declare class DirectTransport<DirectTransportAppData extends AppData = AppData> extends Transport<
	DirectTransportAppData,
	DirectTransportEvents
> {
	get type(): 'direct';
	/** Feeds an RTCP packet from the application into the transport. */
	sendRtcp(rtcpPacket: Buffer): void;
	/** Rejects with UnsupportedError, as mediasoup's DirectTransport. */
	setMaxIncomingBitrate(bitrate: number): Promise<void>;
	/** Rejects with UnsupportedError. */
	setMinIncomingBitrate(bitrate: number): Promise<void>;
}

export type SctpStreamParameters = {
	streamId: number;
	ordered?: boolean;
	maxPacketLifeTime?: number;
	maxRetransmits?: number;
};

export type DataProducerType = 'sctp' | 'direct';
export type DataConsumerType = 'sctp' | 'direct';

export type DataProducerOptions<DataProducerAppData extends AppData = AppData> = {
	id?: string;
	/** Required except on a DirectTransport. */
	sctpStreamParameters?: SctpStreamParameters;
	label?: string;
	protocol?: string;
	paused?: boolean;
	appData?: DataProducerAppData;
};

export type DataProducerStat = {
	type: string;
	timestamp: number;
	label: string;
	protocol: string;
	messagesReceived: number;
	bytesReceived: number;
};

export type DataProducerEvents = ListenerError & { transportclose: [] };
export type DataProducerObserverEvents = { close: []; pause: []; resume: [] };

export declare class DataProducer<DataProducerAppData extends AppData = AppData> extends EnhancedEventEmitter<DataProducerEvents> {
	protected constructor();
	get id(): string;
	get closed(): boolean;
	get type(): DataProducerType;
	get sctpStreamParameters(): SctpStreamParameters | undefined;
	get label(): string;
	get protocol(): string;
	get paused(): boolean;
	get appData(): DataProducerAppData;
	set appData(appData: DataProducerAppData);
	get observer(): EnhancedEventEmitter<DataProducerObserverEvents>;
	close(): void;
	dump(): Promise<any>;
	getStats(): Promise<DataProducerStat[]>;
	pause(): Promise<void>;
	resume(): Promise<void>;
	/** DataProducers of a DirectTransport only. */
	send(message: string | Buffer, ppid?: number, subchannels?: number[], requiredSubchannel?: number): void;
}

export type DataConsumerOptions<DataConsumerAppData extends AppData = AppData> = {
	dataProducerId: string;
	ordered?: boolean;
	maxPacketLifeTime?: number;
	maxRetransmits?: number;
	paused?: boolean;
	subchannels?: number[];
	appData?: DataConsumerAppData;
};

export type DataConsumerStat = {
	type: string;
	timestamp: number;
	label: string;
	protocol: string;
	messagesSent: number;
	bytesSent: number;
	bufferedAmount: number;
};

export type DataConsumerEvents = ListenerError & {
	transportclose: [];
	dataproducerclose: [];
	dataproducerpause: [];
	dataproducerresume: [];
	message: [Buffer, number];
	sctpsendbufferfull: [];
	bufferedamountlow: [number];
};
export type DataConsumerObserverEvents = { close: []; pause: []; resume: [] };

export declare class DataConsumer<DataConsumerAppData extends AppData = AppData> extends EnhancedEventEmitter<DataConsumerEvents> {
	protected constructor();
	get id(): string;
	get dataProducerId(): string;
	get closed(): boolean;
	get type(): DataConsumerType;
	get sctpStreamParameters(): SctpStreamParameters | undefined;
	get label(): string;
	get protocol(): string;
	get paused(): boolean;
	get dataProducerPaused(): boolean;
	get subchannels(): number[];
	get appData(): DataConsumerAppData;
	set appData(appData: DataConsumerAppData);
	get observer(): EnhancedEventEmitter<DataConsumerObserverEvents>;
	close(): void;
	dump(): Promise<any>;
	getStats(): Promise<DataConsumerStat[]>;
	pause(): Promise<void>;
	resume(): Promise<void>;
	setBufferedAmountLowThreshold(threshold: number): Promise<void>;
	getBufferedAmount(): Promise<number>;
	/** DataConsumers of type 'sctp' only: a message straight to the remote. */
	send(message: string | Buffer, ppid?: number): Promise<void>;
	setSubchannels(subchannels: number[]): Promise<void>;
	addSubchannel(subchannel: number): Promise<void>;
	removeSubchannel(subchannel: number): Promise<void>;
}

export type PlainTransportOptions<PlainTransportAppData extends AppData = AppData> = {
	listenInfo?: TransportListenInfo;
	rtcpListenInfo?: TransportListenInfo;
	/** @deprecated Use listenInfo. */
	listenIp?: TransportListenIp | string;
	/** @deprecated Use listenInfo.port. */
	port?: number;
	/** Default true. */
	rtcpMux?: boolean;
	/** Default false. */
	comedia?: boolean;
	/** SCTP data channels over the transport's UDP (starts at connect()). */
	enableSctp?: boolean;
	/** SRTP with keys exchanged as srtpParameters. */
	enableSrtp?: boolean;
	/** Default AES_CM_128_HMAC_SHA1_80. */
	srtpCryptoSuite?: string;
	numSctpStreams?: { OS: number; MIS: number };
	maxSctpMessageSize?: number;
	sctpSendBufferSize?: number;
	appData?: PlainTransportAppData;
};

export type PlainTransportConnectParameters = {
	ip?: string;
	port?: number;
	rtcpPort?: number;
	srtpParameters?: unknown;
};

export type PlainTransportDump = BaseTransportDump & {
	rtcpMux: boolean;
	comedia: boolean;
	tuple: TransportTuple;
	rtcpTuple?: TransportTuple;
};

export type PlainTransportStat = BaseTransportStats & {
	type: 'plain-rtp-transport';
	rtcpMux: boolean;
	comedia: boolean;
	tuple: TransportTuple;
	rtcpTuple?: TransportTuple;
};

/** What a PlainTransport emits both itself and on its observer. */
type PlainTransportOwnEvents = { tuple: [TransportTuple]; rtcptuple: [TransportTuple]; sctpstatechange: [string] };
export type PlainTransportEvents = TransportEvents & PlainTransportOwnEvents;
export type PlainTransportObserverEvents = TransportObserverEvents & PlainTransportOwnEvents;
export type PlainTransportObserver = EnhancedEventEmitter<PlainTransportObserverEvents>;

export declare class PlainTransport<PlainTransportAppData extends AppData = AppData> extends Transport<
	PlainTransportAppData,
	PlainTransportEvents,
	PlainTransportObserverEvents
> {
	private constructor();
	get type(): 'plain';
	/** The RTP tuple; the remote is filled after connect() or, with comedia, the first packet. */
	get tuple(): TransportTuple;
	get rtcpTuple(): TransportTuple | undefined;
	get rtcpMux(): boolean;
	get comedia(): boolean;
	/** Set when created with enableSctp. */
	get sctpParameters(): SctpParameters | undefined;
	get sctpState(): SctpState | undefined;
	/** Set when created with enableSrtp. */
	get srtpParameters(): SrtpParameters | undefined;
	connect(params: PlainTransportConnectParameters): Promise<void>;
	dump(): Promise<PlainTransportDump>;
	getStats(): Promise<PlainTransportStat[]>;
}

// ---------------------------------------------------------------------------------------------
// WebRtcTransport

export type IceRole = 'controlled' | 'controlling';

export type IceState = 'new' | 'connected' | 'completed' | 'disconnected' | 'closed';

export type IceCandidateType = 'host';

export type IceCandidateTcpType = 'passive';

export type IceParameters = {
	usernameFragment: string;
	password: string;
	iceLite?: boolean;
};

export type IceCandidate = {
	foundation: string;
	priority: number;
	address: string;
	/** @deprecated Use address. */
	ip: string;
	protocol: TransportProtocol;
	port: number;
	type: IceCandidateType;
	tcpType?: IceCandidateTcpType;
};

export type DtlsRole = 'auto' | 'client' | 'server';

export type DtlsState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';

export type SctpState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';
export type SctpParameters = { port: number; OS: number; MIS: number; maxMessageSize: number };

export type FingerprintAlgorithm = 'sha-1' | 'sha-224' | 'sha-256' | 'sha-384' | 'sha-512';

export type DtlsFingerprint = { algorithm: FingerprintAlgorithm; value: string };

export type DtlsParameters = { role?: DtlsRole; fingerprints: DtlsFingerprint[] };

export type NumSctpStreams = { OS: number; MIS: number };

/** Where a WebRtcTransport listens: its own ports (listenInfos, or the legacy listenIps) or a WebRtcServer's. */
export type WebRtcTransportListen =
	| { listenInfos: TransportListenInfo[]; listenIps?: never; port?: never; webRtcServer?: never }
	| {
			/** @deprecated Use listenInfos. */
			listenIps: (TransportListenIp | string)[];
			/** @deprecated Use listenInfos[].port. */
			port?: number;
			listenInfos?: never;
			webRtcServer?: never;
	  }
	| { webRtcServer: WebRtcServer; listenInfos?: never; listenIps?: never; port?: never };

export type WebRtcTransportOptionsBase<WebRtcTransportAppData extends AppData = AppData> = {
	/** Default true. */
	enableUdp?: boolean;
	/** Default true with listenInfos or webRtcServer, false with listenIps. */
	enableTcp?: boolean;
	preferUdp?: boolean;
	preferTcp?: boolean;
	/** Seconds without ICE consent before 'disconnected' (default 30). */
	iceConsentTimeout?: number;
	initialAvailableOutgoingBitrate?: number;
	/** Accepted; data channels are not supported yet (sctpParameters stays undefined). */
	enableSctp?: boolean;
	numSctpStreams?: NumSctpStreams;
	maxSctpMessageSize?: number;
	sctpSendBufferSize?: number;
	appData?: WebRtcTransportAppData;
};

export type WebRtcTransportOptions<WebRtcTransportAppData extends AppData = AppData> =
	WebRtcTransportOptionsBase<WebRtcTransportAppData> & WebRtcTransportListen;

export type WebRtcTransportDump = BaseTransportDump & {
	iceRole: 'controlled';
	iceParameters: IceParameters;
	iceCandidates: IceCandidate[];
	iceState: IceState;
	iceSelectedTuple?: TransportTuple;
	dtlsParameters: DtlsParameters;
	dtlsState: DtlsState;
	dtlsRemoteCert?: string;
	srtpCryptoSuite?: string;
};

export type WebRtcTransportStat = BaseTransportStats & {
	type: 'webrtc-transport';
	iceRole: string;
	iceState: IceState;
	iceSelectedTuple?: TransportTuple;
	dtlsState: DtlsState;
};

/** What a WebRtcTransport emits both itself and on its observer. */
type WebRtcTransportOwnEvents = {
	icestatechange: [IceState];
	iceselectedtuplechange: [TransportTuple];
	dtlsstatechange: [DtlsState];
	sctpstatechange: [SctpState];
};
export type WebRtcTransportEvents = TransportEvents & WebRtcTransportOwnEvents;
export type WebRtcTransportObserverEvents = TransportObserverEvents & WebRtcTransportOwnEvents;
export type WebRtcTransportObserver = EnhancedEventEmitter<WebRtcTransportObserverEvents>;

export declare class WebRtcTransport<WebRtcTransportAppData extends AppData = AppData> extends Transport<
	WebRtcTransportAppData,
	WebRtcTransportEvents,
	WebRtcTransportObserverEvents
> {
	private constructor();
	get type(): 'webrtc';
	/** Always 'controlled': the engine is ICE-lite. */
	get iceRole(): 'controlled';
	/** Current local ICE parameters (new ones after restartIce()). */
	get iceParameters(): IceParameters;
	get iceCandidates(): IceCandidate[];
	/** 'closed' once the transport is closed. */
	get iceState(): IceState;
	get iceSelectedTuple(): TransportTuple | undefined;
	/** `role` is 'auto' until connect(), then the role taken. */
	get dtlsParameters(): DtlsParameters;
	/** 'closed' once the transport is closed. */
	get dtlsState(): DtlsState;
	/** The remote certificate (PEM) once DTLS connected. */
	get dtlsRemoteCert(): string | undefined;
	/** Set when created with enableSctp (data channels). */
	get sctpParameters(): SctpParameters | undefined;
	get sctpState(): SctpState | undefined;
	/** Gives the remote's DTLS parameters; rejects with TypeError on bad input, and when called twice. */
	connect(params: { dtlsParameters: DtlsParameters }): Promise<void>;
	/** New local ICE credentials; the old ones keep working until the remote uses the new ones. */
	restartIce(): Promise<IceParameters>;
	dump(): Promise<WebRtcTransportDump>;
	getStats(): Promise<WebRtcTransportStat[]>;
}

// ---------------------------------------------------------------------------------------------
// WebRtcServer

export type WebRtcServerOptions<WebRtcServerAppData extends AppData = AppData> = {
	listenInfos: TransportListenInfo[];
	appData?: WebRtcServerAppData;
};

/** @deprecated Use TransportListenInfo. */
export type WebRtcServerListenInfo = TransportListenInfo;

export type WebRtcServerDump = {
	id: string;
	udpSockets: { ip: string; port: number }[];
	tcpServers: { ip: string; port: number }[];
	webRtcTransportIds: string[];
	localIceUsernameFragments: { localIceUsernameFragment: string; webRtcTransportId: string }[];
	tupleHashes: { tupleHash: string; webRtcTransportId: string }[];
};

export type WebRtcServerEvents = ListenerError & { workerclose: [] };
export type WebRtcServerObserverEvents = {
	close: [];
	webrtctransporthandled: [WebRtcTransport];
	webrtctransportunhandled: [WebRtcTransport];
};
export type WebRtcServerObserver = EnhancedEventEmitter<WebRtcServerObserverEvents>;

export declare class WebRtcServer<WebRtcServerAppData extends AppData = AppData> extends EnhancedEventEmitter<WebRtcServerEvents> {
	private constructor();
	get id(): string;
	get closed(): boolean;
	get appData(): WebRtcServerAppData;
	set appData(appData: WebRtcServerAppData);
	get observer(): WebRtcServerObserver;
	/** @private Just for testing purposes. */
	get webRtcTransportsForTesting(): Map<string, WebRtcTransport>;
	/** Closes the server; the transports using it emit 'listenserverclose'. */
	close(): void;
	dump(): Promise<WebRtcServerDump>;
}

// ---------------------------------------------------------------------------------------------
// Producer

export type ProducerType = 'simple' | 'simulcast' | 'svc';

export type ProducerOptions<ProducerAppData extends AppData = AppData> = {
	id?: string;
	kind: MediaKind;
	rtpParameters: RtpParameters;
	paused?: boolean;
	keyFrameRequestDelay?: number;
	enableMediasoupPacketIdHeaderExtension?: boolean;
	appData?: ProducerAppData;
};

export type ProducerScore = { encodingIdx: number; ssrc: number; rid?: string; score: number };

export type ProducerTraceEventType = 'rtp' | 'keyframe' | 'nack' | 'pli' | 'fir' | 'sr';

/** What the stats of a received (producer) and a sent (consumer) RTP stream share. */
type BaseRtpStreamStats = {
	type: string;
	timestamp: number;
	ssrc: number;
	rtxSsrc?: number;
	rid?: string;
	kind: string;
	mimeType: string;
	packetsLost: number;
	fractionLost: number;
	packetsDiscarded: number;
	packetsRetransmitted: number;
	packetsRepaired: number;
	nackCount: number;
	nackPacketCount: number;
	pliCount: number;
	firCount: number;
	score: number;
	packetCount: number;
	byteCount: number;
	bitrate: number;
};

export type RtpStreamRecvStats = BaseRtpStreamStats & {
	jitter: number;
	bitrateByLayer?: any;
};

export type ProducerStat = RtpStreamRecvStats;

export type ProducerDump = {
	id: string;
	kind: MediaKind;
	type: ProducerType;
	rtpParameters: RtpParameters;
	rtpMapping: any;
	rtpStreams: any[];
	traceEventTypes: string[];
	paused: boolean;
};

export type ProducerEvents = ListenerError & {
	transportclose: [];
	score: [ProducerScore[]];
	videoorientationchange: [unknown];
	trace: [TraceEventData];
};
export type ProducerObserverEvents = {
	close: [];
	pause: [];
	resume: [];
	score: [ProducerScore[]];
	videoorientationchange: [unknown];
	trace: [TraceEventData];
};
export type ProducerObserver = EnhancedEventEmitter<ProducerObserverEvents>;

export declare class Producer<ProducerAppData extends AppData = AppData> extends EnhancedEventEmitter<ProducerEvents> {
	private constructor();
	get id(): string;
	get closed(): boolean;
	get kind(): MediaKind;
	get rtpParameters(): RtpParameters;
	get type(): ProducerType;
	get paused(): boolean;
	get score(): ProducerScore[];
	get appData(): ProducerAppData;
	set appData(appData: ProducerAppData);
	get observer(): ProducerObserver;
	close(): void;
	dump(): Promise<ProducerDump>;
	getStats(): Promise<ProducerStat[]>;
	pause(): Promise<void>;
	resume(): Promise<void>;
	enableTraceEvent(types?: ProducerTraceEventType[]): Promise<void>;
	/** Producers of a DirectTransport only: injects an RTP packet. */
	send(rtpPacket: Buffer): void;
}

// ---------------------------------------------------------------------------------------------
// Consumer

export type ConsumerType = 'simple' | 'simulcast' | 'svc' | 'pipe';

export type ConsumerLayers = { spatialLayer: number; temporalLayer?: number };

export type ConsumerScore = { score: number; producerScore: number; producerScores: number[] };

export type ConsumerOptions<ConsumerAppData extends AppData = AppData> = {
	producerId: string;
	rtpCapabilities: RtpCapabilities;
	paused?: boolean;
	mid?: string;
	preferredLayers?: ConsumerLayers;
	ignoreDtx?: boolean;
	enableRtx?: boolean;
	pipe?: boolean;
	appData?: ConsumerAppData;
};

export type ConsumerTraceEventType = 'rtp' | 'keyframe' | 'nack' | 'pli' | 'fir';

export type RtpStreamSendStats = BaseRtpStreamStats & {
	roundTripTime?: number;
	rtxPacketsDiscarded?: number;
};

export type ConsumerStat = RtpStreamSendStats;

export type ConsumerDump = {
	id: string;
	producerId: string;
	kind: MediaKind;
	type: ConsumerType;
	rtpParameters: RtpParameters;
	consumableRtpEncodings: RtpEncodingParameters[];
	supportedCodecPayloadTypes: number[];
	traceEventTypes: string[];
	paused: boolean;
	producerPaused: boolean;
	priority: number;
	preferredLayers?: ConsumerLayers | null;
};

export type ConsumerEvents = ListenerError & {
	transportclose: [];
	producerclose: [];
	producerpause: [];
	producerresume: [];
	score: [ConsumerScore];
	layerschange: [ConsumerLayers?];
	trace: [TraceEventData];
	rtp: [Buffer];
};
export type ConsumerObserverEvents = {
	close: [];
	pause: [];
	resume: [];
	score: [ConsumerScore];
	layerschange: [ConsumerLayers?];
	trace: [TraceEventData];
};
export type ConsumerObserver = EnhancedEventEmitter<ConsumerObserverEvents>;

export declare class Consumer<ConsumerAppData extends AppData = AppData> extends EnhancedEventEmitter<ConsumerEvents> {
	private constructor();
	get id(): string;
	get producerId(): string;
	get closed(): boolean;
	get kind(): MediaKind;
	get rtpParameters(): RtpParameters;
	get type(): ConsumerType;
	get paused(): boolean;
	get producerPaused(): boolean;
	get priority(): number;
	get score(): ConsumerScore;
	get preferredLayers(): ConsumerLayers | undefined;
	/** Always undefined for now: the engine does not report active layers yet. */
	get currentLayers(): ConsumerLayers | undefined;
	get appData(): ConsumerAppData;
	set appData(appData: ConsumerAppData);
	get observer(): ConsumerObserver;
	close(): void;
	dump(): Promise<ConsumerDump>;
	/** The consumer's outbound stream, then the producer stream it forwards. */
	getStats(): Promise<(RtpStreamSendStats | RtpStreamRecvStats)[]>;
	pause(): Promise<void>;
	resume(): Promise<void>;
	setPreferredLayers(preferredLayers: ConsumerLayers): Promise<void>;
	setPriority(priority: number): Promise<void>;
	unsetPriority(): Promise<void>;
	requestKeyFrame(): Promise<void>;
	enableTraceEvent(types?: ConsumerTraceEventType[]): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Top level

export type ObserverEvents = { newworker: [Worker] };
export type Observer = EnhancedEventEmitter<ObserverEvents>;

export type LogEventListeners = {
	ondebug?: (namespace: string, log: string) => void;
	onwarn?: (namespace: string, log: string) => void;
	onerror?: (namespace: string, log: string, error?: Error) => void;
};

/** The libsfu version. */
export declare const version: string;

/** Emits 'newworker'. */
export declare const observer: Observer;

/** Path of the native addon (there is no separate worker binary). */
export declare const workerBin: string;

/** Routes libsfu's JS-side logs; with no argument, silences them. */
export declare function setLogEventListeners(listeners?: LogEventListeners): void;

export declare function createWorker<WorkerAppData extends AppData = AppData>(
	settings?: WorkerSettings<WorkerAppData>,
): Promise<Worker<WorkerAppData>>;

/** A fresh copy of every codec and header extension the engine supports. */
export declare function getSupportedRtpCapabilities(): RouterRtpCapabilities;

export declare function parseScalabilityMode(scalabilityMode?: string): ScalabilityMode;

export declare const errors: {
	UnsupportedError: typeof UnsupportedError;
	InvalidStateError: typeof InvalidStateError;
	NotFoundError: typeof NotFoundError;
	WorkerClosedError: typeof WorkerClosedError;
};

export declare const extras: {
	EnhancedEventEmitter: typeof EnhancedEventEmitter;
	enhancedOnce: typeof enhancedOnce;
};

/** mediasoup's `types`: every class, error class and type above. */
export * as types from './index';
