/*
 * libsfu C face: direct transports, data producers/consumers and audio observers.
 *
 * The application injects RTP through a direct transport's producer and a plain transport
 * consumer sends it to a UDP socket here; RTP a plain publisher (this program, over UDP) sends
 * reaches the application through the payload callback as a direct consumer's packets; direct
 * data messages (text, binary, subchannel-targeted) arrive with their PPIDs; an oversized
 * message is refused; an audio level observer reports `volumes` for injected audio with the
 * ssrc-audio-level extension. Every check prints on failure; the last line counts the checks.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sfu.h"

/* What the callbacks saw (written on the worker thread, read after waits under the lock). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char rtp_target[64];
static int rtp_count;
static uint8_t last_rtp[1500];
static size_t last_rtp_len;
static int rtcp_count;
static int message_count;
static char messages[8][64];
static uint32_t message_ppids[8];
static char message_targets[8][64];
static int volumes_events;
static char last_volumes[512];

static void on_payload(const char *target, sfu_payload_kind kind, const uint8_t *data, size_t len, uint32_t ppid, void *ud) {
    (void)ud;
    pthread_mutex_lock(&lock);
    if (kind == SFU_PAYLOAD_RTP) {
        snprintf(rtp_target, sizeof rtp_target, "%s", target);
        rtp_count++;
        last_rtp_len = len < sizeof last_rtp ? len : sizeof last_rtp;
        memcpy(last_rtp, data, last_rtp_len);
    } else if (kind == SFU_PAYLOAD_RTCP) {
        rtcp_count++;
    } else if (kind == SFU_PAYLOAD_MESSAGE && message_count < 8) {
        size_t n = len < 63 ? len : 63;
        memcpy(messages[message_count], data, n);
        messages[message_count][n] = 0;
        message_ppids[message_count] = ppid;
        snprintf(message_targets[message_count], 64, "%s", target);
        message_count++;
    }
    pthread_mutex_unlock(&lock);
}

static int socket_error_events = 0;
static char last_socket_error[1024];

static void on_event(const char *json, void *ud) {
    (void)ud;
    if (strstr(json, "\"event\":\"socketError\"")) {
        pthread_mutex_lock(&lock);
        socket_error_events++;
        snprintf(last_socket_error, sizeof last_socket_error, "%s", json);
        pthread_mutex_unlock(&lock);
    }
    if (strstr(json, "\"event\":\"volumes\"")) {
        pthread_mutex_lock(&lock);
        volumes_events++;
        snprintf(last_volumes, sizeof last_volumes, "%s", json);
        pthread_mutex_unlock(&lock);
    }
}

static int locked_int(const int *v) {
    pthread_mutex_lock(&lock);
    int x = *v;
    pthread_mutex_unlock(&lock);
    return x;
}

/* Waits up to `ms` for *counter >= want. */
static int wait_count(const int *counter, int want, long ms) {
    for (long t = 0; t < ms; t += 10) {
        if (locked_int(counter) >= want) return 1;
        sleep_ms(10);
    }
    return locked_int(counter) >= want;
}

/* An RTP packet (no CSRC); with `level` >= 0 a one-byte extension id 1 carrying it. */
static size_t rtp(uint8_t *out, uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, int level, const uint8_t *payload, size_t plen) {
    size_t n = 12;
    out[0] = level >= 0 ? 0x90 : 0x80;
    out[1] = pt;
    out[2] = seq >> 8, out[3] = seq & 0xff;
    out[4] = ts >> 24, out[5] = ts >> 16, out[6] = ts >> 8, out[7] = ts;
    out[8] = ssrc >> 24, out[9] = ssrc >> 16, out[10] = ssrc >> 8, out[11] = ssrc;
    if (level >= 0) {
        const uint8_t ext[8] = {0xbe, 0xde, 0x00, 0x01, 0x10, (uint8_t)(0x80 | level), 0, 0};
        memcpy(out + n, ext, 8);
        n += 8;
    }
    memcpy(out + n, payload, plen);
    return n + plen;
}

/* Offset of an RTP packet's payload (after CSRCs and the header extension the SFU may add). */
static size_t payload_offset(const uint8_t *p, size_t len) {
    size_t off = 12 + 4 * (p[0] & 0x0f);
    if ((p[0] & 0x10) && len >= off + 4) off += 4 + 4 * (size_t)((p[off + 2] << 8) | p[off + 3]);
    return off;
}

static int udp_socket(uint16_t *port) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    struct timeval tv = {0, 200000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
}

static uint16_t json_port(const char *json) {
    const char *p = strstr(json, "\"localPort\":");
    return p ? (uint16_t)atoi(p + 12) : 0;
}

#define OPUS(ssrc)                                                                                                                  \
    "{\"kind\":\"audio\",\"rtpParameters\":{\"codecs\":[{\"mimeType\":\"audio/opus\",\"payloadType\":111,\"clockRate\":48000,"     \
    "\"channels\":2}],\"headerExtensions\":[{\"uri\":\"urn:ietf:params:rtp-hdrext:ssrc-audio-level\",\"id\":1}],\"encodings\":[{\"ssrc\":" \
    #ssrc "}]}}"

/* Sends `count` opus packets (3-byte payload) through a DirectTransport producer, from sequence
   number `first_seq`, every `interval_ms`; with `level` >= 0 they carry that audio level. */
static void send_opus(sfu_producer *p, uint32_t ssrc, uint16_t first_seq, int count, int level, int interval_ms) {
    const uint8_t payload[3] = {0xf8, 0xff, 0xfe};
    uint8_t pkt[64];
    for (int i = 0; i < count; i++) {
        uint16_t seq = (uint16_t)(first_seq + i);
        size_t n = rtp(pkt, 111, seq, (uint32_t)(960 * seq), ssrc, level, payload, sizeof payload);
        sfu_producer_send(p, pkt, n);
        sleep_ms(interval_ms);
    }
}

int main(void) {
    verbose = getenv("VERBOSE") != NULL;
    sfu_worker *w = NULL;
    MUST(sfu_worker_new(NULL, &w));
    MUST(sfu_worker_set_payload_callback(w, on_payload, NULL));
    MUST(sfu_worker_set_event_callback(w, on_event, NULL));
    sfu_router *r = NULL;
    MUST(sfu_worker_create_router(w, "{\"mediaCodecs\":[{\"kind\":\"audio\",\"mimeType\":\"audio/opus\",\"clockRate\":48000,\"channels\":2}]}", &r));
    char *caps = NULL;
    MUST(sfu_router_rtp_capabilities(r, &caps));
    char consume_opts[8192];

    sfu_direct_transport *direct = NULL;
    MUST(sfu_router_create_direct_transport(r, "{\"maxMessageSize\":100}", &direct));
    EXPECT(SFU_TYPE_ERROR, "maxMessageSize", sfu_router_create_direct_transport(r, "{\"maxMessageSize\":0}", &(sfu_direct_transport *){NULL}));

    /* Application -> plain receiver. */
    sfu_producer *injected = NULL;
    MUST(sfu_direct_transport_produce(direct, OPUS(4444), &injected));
    uint16_t sink_port;
    int sink = udp_socket(&sink_port);
    sfu_plain_transport *out_t = NULL;
    MUST(sfu_router_create_plain_transport(r, "{\"listenInfo\":{\"ip\":\"127.0.0.1\"}}", &out_t));
    char connect[128];
    snprintf(connect, sizeof connect, "{\"ip\":\"127.0.0.1\",\"port\":%u}", sink_port);
    MUST(sfu_plain_transport_connect(out_t, connect));
    snprintf(consume_opts, sizeof consume_opts, "{\"producerId\":\"%s\",\"rtpCapabilities\":%s}", sfu_producer_id(injected), caps);
    sfu_consumer *plain_consumer = NULL;
    MUST(sfu_plain_transport_consume(out_t, consume_opts, &plain_consumer));
    uint8_t pkt[256];
    const uint8_t opus_payload[3] = {0xf8, 0xff, 0xfe};
    size_t n = rtp(pkt, 111, 1, 0, 4444, -1, opus_payload, 3);
    EXPECT(SFU_OK, NULL, sfu_producer_send(injected, pkt, n));
    EXPECT(SFU_TYPE_ERROR, "RTP", sfu_producer_send(injected, pkt, 5));
    EXPECT(SFU_NULL_ARGUMENT, "data", sfu_producer_send(injected, NULL, 12));
    uint8_t buf[1500];
    ssize_t got = -1;
    for (int i = 0; i < 10 && got < 0; i++) {
        got = recv(sink, buf, sizeof buf, 0);
        if (got > 1 && buf[1] >= 192 && buf[1] <= 223) got = -1; /* skip RTCP */
    }
    EXPECT_TRUE(got >= 15 && (size_t)got == payload_offset(buf, (size_t)got) + 3);
    EXPECT_TRUE(got >= 15 && memcmp(buf + payload_offset(buf, (size_t)got), opus_payload, 3) == 0);

    /* A plain transport sending to a closed port: the ICMP errors arrive as a socketError event
       on that transport (not a silent stall) and count in its stats. */
    uint16_t dead_port;
    int dead = udp_socket(&dead_port);
    close(dead);
    sfu_plain_transport *dead_t = NULL;
    MUST(sfu_router_create_plain_transport(r, "{\"listenInfo\":{\"ip\":\"127.0.0.1\"}}", &dead_t));
    snprintf(connect, sizeof connect, "{\"ip\":\"127.0.0.1\",\"port\":%u}", dead_port);
    MUST(sfu_plain_transport_connect(dead_t, connect));
    sfu_consumer *dead_consumer = NULL;
    MUST(sfu_plain_transport_consume(dead_t, consume_opts, &dead_consumer));
    send_opus(injected, 4444, 100, 20, -1, 5);
    EXPECT_TRUE(wait_count(&socket_error_events, 1, 2000));
    pthread_mutex_lock(&lock);
    EXPECT_CONTAINS(last_socket_error, sfu_plain_transport_id(dead_t));
    EXPECT_CONTAINS(last_socket_error, "\"error\":\"ECONNREFUSED\"");
    EXPECT_CONTAINS(last_socket_error, "\"origin\":\"icmp\"");
    char port_field[32];
    snprintf(port_field, sizeof port_field, "\"remotePort\":%u", dead_port);
    EXPECT_CONTAINS(last_socket_error, port_field);
    pthread_mutex_unlock(&lock);
    char *stats_json = NULL;
    MUST(sfu_plain_transport_get_stats(dead_t, &stats_json));
    EXPECT_TRUE(strstr(stats_json, "\"socketErrors\":0") == NULL && strstr(stats_json, "\"socketErrors\":") != NULL);
    sfu_string_free(stats_json);
    sfu_consumer_free(dead_consumer);
    sfu_plain_transport_free(dead_t);

    /* Plain publisher (this program) -> application. */
    sfu_plain_transport *in_t = NULL;
    MUST(sfu_router_create_plain_transport(r, "{\"listenInfo\":{\"ip\":\"127.0.0.1\"},\"comedia\":true}", &in_t));
    sfu_producer *published = NULL;
    MUST(sfu_plain_transport_produce(in_t, OPUS(5555), &published));
    EXPECT(SFU_UNSUPPORTED, "DirectTransport", sfu_producer_send(published, pkt, n));
    snprintf(consume_opts, sizeof consume_opts, "{\"producerId\":\"%s\",\"rtpCapabilities\":%s}", sfu_producer_id(published), caps);
    sfu_consumer *direct_consumer = NULL;
    MUST(sfu_direct_transport_consume(direct, consume_opts, &direct_consumer));
    char *tuple = NULL;
    MUST(sfu_plain_transport_tuple(in_t, &tuple));
    struct sockaddr_in to = {0};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(json_port(tuple));
    sfu_string_free(tuple);
    n = rtp(pkt, 111, 7, 960, 5555, -1, opus_payload, 3);
    sendto(sink, pkt, n, 0, (struct sockaddr *)&to, sizeof to);
    EXPECT_TRUE(wait_count(&rtp_count, 1, 2000));
    pthread_mutex_lock(&lock);
    const char *got_target = rtp_target;
    EXPECT_STREQ(got_target, sfu_consumer_id(direct_consumer));
    EXPECT_TRUE(last_rtp_len == payload_offset(last_rtp, last_rtp_len) + 3 && memcmp(last_rtp + payload_offset(last_rtp, last_rtp_len), opus_payload, 3) == 0);
    pthread_mutex_unlock(&lock);
    /* The engine's sender reports for the direct consumer arrive as RTCP payloads. */
    EXPECT_TRUE(wait_count(&rtcp_count, 1, 2500));
    const uint8_t pli[12] = {0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0};
    EXPECT(SFU_OK, NULL, sfu_direct_transport_send_rtcp(direct, pli, sizeof pli));
    EXPECT(SFU_TYPE_ERROR, "RTCP", sfu_direct_transport_send_rtcp(direct, pkt, n));

    /* Direct data: text, binary, subchannels, size limit. */
    sfu_data_producer *dp = NULL;
    MUST(sfu_direct_transport_produce_data(direct, "{\"label\":\"bot\"}", &dp));
    char dc_opts[256];
    snprintf(dc_opts, sizeof dc_opts, "{\"dataProducerId\":\"%s\"}", sfu_data_producer_id(dp));
    sfu_data_consumer *all = NULL;
    MUST(sfu_direct_transport_consume_data(direct, dc_opts, &all));
    snprintf(dc_opts, sizeof dc_opts, "{\"dataProducerId\":\"%s\",\"subchannels\":[7]}", sfu_data_producer_id(dp));
    sfu_data_consumer *sub = NULL;
    MUST(sfu_direct_transport_consume_data(direct, dc_opts, &sub));
    EXPECT(SFU_NOT_FOUND, "nope", sfu_direct_transport_consume_data(direct, "{\"dataProducerId\":\"nope\"}", &(sfu_data_consumer *){NULL}));
    EXPECT(SFU_OK, NULL, sfu_data_producer_send(dp, 51, (const uint8_t *)"hello", 5, NULL, -1));
    const uint8_t bin[3] = {1, 2, 3};
    EXPECT(SFU_OK, NULL, sfu_data_producer_send(dp, 53, bin, 3, "[7]", -1));
    uint8_t big[101] = {0};
    EXPECT(SFU_TYPE_ERROR, "maxMessageSize", sfu_data_producer_send(dp, 53, big, sizeof big, NULL, -1));
    EXPECT(SFU_TYPE_ERROR, "subchannels", sfu_data_producer_send(dp, 53, bin, 3, "[\"x\"]", -1));
    EXPECT_TRUE(wait_count(&message_count, 3, 2000));
    pthread_mutex_lock(&lock);
    int hello_all = 0, hello_sub = 0, bin_sub = 0;
    for (int i = 0; i < message_count; i++) {
        if (!strcmp(messages[i], "hello") && message_ppids[i] == 51) {
            if (!strcmp(message_targets[i], sfu_data_consumer_id(all))) hello_all++;
            if (!strcmp(message_targets[i], sfu_data_consumer_id(sub))) hello_sub++;
        }
        if (message_ppids[i] == 53 && !strcmp(message_targets[i], sfu_data_consumer_id(sub))) bin_sub++;
    }
    EXPECT_TRUE(message_count == 3 && hello_all == 1 && hello_sub == 1 && bin_sub == 1);
    pthread_mutex_unlock(&lock);
    char *stats = NULL;
    MUST(sfu_data_producer_get_stats(dp, &stats));
    EXPECT_CONTAINS(stats, "\"messagesReceived\":2");
    sfu_string_free(stats);

    /* Audio level observer over injected audio at -30 dBov. */
    sfu_rtp_observer *obs = NULL;
    EXPECT(SFU_TYPE_ERROR, "maxEntries", sfu_router_create_audio_level_observer(r, "{\"maxEntries\":0}", &obs));
    MUST(sfu_router_create_audio_level_observer(r, "{\"interval\":300}", &obs));
    EXPECT(SFU_NOT_FOUND, "nope", sfu_rtp_observer_add_producer(obs, "nope"));
    EXPECT(SFU_OK, NULL, sfu_rtp_observer_add_producer(obs, sfu_producer_id(injected)));
    send_opus(injected, 4444, 200, 40, 30, 10);
    EXPECT_TRUE(wait_count(&volumes_events, 1, 2000));
    pthread_mutex_lock(&lock);
    EXPECT_CONTAINS(last_volumes, sfu_producer_id(injected));
    EXPECT_CONTAINS(last_volumes, "\"volume\":-30");
    pthread_mutex_unlock(&lock);

    sfu_rtp_observer_free(obs);
    sfu_data_consumer_free(sub);
    sfu_data_consumer_free(all);
    sfu_data_producer_free(dp);
    sfu_consumer_free(direct_consumer);
    sfu_consumer_free(plain_consumer);
    sfu_producer_free(published);
    sfu_producer_free(injected);
    sfu_plain_transport_free(in_t);
    sfu_plain_transport_free(out_t);
    sfu_direct_transport_free(direct);
    sfu_string_free(caps);
    sfu_router_free(r);
    sfu_worker_free(w);
    close(sink);
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
