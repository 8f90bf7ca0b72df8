/*
 * libsfu C host example: one RTP sender, two RTP receivers, all in this program.
 *
 *   this program --RTP/UDP--> [producer plain transport (comedia)] --router--> [consumer A transport] --> socket A
 *                                                                         \--> [consumer B transport] --> socket B
 *
 * It creates a worker and a router (opus + VP8), a comedia plain transport that learns our
 * sending address from the first packet, and two plain transports connected to UDP sockets the
 * program opens. It produces VP8 with a fixed SSRC, consumes it on both transports, sends RTP
 * itself and checks what each socket receives: the SSRC and payload type announced in the
 * consumer's rtpParameters, consecutive sequence numbers, timestamps advancing like the source's,
 * payloads intact. Then it pauses consumer B (nothing may arrive there while A keeps receiving)
 * and resumes it (sequence numbers continue where they stopped).
 *
 * Exits 0 and prints a summary on success. Build: `make` (see Makefile) or CMake.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sfu.h"

#define PRODUCER_SSRC 22222222u
#define PRODUCER_PT 96 /* deliberately not the router's VP8 payload type */
#define TS_STEP 3000u  /* 30 fps at 90 kHz */
#define PAYLOAD_MAX 256

/* ---- error handling ---- */

static void die_sfu(const char *what, sfu_result r) {
    char msg[512];
    sfu_last_error_message(msg, sizeof msg, NULL);
    fprintf(stderr, "FAIL: %s: %s: %s\n", what, sfu_result_name((int)r), msg);
    exit(1);
}

#define CHECK(call)                          \
    do {                                     \
        sfu_result r_ = (call);              \
        if (r_ != SFU_OK) die_sfu(#call, r_); \
    } while (0)

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* ---- a minimal JSON field reader: libsfu's JSON is compact, so "key":value is enough ---- */

/* Position of the value of the first "key" at or after `from`, or NULL. */
static const char *json_find(const char *from, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(from, pat);
    return p ? p + strlen(pat) : NULL;
}

static long json_long(const char *from, const char *key) {
    const char *p = json_find(from, key);
    if (!p) fail("JSON has no \"%s\"", key);
    return strtol(p, NULL, 10);
}

static void json_str(const char *from, const char *key, char *out, size_t len) {
    const char *p = json_find(from, key);
    if (!p || *p != '"') fail("JSON has no string \"%s\"", key);
    p++;
    size_t n = 0;
    while (p[n] && p[n] != '"' && n + 1 < len) n++;
    memcpy(out, p, n);
    out[n] = 0;
}

/* ---- events (delivered on the worker thread: only count them here) ---- */

static atomic_int tuple_events;
static atomic_int closed_events;

static void on_event(const char *event_json, void *user_data) {
    (void)user_data;
    if (strstr(event_json, "\"event\":\"tuple\"")) atomic_fetch_add(&tuple_events, 1);
    if (strstr(event_json, "\"event\":\"closed\"")) atomic_fetch_add(&closed_events, 1);
}

/* ---- UDP ---- */

static int udp_open(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) fail("socket: %s", strerror(errno));
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) fail("bind: %s", strerror(errno));
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- RTP ---- */

struct rtp {
    uint8_t pt;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    const uint8_t *payload;
    size_t payload_len;
};

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

/* The payload of source packet i: a VP8 payload descriptor, then recognizable bytes. */
static size_t make_payload(int i, uint8_t *out) {
    size_t n = 0;
    out[n++] = 0x10; /* VP8 descriptor: S=1, partition 0 */
    n += (size_t)snprintf((char *)out + n, PAYLOAD_MAX - n, "libsfu example packet %04d ", i);
    for (int k = 0; k < 40 + i % 17; k++) out[n++] = (uint8_t)(i * 7 + k);
    return n;
}

static void send_rtp(int fd, const struct sockaddr_in *to, int i, uint16_t seq, uint32_t ts) {
    uint8_t pkt[12 + PAYLOAD_MAX];
    pkt[0] = 0x80;
    pkt[1] = (i % 10 == 9 ? 0x80 : 0) | PRODUCER_PT; /* marker on every 10th */
    pkt[2] = seq >> 8;
    pkt[3] = seq & 0xff;
    put_be32(pkt + 4, ts);
    put_be32(pkt + 8, PRODUCER_SSRC);
    size_t n = 12 + make_payload(i, pkt + 12);
    if (sendto(fd, pkt, n, 0, (const struct sockaddr *)to, sizeof *to) != (ssize_t)n)
        fail("sendto: %s", strerror(errno));
    sleep_ms(1); /* a gentle pace; loopback would take a burst just as well */
}

static int is_rtcp(const uint8_t *b, size_t n) { return n >= 2 && b[1] >= 192 && b[1] <= 223; }

/* Waits up to timeout_ms for the next RTP packet on fd (RTCP is skipped). 1: got one, 0: none. */
static int recv_rtp(int fd, int timeout_ms, uint8_t *buf, size_t cap, struct rtp *out) {
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) return 0;
        ssize_t n = recv(fd, buf, cap, 0);
        if (n < 12 || is_rtcp(buf, (size_t)n)) continue;
        if ((buf[0] >> 6) != 2) fail("received a packet that is not RTP v2 (first byte 0x%02x, %zd bytes)", buf[0], n);
        size_t off = 12 + 4 * (size_t)(buf[0] & 0x0f); /* CSRCs */
        if (buf[0] & 0x10) {                          /* header extension: 4-byte header + words */
            if ((size_t)n < off + 4) fail("truncated header extension (%zd bytes)", n);
            off += 4 + 4 * (size_t)(buf[off + 2] << 8 | buf[off + 3]);
        }
        size_t end = (size_t)n;
        if (buf[0] & 0x20) end -= buf[n - 1]; /* padding */
        if (off > end) fail("bad RTP lengths: header %zu, end %zu", off, end);
        out->pt = buf[1] & 0x7f;
        out->seq = (uint16_t)(buf[2] << 8 | buf[3]);
        out->ts = be32(buf + 4);
        out->ssrc = be32(buf + 8);
        out->payload = buf + off;
        out->payload_len = end - off;
        return 1;
    }
}

/* ---- one receiving endpoint: a consumer and the socket its transport sends to ---- */

struct receiver {
    const char *name;
    int fd;
    sfu_plain_transport *transport;
    sfu_consumer *consumer;
    uint32_t ssrc; /* announced in consumer.rtpParameters */
    int pt;
    int received;
    uint16_t last_seq;
    uint32_t last_ts;
};

static void receiver_open(struct receiver *r, const char *name, sfu_router *router, const char *producer_id, const char *caps) {
    char json[256];
    uint16_t port;
    r->name = name;
    r->fd = udp_open(&port);
    CHECK(sfu_router_create_plain_transport(router, "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\"},\"rtcpMux\":true,\"comedia\":false}",
                                            &r->transport));
    snprintf(json, sizeof json, "{\"ip\":\"127.0.0.1\",\"port\":%u}", port);
    CHECK(sfu_plain_transport_connect(r->transport, json));

    size_t len = strlen(caps) + strlen(producer_id) + 64;
    char *options = malloc(len);
    snprintf(options, len, "{\"producerId\":\"%s\",\"rtpCapabilities\":%s}", producer_id, caps);
    CHECK(sfu_plain_transport_consume(r->transport, options, &r->consumer));
    free(options);

    char *params;
    CHECK(sfu_consumer_rtp_parameters(r->consumer, &params));
    r->pt = (int)json_long(json_find(params, "codecs"), "payloadType");
    r->ssrc = (uint32_t)json_long(json_find(params, "encodings"), "ssrc");
    char mime[32];
    json_str(json_find(params, "codecs"), "mimeType", mime, sizeof mime);
    printf("%s: socket 127.0.0.1:%u, consumer %s, %s, ssrc %u, payload type %d\n", name, port, sfu_consumer_id(r->consumer), mime,
           r->ssrc, r->pt);
    sfu_string_free(params);
}

/* Expects source packets [first, first + count) on r, checked against the consumer's parameters. */
static void expect_packets(struct receiver *r, int first, int count) {
    uint8_t buf[2048];
    uint8_t want[PAYLOAD_MAX];
    for (int i = first; i < first + count; i++) {
        struct rtp p;
        if (!recv_rtp(r->fd, 2000, buf, sizeof buf, &p)) fail("%s: source packet %d never arrived (got %d)", r->name, i, r->received);
        if (p.ssrc != r->ssrc) fail("%s: ssrc %u, rtpParameters announce %u", r->name, p.ssrc, r->ssrc);
        if (p.pt != r->pt) fail("%s: payload type %d, rtpParameters announce %d", r->name, p.pt, r->pt);
        if (r->received > 0 && p.seq != (uint16_t)(r->last_seq + 1))
            fail("%s: sequence number %u after %u (not consecutive)", r->name, p.seq, r->last_seq);
        size_t want_len = make_payload(i, want);
        if (p.payload_len != want_len || memcmp(p.payload, want, want_len) != 0)
            fail("%s: payload of source packet %d altered (length %zu, expected %zu)", r->name, i, p.payload_len, want_len);
        if (r->received > 0 && p.ts - r->last_ts != TS_STEP)
            fail("%s: timestamp advanced by %u, the source's by %u", r->name, p.ts - r->last_ts, TS_STEP);
        r->last_seq = p.seq;
        r->last_ts = p.ts;
        r->received++;
    }
}

static void expect_silence(struct receiver *r, int ms) {
    uint8_t buf[2048];
    struct rtp p;
    if (recv_rtp(r->fd, ms, buf, sizeof buf, &p)) fail("%s: received seq %u while paused", r->name, p.seq);
}

int main(void) {
    printf("libsfu %s\n", sfu_version());

    sfu_worker *worker;
    CHECK(sfu_worker_new("{\"logLevel\":\"warn\",\"rtcMinPort\":40000,\"rtcMaxPort\":49999}", &worker));
    CHECK(sfu_worker_set_event_callback(worker, on_event, NULL));

    sfu_router *router;
    CHECK(sfu_worker_create_router(worker,
                                   "{\"mediaCodecs\":["
                                   "{\"kind\":\"audio\",\"mimeType\":\"audio/opus\",\"clockRate\":48000,\"channels\":2},"
                                   "{\"kind\":\"video\",\"mimeType\":\"video/VP8\",\"clockRate\":90000}]}",
                                   &router));
    char *caps;
    CHECK(sfu_router_rtp_capabilities(router, &caps));

    /* The sending side: a comedia transport learns our address from the first packet. */
    sfu_plain_transport *send_transport;
    CHECK(sfu_router_create_plain_transport(router, "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\"},\"rtcpMux\":true,\"comedia\":true}",
                                            &send_transport));
    char *tuple;
    CHECK(sfu_plain_transport_tuple(send_transport, &tuple));
    char ip[64];
    json_str(tuple, "localIp", ip, sizeof ip);
    struct sockaddr_in to = {0};
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)json_long(tuple, "localPort"));
    if (inet_pton(AF_INET, ip, &to.sin_addr) != 1) fail("bad localIp %s", ip);
    sfu_string_free(tuple);
    uint16_t send_port;
    int send_fd = udp_open(&send_port);
    printf("producer transport %s listens on %s:%u\n", sfu_plain_transport_id(send_transport), ip, ntohs(to.sin_port));

    char options[512];
    snprintf(options, sizeof options,
             "{\"kind\":\"video\",\"rtpParameters\":{\"codecs\":[{\"mimeType\":\"video/VP8\",\"payloadType\":%d,\"clockRate\":90000,"
             "\"rtcpFeedback\":[{\"type\":\"nack\"},{\"type\":\"nack\",\"parameter\":\"pli\"}]}],"
             "\"encodings\":[{\"ssrc\":%u}]}}",
             PRODUCER_PT, PRODUCER_SSRC);
    sfu_producer *producer;
    CHECK(sfu_plain_transport_produce(send_transport, options, &producer));
    printf("producer %s (%s, %s), ssrc %u, payload type %d\n", sfu_producer_id(producer), sfu_producer_kind(producer),
           sfu_producer_type(producer), PRODUCER_SSRC, PRODUCER_PT);

    bool can = false;
    CHECK(sfu_router_can_consume(router, sfu_producer_id(producer), caps, &can));
    if (!can) fail("router cannot consume the producer with its own capabilities");

    struct receiver a = {0}, b = {0};
    receiver_open(&a, "consumer A", router, sfu_producer_id(producer), caps);
    receiver_open(&b, "consumer B", router, sfu_producer_id(producer), caps);
    sfu_string_free(caps);

    /* Phase 1: both consumers receive. */
    int sent = 0;
    uint16_t seq = 4000;
    uint32_t ts = 123456;
    for (int k = 0; k < 20; k++, sent++) send_rtp(send_fd, &to, sent, seq++, ts += TS_STEP);
    expect_packets(&a, 0, 20);
    expect_packets(&b, 0, 20);

    /* Phase 2: B paused, A keeps receiving, B gets nothing. */
    CHECK(sfu_consumer_pause(b.consumer));
    if (!sfu_consumer_paused(b.consumer)) fail("consumer B does not report paused");
    uint16_t b_seq_before_pause = b.last_seq;
    for (int k = 0; k < 10; k++, sent++) send_rtp(send_fd, &to, sent, seq++, ts += TS_STEP);
    expect_packets(&a, 20, 10);
    expect_silence(&b, 300);

    /* Phase 3: B resumed; its sequence numbers continue where they stopped. */
    CHECK(sfu_consumer_resume(b.consumer));
    b.received = 0; /* the first packet after resume is checked against the pre-pause seq below */
    for (int k = 0; k < 10; k++, sent++) send_rtp(send_fd, &to, sent, seq++, ts += TS_STEP);
    expect_packets(&a, 30, 10);
    {
        uint8_t buf[2048];
        struct rtp p;
        if (!recv_rtp(b.fd, 2000, buf, sizeof buf, &p)) fail("%s: nothing after resume", b.name);
        if (p.seq != (uint16_t)(b_seq_before_pause + 1))
            fail("%s: first seq after resume %u, expected %u", b.name, p.seq, (uint16_t)(b_seq_before_pause + 1));
        b.last_seq = p.seq;
        b.last_ts = p.ts;
        b.received = 1;
        expect_packets(&b, 31, 9);
    }

    /* The comedia transport learnt our address: tuple event and tuple.remotePort. */
    CHECK(sfu_plain_transport_tuple(send_transport, &tuple));
    long remote_port = json_find(tuple, "remotePort") ? json_long(tuple, "remotePort") : -1;
    sfu_string_free(tuple);
    if (remote_port != send_port) fail("producer transport tuple.remotePort %ld, our socket is %u", remote_port, send_port);
    if (atomic_load(&tuple_events) < 1) fail("no tuple event");

    char *stats;
    CHECK(sfu_producer_get_stats(producer, &stats));
    long producer_packets = json_long(stats, "packetCount");
    sfu_string_free(stats);
    if (producer_packets != sent) fail("producer stats packetCount %ld, sent %d", producer_packets, sent);

    printf("sent %d RTP packets; consumer A received 40, consumer B received 30 (10 withheld while paused)\n", sent);
    printf("checked: ssrc and payload type as announced, consecutive sequence numbers (also across pause/resume), payloads intact\n");

    /* Free order does not matter: handles stay valid after their objects close. */
    sfu_worker_free(worker); /* closes everything; events are delivered before it returns */
    printf("events: %d tuple, %d closed\n", atomic_load(&tuple_events), atomic_load(&closed_events));
    if (atomic_load(&closed_events) < 8) fail("expected closed events for 8 objects, got %d", atomic_load(&closed_events));
    sfu_consumer_free(a.consumer);
    sfu_consumer_free(b.consumer);
    sfu_plain_transport_free(a.transport);
    sfu_plain_transport_free(b.transport);
    sfu_producer_free(producer);
    sfu_plain_transport_free(send_transport);
    sfu_router_free(router);
    close(a.fd);
    close(b.fd);
    close(send_fd);
    printf("OK\n");
    return 0;
}
