/*
 * libsfu C face: WebRTC transports and WebRtcServers.
 *
 * Creates a WebRtcServer (UDP + TCP) and WebRTC transports on their own UDP + TCP ports, on UDP
 * only, without TCP through `enableTcp`, and through the server; checks what the JSON getters
 * return (ICE parameters, host candidates, sha-256 fingerprints), the initial states, ICE restart,
 * connect's argument checking and its events, produce/consume/stats/dump, then the errors after
 * close, after the server closed and after the worker closed, and NULL arguments.
 *
 * Packets: a STUN Binding request without MESSAGE-INTEGRITY (no HMAC-SHA1 here, so no real ICE)
 * is sent to a transport's UDP and TCP candidates and, with a USERNAME, to the server's UDP port;
 * the transport must count each as a dropped ICE request (`iceDroppedRequests`), which shows the
 * candidates are live and the server demultiplexes by ufrag. Every check prints on failure what it
 * got; the last line counts the checks.
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
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sfu.h"

/* ---- tiny JSON readers (enough for the flat values checked here) ---- */

/* Copies the string value of the nth (0-based) `"key":"..."` in json into out; "" if absent. */
static const char *json_str(const char *json, const char *key, int nth, char *out, size_t len) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = json;
    out[0] = 0;
    for (int i = 0; p && i <= nth; i++) {
        p = strstr(p, pat);
        if (p) p += strlen(pat);
    }
    if (!p) return out;
    size_t n = strcspn(p, "\"");
    if (n >= len) n = len - 1;
    memcpy(out, p, n);
    out[n] = 0;
    return out;
}

/* The number value of the nth `"key":N` in json; -1 if absent. */
static long json_num(const char *json, const char *key, int nth) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = json;
    for (int i = 0; p && i <= nth; i++) {
        p = strstr(p, pat);
        if (p) p += strlen(pat);
    }
    return p ? strtol(p, NULL, 10) : -1;
}

static int count(const char *json, const char *fragment) {
    int n = 0;
    for (const char *p = json; (p = strstr(p, fragment)); p += strlen(fragment)) n++;
    return n;
}

/* A number field of the `protocol` ("udp"/"tcp") candidate in an iceCandidates array; -1 if none. */
static long candidate_num(const char *candidates, const char *protocol, const char *key) {
    char pat[32];
    snprintf(pat, sizeof pat, "\"protocol\":\"%s\"", protocol);
    const char *p = strstr(candidates, pat);
    if (!p) return -1;
    const char *obj = p;
    while (obj > candidates && *obj != '{') obj--; /* the candidate object's start */
    return json_num(obj, key, 0);
}

#define candidate_port(candidates, protocol) candidate_num((candidates), (protocol), "port")

/* ---- events, recorded from the worker thread ---- */

static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;
static char events[16384];

static void record_event(const char *event_json, void *user_data) {
    (void)user_data;
    pthread_mutex_lock(&events_lock);
    size_t used = strlen(events);
    if (used + strlen(event_json) + 2 < sizeof events) {
        strcat(events, event_json);
        strcat(events, "\n");
    }
    pthread_mutex_unlock(&events_lock);
}

/* Waits up to 2 s for an event line containing both fragments. */
static int wait_event(const char *a, const char *b) {
    for (int i = 0; i < 400; i++) {
        int found = 0;
        pthread_mutex_lock(&events_lock);
        for (const char *line = events; *line && !found;) {
            const char *end = strchr(line, '\n');
            size_t n = end ? (size_t)(end - line) : strlen(line);
            char buf[4096];
            if (n >= sizeof buf) n = sizeof buf - 1;
            memcpy(buf, line, n);
            buf[n] = 0;
            found = strstr(buf, a) && strstr(buf, b);
            line += n + (end ? 1 : 0);
        }
        pthread_mutex_unlock(&events_lock);
        if (found) return 1;
        sleep_ms(5);
    }
    return 0;
}

/* ---- an unauthenticated STUN Binding request: dropped by ICE, but counted ---- */

/* Writes a Binding request (RFC 5389 header, optional USERNAME, no MESSAGE-INTEGRITY) to buf. */
static size_t stun_binding(uint8_t *buf, const char *username) {
    size_t ulen = username ? strlen(username) : 0, alen = username ? 4 + ((ulen + 3) & ~(size_t)3) : 0;
    memset(buf, 0, 20 + alen);
    buf[1] = 0x01;                   /* Binding request */
    buf[2] = (uint8_t)(alen >> 8);   /* message length */
    buf[3] = (uint8_t)alen;
    buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42; /* magic cookie */
    for (int i = 8; i < 20; i++) buf[i] = (uint8_t)(i * 7);     /* transaction id */
    if (username) {
        buf[21] = 0x06; /* USERNAME */
        buf[22] = (uint8_t)(ulen >> 8);
        buf[23] = (uint8_t)ulen;
        memcpy(buf + 24, username, ulen);
    }
    return 20 + alen;
}

/* Sends an unauthenticated Binding request to 127.0.0.1:port over UDP, or over TCP with RFC 4571
 * framing. Returns 0 on success. */
static int send_stun(const char *protocol, long port, const char *username) {
    uint8_t msg[2 + 20 + 4 + 256];
    size_t n = stun_binding(msg + 2, username);
    int tcp = strcmp(protocol, "tcp") == 0;
    int fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    struct sockaddr_in to = {0};
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    msg[0] = (uint8_t)(n >> 8), msg[1] = (uint8_t)n;
    ssize_t sent = tcp ? send(fd, msg, n + 2, 0) : send(fd, msg + 2, n, 0);
    if (tcp) sleep_ms(50); /* let the worker read the frame before the connection goes */
    close(fd);
    return sent > 0 ? 0 : -1;
}

/* Waits up to 2 s for the transport's stats to show `want` dropped ICE requests. */
static long wait_dropped(const sfu_webrtc_transport *t, long want) {
    long got = -1;
    for (int i = 0; i < 400 && got != want; i++) {
        char *stats = NULL;
        if (sfu_webrtc_transport_get_stats(t, &stats) != SFU_OK) return -2;
        got = json_num(stats, "iceDroppedRequests", 0);
        sfu_string_free(stats);
        if (got != want) sleep_ms(5);
    }
    return got;
}

#define VP8_96 "{\"mimeType\":\"video/VP8\",\"payloadType\":96,\"clockRate\":90000}"
#define FP_SHA256 "{\"algorithm\":\"sha-256\",\"value\":\"" \
    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\"}"

/* Checks the properties every fresh transport has; returns its candidates JSON (caller frees). */
static char *check_fresh(int line, const sfu_webrtc_transport *t, int udp, int tcp) {
    char *ice = NULL, *cands = NULL, *dtls = NULL, *tuple = (char *)1, *cert = (char *)1;
    char ufrag[64], pwd[128];
    int before = failures;
    EXPECT(SFU_OK, NULL, sfu_webrtc_transport_ice_parameters(t, &ice));
    EXPECT(SFU_OK, NULL, sfu_webrtc_transport_ice_candidates(t, &cands));
    EXPECT(SFU_OK, NULL, sfu_webrtc_transport_dtls_parameters(t, &dtls));
    EXPECT(SFU_OK, NULL, sfu_webrtc_transport_ice_selected_tuple(t, &tuple));
    EXPECT(SFU_OK, NULL, sfu_webrtc_transport_dtls_remote_cert(t, &cert));
    EXPECT_TRUE(tuple == NULL && cert == NULL); /* no ICE tuple, no DTLS yet */
    EXPECT_TRUE(strlen(json_str(ice, "usernameFragment", 0, ufrag, sizeof ufrag)) >= 4);
    EXPECT_TRUE(strlen(json_str(ice, "password", 0, pwd, sizeof pwd)) >= 22);
    EXPECT_CONTAINS(ice, "\"iceLite\":true");
    EXPECT_TRUE(count(cands, "\"type\":\"host\"") == udp + tcp);
    EXPECT_TRUE(count(cands, "\"protocol\":\"udp\"") == udp);
    EXPECT_TRUE(count(cands, "\"protocol\":\"tcp\"") == tcp);
    EXPECT_TRUE(count(cands, "\"tcpType\":\"passive\"") == tcp);
    EXPECT_TRUE(!udp || candidate_port(cands, "udp") > 0);
    EXPECT_TRUE(!tcp || candidate_port(cands, "tcp") > 0);
    EXPECT_CONTAINS(cands, "\"ip\":\"127.0.0.1\"");
    EXPECT_CONTAINS(cands, "\"priority\":");
    EXPECT_CONTAINS(dtls, "\"role\":\"auto\"");
    EXPECT_CONTAINS(dtls, "\"algorithm\":\"sha-256\"");
    EXPECT_STREQ(sfu_webrtc_transport_ice_state(t), "new");
    EXPECT_STREQ(sfu_webrtc_transport_dtls_state(t), "new");
    EXPECT_TRUE(!sfu_webrtc_transport_closed(t) && sfu_webrtc_transport_id(t) && strlen(sfu_webrtc_transport_id(t)) == 36);
    if (failures != before) printf("  (transport checked from line %d)\n  ice: %s\n  candidates: %s\n  dtls: %s\n", line, ice, cands, dtls);
    sfu_string_free(ice);
    sfu_string_free(dtls);
    return cands;
}

int main(void) {
    sfu_worker *worker;
    sfu_router *router;
    sfu_webrtc_server *server, *server2;
    sfu_webrtc_transport *t_both, *t_udp, *t_notcp, *t_srv, *t_srv_tcp;
    char *json = NULL, *cands, *srv_cands;
    char buf[128], buf2[128];
    verbose = getenv("VERBOSE") != NULL; /* VERBOSE=1 prints every result and message */

    MUST(sfu_worker_new("{\"logLevel\":\"none\",\"rtcMinPort\":42000,\"rtcMaxPort\":42999}", &worker));
    MUST(sfu_worker_set_event_callback(worker, record_event, NULL));
    MUST(sfu_worker_create_router(worker,
                                  "{\"mediaCodecs\":[{\"kind\":\"audio\",\"mimeType\":\"audio/opus\",\"clockRate\":48000,\"channels\":2},"
                                  "{\"kind\":\"video\",\"mimeType\":\"video/VP8\",\"clockRate\":90000}]}",
                                  &router));

    /* ---- a WebRtcServer on UDP and TCP ---- */
    const char *both = "[{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\"},{\"protocol\":\"tcp\",\"ip\":\"127.0.0.1\"}]";
    char opts[1024];
    snprintf(opts, sizeof opts, "{\"listenInfos\":%s}", both);
    MUST(sfu_worker_create_webrtc_server(worker, opts, &server));
    EXPECT_TRUE(sfu_webrtc_server_id(server) && strlen(sfu_webrtc_server_id(server)) == 36 && !sfu_webrtc_server_closed(server));
    MUST(sfu_webrtc_server_dump(server, &json));
    EXPECT_CONTAINS(json, sfu_webrtc_server_id(server));
    EXPECT_TRUE(count(json, "\"port\":") == 2);
    EXPECT_CONTAINS(json, "\"udpSockets\":[{");
    EXPECT_CONTAINS(json, "\"tcpServers\":[{");
    EXPECT_CONTAINS(json, "\"webRtcTransportIds\":[]");
    long srv_udp = json_num(strstr(json, "udpSockets"), "port", 0), srv_tcp = json_num(strstr(json, "tcpServers"), "port", 0);
    EXPECT_TRUE(srv_udp >= 42000 && srv_udp <= 42999 && srv_tcp >= 42000 && srv_tcp <= 42999);
    sfu_string_free(json);
    json = NULL;
    MUST(sfu_worker_dump(worker, &json));
    EXPECT_CONTAINS(json, sfu_webrtc_server_id(server)); /* listed in webRtcServerIds */
    sfu_string_free(json);
    json = NULL;

    /* ---- transports: own UDP + TCP ports, UDP only, TCP filtered out, through the server ---- */
    snprintf(opts, sizeof opts, "{\"listenInfos\":%s,\"preferUdp\":true,\"iceConsentTimeout\":20}", both);
    MUST(sfu_router_create_webrtc_transport(router, opts, &t_both));
    MUST(sfu_router_create_webrtc_transport(router, "{\"listenInfos\":[{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\"}]}", &t_udp));
    snprintf(opts, sizeof opts, "{\"listenInfos\":%s,\"enableTcp\":false}", both);
    MUST(sfu_router_create_webrtc_transport(router, opts, &t_notcp));
    snprintf(opts, sizeof opts, "{\"webRtcServerId\":\"%s\"}", sfu_webrtc_server_id(server));
    MUST(sfu_router_create_webrtc_transport(router, opts, &t_srv));
    snprintf(opts, sizeof opts, "{\"webRtcServerId\":\"%s\",\"enableUdp\":false}", sfu_webrtc_server_id(server));
    MUST(sfu_router_create_webrtc_transport(router, opts, &t_srv_tcp));

    cands = check_fresh(__LINE__, t_both, 1, 1);
    long udp_port = candidate_port(cands, "udp"), tcp_port = candidate_port(cands, "tcp");
    EXPECT_TRUE(udp_port >= 42000 && udp_port <= 42999 && tcp_port >= 42000 && tcp_port <= 42999);
    EXPECT_TRUE(candidate_num(cands, "udp", "priority") > candidate_num(cands, "tcp", "priority")); /* preferUdp */
    sfu_string_free(check_fresh(__LINE__, t_udp, 1, 0));
    sfu_string_free(check_fresh(__LINE__, t_notcp, 1, 0));
    srv_cands = check_fresh(__LINE__, t_srv, 1, 1);
    EXPECT_TRUE(candidate_port(srv_cands, "udp") == srv_udp && candidate_port(srv_cands, "tcp") == srv_tcp); /* the server's ports */
    sfu_string_free(check_fresh(__LINE__, t_srv_tcp, 0, 1));
    EXPECT_TRUE(strcmp(sfu_webrtc_transport_id(t_both), sfu_webrtc_transport_id(t_udp)) != 0);

    MUST(sfu_webrtc_server_dump(server, &json));
    EXPECT_CONTAINS(json, sfu_webrtc_transport_id(t_srv));
    EXPECT_CONTAINS(json, sfu_webrtc_transport_id(t_srv_tcp));
    EXPECT_LACKS(json, sfu_webrtc_transport_id(t_both));
    {
        char *ice = NULL;
        MUST(sfu_webrtc_transport_ice_parameters(t_srv, &ice));
        EXPECT_CONTAINS(json, json_str(ice, "usernameFragment", 0, buf, sizeof buf)); /* in localIceUsernameFragments */
        sfu_string_free(ice);
    }
    sfu_string_free(json);
    json = NULL;

    /* ---- bad options ---- */
    sfu_webrtc_transport *t_out = (sfu_webrtc_transport *)&json;
    sfu_webrtc_server *s_out = (sfu_webrtc_server *)&json;
    EXPECT(SFU_TYPE_ERROR, "listenInfos", sfu_router_create_webrtc_transport(router, "{}", &t_out));
    EXPECT_TRUE(t_out == NULL);
    EXPECT(SFU_TYPE_ERROR, "empty listenInfos", sfu_router_create_webrtc_transport(router, "{\"listenInfos\":[]}", &t_out));
    EXPECT(SFU_TYPE_ERROR, "options.listenInfos[0].ip",
           sfu_router_create_webrtc_transport(router, "{\"listenInfos\":[{\"protocol\":\"udp\",\"ip\":5}]}", &t_out));
    EXPECT(SFU_TYPE_ERROR, "listenInfos[0].ip",
           sfu_router_create_webrtc_transport(router, "{\"listenInfos\":[{\"protocol\":\"udp\",\"ip\":\"300.0.0.1\"}]}", &t_out));
    EXPECT(SFU_TYPE_ERROR, "options.listenInfos[1].protocol",
           sfu_router_create_webrtc_transport(router, "{\"listenInfos\":[{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\"},{\"protocol\":\"sctp\",\"ip\":\"127.0.0.1\"}]}",
                                              &t_out));
    EXPECT(SFU_TYPE_ERROR, "options.enableUdp",
           sfu_router_create_webrtc_transport(router, "{\"listenInfos\":[{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\"}],\"enableUdp\":\"no\"}", &t_out));
    EXPECT(SFU_TYPE_ERROR, "options.iceConsentTimeout",
           sfu_router_create_webrtc_transport(router, "{\"listenInfos\":[{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\"}],\"iceConsentTimeout\":-5}", &t_out));
    EXPECT(SFU_TYPE_ERROR, "no listenInfos left",
           sfu_router_create_webrtc_transport(router, "{\"listenInfos\":[{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\"}],\"enableUdp\":false}", &t_out));
    EXPECT(SFU_TYPE_ERROR, "options.webRtcServerId", sfu_router_create_webrtc_transport(router, "{\"webRtcServerId\":42}", &t_out));
    EXPECT(SFU_NOT_FOUND, "no-such-server", sfu_router_create_webrtc_transport(router, "{\"webRtcServerId\":\"no-such-server\"}", &t_out));
    EXPECT(SFU_INVALID_JSON, "options_json", sfu_router_create_webrtc_transport(router, "{\"listenInfos\":", &t_out));
    EXPECT(SFU_INVALID_UTF8, "options_json", sfu_router_create_webrtc_transport(router, "\xff", &t_out));
    EXPECT(SFU_IO_ERROR, "listenInfos[0]",
           sfu_router_create_webrtc_transport(router, "{\"listenInfos\":[{\"protocol\":\"udp\",\"ip\":\"192.0.2.1\"}]}", &t_out));
    EXPECT_TRUE(t_out == NULL);
    EXPECT(SFU_TYPE_ERROR, "listenInfos", sfu_worker_create_webrtc_server(worker, "{}", &s_out));
    EXPECT_TRUE(s_out == NULL);
    EXPECT(SFU_TYPE_ERROR, "empty listenInfos", sfu_worker_create_webrtc_server(worker, "{\"listenInfos\":[]}", &s_out));
    EXPECT(SFU_TYPE_ERROR, "options.listenInfos[0].port",
           sfu_worker_create_webrtc_server(worker, "{\"listenInfos\":[{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\",\"port\":\"x\"}]}", &s_out));
    snprintf(opts, sizeof opts, "{\"listenInfos\":[{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\",\"port\":%ld}]}", srv_udp);
    EXPECT(SFU_IO_ERROR, NULL, sfu_worker_create_webrtc_server(worker, opts, &s_out)); /* port taken by the first server */
    EXPECT(SFU_INVALID_JSON, "options_json", sfu_worker_create_webrtc_server(worker, "[", &s_out));

    /* ---- ICE restart: new credentials, also registered with the server ---- */
    {
        char *before = NULL, *restarted = NULL, *after = NULL;
        MUST(sfu_webrtc_transport_ice_parameters(t_both, &before));
        EXPECT(SFU_OK, NULL, sfu_webrtc_transport_restart_ice(t_both, &restarted));
        MUST(sfu_webrtc_transport_ice_parameters(t_both, &after));
        json_str(before, "usernameFragment", 0, buf, sizeof buf);
        json_str(restarted, "usernameFragment", 0, buf2, sizeof buf2);
        EXPECT_TRUE(buf2[0] && strcmp(buf, buf2) != 0);
        EXPECT_TRUE(strcmp(json_str(before, "password", 0, buf, sizeof buf), json_str(restarted, "password", 0, buf2, sizeof buf2)) != 0);
        EXPECT_STREQ(restarted, after); /* the getter reflects the restart */
        EXPECT_CONTAINS(restarted, "\"iceLite\":true");
        sfu_string_free(before);
        sfu_string_free(restarted);
        sfu_string_free(after);

        MUST(sfu_webrtc_transport_restart_ice(t_srv, &restarted));
        MUST(sfu_webrtc_server_dump(server, &json));
        EXPECT_CONTAINS(json, json_str(restarted, "usernameFragment", 0, buf, sizeof buf));
        sfu_string_free(json);
        sfu_string_free(restarted);
        json = NULL;
    }
    EXPECT_STREQ(sfu_webrtc_transport_ice_state(t_both), "new");

    /* ---- unauthenticated STUN reaches the candidates (and the server's ports by ufrag) ---- */
    EXPECT_TRUE(wait_dropped(t_both, 0) == 0);
    EXPECT_TRUE(send_stun("udp", udp_port, NULL) == 0);
    EXPECT_TRUE(wait_dropped(t_both, 1) == 1);
    EXPECT_TRUE(send_stun("tcp", tcp_port, NULL) == 0);
    EXPECT_TRUE(wait_dropped(t_both, 2) == 2);
    {
        char *ice = NULL, user[160];
        MUST(sfu_webrtc_transport_ice_parameters(t_srv, &ice));
        snprintf(user, sizeof user, "%s:remote", json_str(ice, "usernameFragment", 0, buf, sizeof buf));
        sfu_string_free(ice);
        EXPECT_TRUE(send_stun("udp", srv_udp, user) == 0);
        EXPECT_TRUE(wait_dropped(t_srv, 1) == 1); /* routed to t_srv by its ufrag, dropped there */
        EXPECT_TRUE(wait_dropped(t_srv_tcp, 0) == 0);
    }
    EXPECT_STREQ(sfu_webrtc_transport_ice_state(t_both), "new"); /* nothing authenticated */

    /* ---- connect: argument checking, then one valid call ---- */
    EXPECT(SFU_TYPE_ERROR, "dtlsParameters", sfu_webrtc_transport_connect(t_udp, "{}"));
    EXPECT(SFU_TYPE_ERROR, "params.dtlsParameters", sfu_webrtc_transport_connect(t_udp, "{\"dtlsParameters\":5}"));
    EXPECT(SFU_TYPE_ERROR, "fingerprints", sfu_webrtc_transport_connect(t_udp, "{\"dtlsParameters\":{\"role\":\"client\"}}"));
    EXPECT(SFU_TYPE_ERROR, "dtlsParameters.fingerprints", sfu_webrtc_transport_connect(t_udp, "{\"dtlsParameters\":{\"fingerprints\":[]}}"));
    EXPECT(SFU_TYPE_ERROR, "params.dtlsParameters.role",
           sfu_webrtc_transport_connect(t_udp, "{\"dtlsParameters\":{\"role\":\"boss\",\"fingerprints\":[" FP_SHA256 "]}}"));
    EXPECT(SFU_TYPE_ERROR, "params.dtlsParameters.fingerprints[0]: missing field `value`",
           sfu_webrtc_transport_connect(t_udp, "{\"dtlsParameters\":{\"fingerprints\":[{\"algorithm\":\"sha-256\"}]}}"));
    EXPECT(SFU_TYPE_ERROR, "unsupported algorithm",
           sfu_webrtc_transport_connect(t_udp, "{\"dtlsParameters\":{\"fingerprints\":[{\"algorithm\":\"md5\",\"value\":\"AA\"}]}}"));
    EXPECT(SFU_INVALID_JSON, "params_json", sfu_webrtc_transport_connect(t_udp, "{\"dtlsParameters\":"));
    EXPECT(SFU_INVALID_UTF8, "params_json", sfu_webrtc_transport_connect(t_udp, "\xc3\x28"));
    EXPECT_STREQ(sfu_webrtc_transport_dtls_state(t_udp), "new"); /* the bad calls changed nothing */

    EXPECT(SFU_OK, NULL, sfu_webrtc_transport_connect(t_udp, "{\"dtlsParameters\":{\"role\":\"server\",\"fingerprints\":[" FP_SHA256 "]}}"));
    EXPECT_STREQ(sfu_webrtc_transport_dtls_state(t_udp), "connecting");
    MUST(sfu_webrtc_transport_dtls_parameters(t_udp, &json));
    EXPECT_CONTAINS(json, "\"role\":\"client\""); /* the peer is the DTLS server */
    sfu_string_free(json);
    json = NULL;
    EXPECT(SFU_INVALID_STATE, "already",
           sfu_webrtc_transport_connect(t_udp, "{\"dtlsParameters\":{\"role\":\"client\",\"fingerprints\":[" FP_SHA256 "]}}"));
    EXPECT(SFU_OK, NULL, sfu_webrtc_transport_connect(t_notcp, "{\"dtlsParameters\":{\"fingerprints\":[" FP_SHA256 "]}}")); /* role auto */
    EXPECT_TRUE(wait_event(sfu_webrtc_transport_id(t_udp), "\"event\":\"dtlsStateChange\",\"dtlsState\":\"connecting\""));
    EXPECT_TRUE(wait_event(sfu_webrtc_transport_id(t_notcp), "\"event\":\"dtlsStateChange\",\"dtlsState\":\"connecting\""));

    /* ---- produce, consume, stats and dump go through the shared transport code ---- */
    sfu_producer *producer;
    sfu_consumer *consumer;
    char *caps;
    EXPECT(SFU_OK, NULL,
           sfu_webrtc_transport_produce(t_both,
                                        "{\"kind\":\"video\",\"rtpParameters\":{\"mid\":\"0\",\"codecs\":[" VP8_96 "],\"encodings\":[{\"ssrc\":4242}]}}",
                                        &producer));
    EXPECT_STREQ(sfu_producer_kind(producer), "video");
    EXPECT(SFU_TYPE_ERROR, "options.kind",
           sfu_webrtc_transport_produce(t_both, "{\"kind\":\"data\",\"rtpParameters\":{\"codecs\":[" VP8_96 "]}}", &(sfu_producer *){NULL}));
    MUST(sfu_router_rtp_capabilities(router, &caps));
    {
        size_t len = strlen(caps) + 128;
        char *copts = malloc(len);
        snprintf(copts, len, "{\"producerId\":\"%s\",\"rtpCapabilities\":%s,\"paused\":true}", sfu_producer_id(producer), caps);
        EXPECT(SFU_OK, NULL, sfu_webrtc_transport_consume(t_udp, copts, &consumer));
        free(copts);
    }
    EXPECT_TRUE(sfu_consumer_paused(consumer) && strcmp(sfu_consumer_producer_id(consumer), sfu_producer_id(producer)) == 0);
    EXPECT(SFU_NOT_FOUND, "no-such-producer",
           sfu_webrtc_transport_consume(t_udp, "{\"producerId\":\"no-such-producer\",\"rtpCapabilities\":{}}", &(sfu_consumer *){NULL}));
    /* ---- bandwidth bounds ---- */
    MUST(sfu_webrtc_transport_set_max_incoming_bitrate(t_both, 300000));
    EXPECT(SFU_TYPE_ERROR, "maximum", sfu_webrtc_transport_set_min_incoming_bitrate(t_both, 400000));
    MUST(sfu_webrtc_transport_set_min_incoming_bitrate(t_both, 100000));
    EXPECT(SFU_TYPE_ERROR, "minimum", sfu_webrtc_transport_set_max_incoming_bitrate(t_both, 50000));
    MUST(sfu_webrtc_transport_set_max_outgoing_bitrate(t_both, 2000000));
    EXPECT(SFU_TYPE_ERROR, "minimum", sfu_webrtc_transport_set_max_outgoing_bitrate(t_both, 10000));
    MUST(sfu_webrtc_transport_set_min_outgoing_bitrate(t_both, 100000));
    MUST(sfu_webrtc_transport_get_stats(t_both, &json));
    EXPECT_CONTAINS(json, "\"maxIncomingBitrate\":300000");
    EXPECT_CONTAINS(json, "\"minIncomingBitrate\":100000");
    EXPECT_CONTAINS(json, "\"availableOutgoingBitrate\":600000");
    sfu_string_free(json);
    MUST(sfu_webrtc_transport_get_stats(t_both, &json));
    EXPECT_CONTAINS(json, "\"type\":\"webrtc-transport\"");
    EXPECT_CONTAINS(json, "\"iceState\":\"new\"");
    EXPECT_CONTAINS(json, sfu_webrtc_transport_id(t_both));
    sfu_string_free(json);
    MUST(sfu_webrtc_transport_dump(t_both, &json));
    EXPECT_CONTAINS(json, "\"iceParameters\":");
    EXPECT_CONTAINS(json, "\"iceCandidates\":");
    EXPECT_CONTAINS(json, "\"dtlsParameters\":");
    EXPECT_CONTAINS(json, sfu_producer_id(producer));
    sfu_string_free(json);
    MUST(sfu_webrtc_transport_dump(t_udp, &json));
    EXPECT_CONTAINS(json, sfu_consumer_id(consumer));
    sfu_string_free(json);
    json = NULL;

    /* ---- NULL handles, strings and out-pointers ---- */
    EXPECT(SFU_NULL_ARGUMENT, "worker", sfu_worker_create_webrtc_server(NULL, "{}", &s_out));
    EXPECT(SFU_NULL_ARGUMENT, "options_json", sfu_worker_create_webrtc_server(worker, NULL, &s_out));
    EXPECT(SFU_NULL_ARGUMENT, "out_server", sfu_worker_create_webrtc_server(worker, "{}", NULL));
    EXPECT(SFU_NULL_ARGUMENT, "server", sfu_webrtc_server_dump(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_webrtc_server_dump(server, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "router", sfu_router_create_webrtc_transport(NULL, "{}", &t_out));
    EXPECT(SFU_NULL_ARGUMENT, "options_json", sfu_router_create_webrtc_transport(router, NULL, &t_out));
    EXPECT(SFU_NULL_ARGUMENT, "out_transport", sfu_router_create_webrtc_transport(router, "{}", NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_ice_parameters(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_webrtc_transport_ice_parameters(t_both, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_ice_candidates(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_webrtc_transport_ice_candidates(t_both, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_ice_selected_tuple(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_webrtc_transport_ice_selected_tuple(t_both, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_dtls_parameters(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_webrtc_transport_dtls_parameters(t_both, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_dtls_remote_cert(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_pem", sfu_webrtc_transport_dtls_remote_cert(t_both, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_connect(NULL, "{}"));
    EXPECT(SFU_NULL_ARGUMENT, "params_json", sfu_webrtc_transport_connect(t_both, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_restart_ice(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_webrtc_transport_restart_ice(t_both, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_produce(NULL, "{}", &(sfu_producer *){NULL}));
    EXPECT(SFU_NULL_ARGUMENT, "options_json", sfu_webrtc_transport_produce(t_both, NULL, &(sfu_producer *){NULL}));
    EXPECT(SFU_NULL_ARGUMENT, "out_producer", sfu_webrtc_transport_produce(t_both, "{}", NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_consume(NULL, "{}", &(sfu_consumer *){NULL}));
    EXPECT(SFU_NULL_ARGUMENT, "options_json", sfu_webrtc_transport_consume(t_both, NULL, &(sfu_consumer *){NULL}));
    EXPECT(SFU_NULL_ARGUMENT, "out_consumer", sfu_webrtc_transport_consume(t_both, "{}", NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_set_max_incoming_bitrate(NULL, 1));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_set_min_incoming_bitrate(NULL, 1));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_set_max_outgoing_bitrate(NULL, 1));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_set_min_outgoing_bitrate(NULL, 1));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_get_stats(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_webrtc_transport_get_stats(t_both, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_webrtc_transport_dump(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_webrtc_transport_dump(t_both, NULL));
    EXPECT_TRUE(json == NULL); /* out-pointers are NULLed on failure */
    EXPECT_TRUE(sfu_webrtc_transport_id(NULL) == NULL && !sfu_webrtc_transport_closed(NULL));
    EXPECT_TRUE(sfu_webrtc_transport_ice_state(NULL) == NULL && sfu_webrtc_transport_dtls_state(NULL) == NULL);
    EXPECT_TRUE(sfu_webrtc_server_id(NULL) == NULL && !sfu_webrtc_server_closed(NULL));
    sfu_webrtc_transport_close(NULL);
    sfu_webrtc_transport_free(NULL);
    sfu_webrtc_server_close(NULL);
    sfu_webrtc_server_free(NULL);
    checks++; /* reaching this line is the check */

    /* ---- calls after close ---- */
    sfu_webrtc_transport_close(t_both);
    sfu_webrtc_transport_close(t_both); /* idempotent */
    EXPECT_TRUE(sfu_webrtc_transport_closed(t_both));
    EXPECT_TRUE(wait_event(sfu_webrtc_transport_id(t_both), "\"event\":\"closed\",\"object\":\"transport\""));
    EXPECT_TRUE(sfu_producer_closed(producer)); /* with its transport, once the worker handled the close */
    EXPECT_STREQ(sfu_webrtc_transport_ice_state(t_both), "closed");
    EXPECT_STREQ(sfu_webrtc_transport_dtls_state(t_both), "closed");
    EXPECT(SFU_INVALID_STATE, "transport closed",
           sfu_webrtc_transport_connect(t_both, "{\"dtlsParameters\":{\"fingerprints\":[" FP_SHA256 "]}}"));
    EXPECT(SFU_INVALID_STATE, "transport closed", sfu_webrtc_transport_restart_ice(t_both, &json));
    EXPECT(SFU_INVALID_STATE, "transport closed",
           sfu_webrtc_transport_produce(t_both, "{\"kind\":\"video\",\"rtpParameters\":{\"codecs\":[" VP8_96 "]}}", &(sfu_producer *){NULL}));
    EXPECT(SFU_INVALID_STATE, "transport closed", sfu_webrtc_transport_consume(t_both, "{\"producerId\":\"x\",\"rtpCapabilities\":{}}", &(sfu_consumer *){NULL}));
    EXPECT(SFU_INVALID_STATE, "transport closed", sfu_webrtc_transport_set_max_incoming_bitrate(t_both, 0));
    EXPECT(SFU_INVALID_STATE, "transport closed", sfu_webrtc_transport_set_min_outgoing_bitrate(t_both, 0));
    EXPECT(SFU_INVALID_STATE, "transport closed", sfu_webrtc_transport_get_stats(t_both, &json));
    EXPECT(SFU_INVALID_STATE, "transport closed", sfu_webrtc_transport_dump(t_both, &json));
    EXPECT(SFU_OK, NULL, sfu_webrtc_transport_ice_parameters(t_both, &json)); /* properties stay readable */
    sfu_string_free(json);
    json = NULL;
    EXPECT(SFU_OK, NULL, sfu_webrtc_transport_ice_selected_tuple(t_both, &json));
    EXPECT_TRUE(json == NULL);

    /* closing the server closes the transports using it */
    sfu_webrtc_server_close(server);
    sfu_webrtc_server_close(server); /* idempotent */
    EXPECT_TRUE(sfu_webrtc_server_closed(server));
    EXPECT_TRUE(wait_event(sfu_webrtc_server_id(server), "\"object\":\"webRtcServer\""));
    EXPECT_TRUE(wait_event(sfu_webrtc_transport_id(t_srv), "\"event\":\"closed\""));
    EXPECT_TRUE(sfu_webrtc_transport_closed(t_srv) && sfu_webrtc_transport_closed(t_srv_tcp) && !sfu_webrtc_transport_closed(t_udp));
    EXPECT(SFU_INVALID_STATE, "WebRtcServer closed", sfu_webrtc_server_dump(server, &json));
    EXPECT(SFU_INVALID_STATE, "transport closed", sfu_webrtc_transport_restart_ice(t_srv, &json));
    snprintf(opts, sizeof opts, "{\"webRtcServerId\":\"%s\"}", sfu_webrtc_server_id(server));
    EXPECT(SFU_NOT_FOUND, sfu_webrtc_server_id(server), sfu_router_create_webrtc_transport(router, opts, &t_out));

    /* ---- after the worker closed ---- */
    MUST(sfu_worker_create_webrtc_server(worker, "{\"listenInfos\":[{\"protocol\":\"tcp\",\"ip\":\"127.0.0.1\"}]}", &server2));
    sfu_worker_close(worker);
    EXPECT_TRUE(sfu_webrtc_server_closed(server2) && sfu_webrtc_transport_closed(t_udp));
    EXPECT(SFU_WORKER_CLOSED, "worker closed", sfu_worker_create_webrtc_server(worker, "{\"listenInfos\":[{\"ip\":\"127.0.0.1\"}]}", &s_out));
    EXPECT(SFU_WORKER_CLOSED, "worker closed", sfu_webrtc_server_dump(server2, &json));
    EXPECT(SFU_WORKER_CLOSED, "worker closed",
           sfu_router_create_webrtc_transport(router, "{\"listenInfos\":[{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\"}]}", &t_out));
    EXPECT(SFU_WORKER_CLOSED, "worker closed", sfu_webrtc_transport_restart_ice(t_udp, &json));
    EXPECT(SFU_WORKER_CLOSED, "worker closed", sfu_webrtc_transport_connect(t_udp, "{\"dtlsParameters\":{\"fingerprints\":[" FP_SHA256 "]}}"));
    EXPECT(SFU_WORKER_CLOSED, "worker closed", sfu_webrtc_transport_get_stats(t_udp, &json));
    EXPECT(SFU_WORKER_CLOSED, "worker closed", sfu_webrtc_transport_dump(t_notcp, &json));
    EXPECT(SFU_WORKER_CLOSED, "worker closed",
           sfu_webrtc_transport_produce(t_udp, "{\"kind\":\"video\",\"rtpParameters\":{\"codecs\":[" VP8_96 "]}}", &(sfu_producer *){NULL}));
    EXPECT_STREQ(sfu_webrtc_transport_ice_state(t_udp), "closed");
    EXPECT(SFU_OK, NULL, sfu_webrtc_transport_dtls_parameters(t_udp, &json)); /* properties stay readable */
    sfu_string_free(json);

    /* handles of closed objects are still freed normally, in any order */
    sfu_string_free(caps);
    sfu_string_free(cands);
    sfu_string_free(srv_cands);
    sfu_worker_free(worker);
    sfu_consumer_free(consumer);
    sfu_producer_free(producer);
    sfu_webrtc_transport_free(t_both);
    sfu_webrtc_transport_free(t_udp);
    sfu_webrtc_transport_free(t_notcp);
    sfu_webrtc_transport_free(t_srv);
    sfu_webrtc_transport_free(t_srv_tcp);
    sfu_webrtc_server_free(server);
    sfu_webrtc_server_free(server2);
    sfu_router_free(router);

    printf("webrtc: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
