/*
 * libsfu C face: wrong arguments get the right sfu_result and a message naming what was wrong.
 *
 * A table of bad JSON options per entry point, then NULL handles and pointers, calls on closed
 * objects and after the worker closed, the event-callback thread rule, and the message function
 * itself. Every check prints on failure what it got; the last line counts the checks.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "sfu.h"

/* ---- the objects the table's calls go to ---- */

struct fixture {
    sfu_worker *worker;
    sfu_router *router;
    sfu_plain_transport *transport;  /* not connected: connect() cases go here */
    sfu_plain_transport *transport2; /* produce/consume cases */
    sfu_producer *producer;
    sfu_consumer *consumer;
};

enum entry {
    WORKER_NEW,
    WORKER_UPDATE_SETTINGS,
    CREATE_ROUTER,
    CREATE_TRANSPORT,
    CONNECT,
    PRODUCE,
    CONSUME,
    CAN_CONSUME,
    SET_PREFERRED_LAYERS,
};

static const char *entry_name[] = {
    "sfu_worker_new",           "sfu_worker_update_settings", "sfu_worker_create_router",
    "sfu_router_create_plain_transport", "sfu_plain_transport_connect", "sfu_plain_transport_produce",
    "sfu_plain_transport_consume", "sfu_router_can_consume", "sfu_consumer_set_preferred_layers",
};

struct json_case {
    enum entry entry;
    const char *json; /* "%P" stands for the fixture producer's id */
    sfu_result want;
    const char *fragment;
};

#define VP8_96 "{\"mimeType\":\"video/VP8\",\"payloadType\":96,\"clockRate\":90000}"

static const struct json_case json_cases[] = {
    /* worker settings */
    {WORKER_NEW, "not json", SFU_INVALID_JSON, "settings_json is not valid JSON"},
    {WORKER_NEW, "{\"logLevel\":\"warn\"", SFU_INVALID_JSON, "settings_json"},
    {WORKER_NEW, "\xc3\x28", SFU_INVALID_UTF8, "settings_json is not valid UTF-8"},
    {WORKER_NEW, "\"warn\"", SFU_TYPE_ERROR, "invalid settings"},
    {WORKER_NEW, "{\"logLevel\":5}", SFU_TYPE_ERROR, "settings.logLevel"},
    {WORKER_NEW, "{\"maxTransports\":0}", SFU_TYPE_ERROR, "maxTransports"},
    {WORKER_NEW, "{\"maxConsumersPerTransport\":-1}", SFU_TYPE_ERROR, "maxConsumersPerTransport"},
    {WORKER_NEW, "{\"maxProducersPerTransport\":\"x\"}", SFU_TYPE_ERROR, "maxProducersPerTransport"},
    {WORKER_NEW, "{\"logLevel\":\"loud\"}", SFU_TYPE_ERROR, "logLevel"},
    {WORKER_NEW, "{\"rtcMinPort\":20000,\"rtcMaxPort\":10000}", SFU_TYPE_ERROR, "rtcMinPort"},
    {WORKER_NEW, "{\"rtcMinPort\":0}", SFU_TYPE_ERROR, "rtcMinPort"},
    {WORKER_NEW, "{\"rtcMaxPort\":65536}", SFU_TYPE_ERROR, "settings.rtcMaxPort"},
    {WORKER_NEW, "{\"rtcMinPort\":\"10000\"}", SFU_TYPE_ERROR, "settings.rtcMinPort"},
    {WORKER_NEW, "{\"dtlsCertificateFile\":\"/nonexistent/cert.pem\",\"dtlsPrivateKeyFile\":\"/nonexistent/key.pem\"}", SFU_TYPE_ERROR,
     "dtlsCertificateFile"},
    {WORKER_UPDATE_SETTINGS, "{\"logLevel\":\"loud\"}", SFU_TYPE_ERROR, "logLevel"},
    {WORKER_UPDATE_SETTINGS, "{\"logTags\":\"rtp\"}", SFU_TYPE_ERROR, "settings.logTags"},

    /* router options */
    {CREATE_ROUTER, "{\"mediaCodecs\":[", SFU_INVALID_JSON, "options_json is not valid JSON"},
    {CREATE_ROUTER, "\xff", SFU_INVALID_UTF8, "options_json"},
    {CREATE_ROUTER, "true", SFU_TYPE_ERROR, "invalid options"},
    {CREATE_ROUTER, "{\"mediaCodecs\":{}}", SFU_TYPE_ERROR, "options.mediaCodecs"},
    {CREATE_ROUTER, "{\"mediaCodecs\":[{\"kind\":\"audio\",\"mimeType\":\"audio/nope\",\"clockRate\":8000}]}", SFU_UNSUPPORTED, "audio/nope"},
    {CREATE_ROUTER, "{\"mediaCodecs\":[{\"kind\":\"audio\",\"mimeType\":\"audio/opus\",\"channels\":2}]}", SFU_TYPE_ERROR, "clockRate"},
    {CREATE_ROUTER, "{\"mediaCodecs\":[{\"kind\":\"text\",\"mimeType\":\"audio/opus\",\"clockRate\":48000}]}", SFU_TYPE_ERROR,
     "options.mediaCodecs[0].kind"},
    {CREATE_ROUTER, "{\"mediaCodecs\":[{\"kind\":\"audio\",\"mimeType\":\"audio/opus\",\"clockRate\":-1}]}", SFU_TYPE_ERROR,
     "options.mediaCodecs[0].clockRate"},

    /* plain transport options */
    {CREATE_TRANSPORT, "{}", SFU_TYPE_ERROR, "listenInfo"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"udp\"}}", SFU_TYPE_ERROR, "missing field `ip`"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":\"300.1.1.1\"}}", SFU_TYPE_ERROR, "listenInfo.ip"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":\"localhost\"}}", SFU_TYPE_ERROR, "listenInfo.ip"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":7}}", SFU_TYPE_ERROR, "options.listenInfo.ip"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"sctp\",\"ip\":\"127.0.0.1\"}}", SFU_TYPE_ERROR, "options.listenInfo.protocol"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"tcp\",\"ip\":\"127.0.0.1\"}}", SFU_TYPE_ERROR, "listenInfo.protocol"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\",\"portRange\":{\"min\":5000,\"max\":4000}}}",
     SFU_TYPE_ERROR, "listenInfo.portRange"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\",\"portRange\":{\"min\":0,\"max\":10}}}", SFU_TYPE_ERROR,
     "listenInfo.portRange"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\",\"portRange\":{\"min\":5000}}}", SFU_TYPE_ERROR,
     "options.listenInfo.portRange"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\",\"port\":\"x\"}}", SFU_TYPE_ERROR,
     "options.listenInfo.port"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\",\"port\":70000}}", SFU_TYPE_ERROR,
     "options.listenInfo.port"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\"},\"comedia\":\"yes\"}", SFU_TYPE_ERROR,
     "options.comedia"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\"},\"enableSrtp\":true,\"srtpCryptoSuite\":\"ROT13\"}", SFU_TYPE_ERROR, "srtpCryptoSuite"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\"},\"enableSctp\":true,\"numSctpStreams\":{\"OS\":0,\"MIS\":1}}", SFU_TYPE_ERROR, "numSctpStreams"},
    {CREATE_TRANSPORT, "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":\"192.0.2.1\"}}", SFU_IO_ERROR, "listenInfo"},

    /* connect parameters */
    {CONNECT, "{\"port\":5000}", SFU_TYPE_ERROR, "ip"},
    {CONNECT, "{\"ip\":\"nope\",\"port\":5000}", SFU_TYPE_ERROR, "invalid ip"},
    {CONNECT, "{\"ip\":\"127.0.0.1\"}", SFU_TYPE_ERROR, "port"},
    {CONNECT, "{\"ip\":\"127.0.0.1\",\"port\":-1}", SFU_TYPE_ERROR, "params.port"},
    {CONNECT, "{\"ip\":[127,0,0,1],\"port\":5000}", SFU_TYPE_ERROR, "params.ip"},
    {CONNECT, "{\"ip\":\"127.0.0.1\",\"port\":5000,\"srtpParameters\":{}}", SFU_TYPE_ERROR, "srtpParameters"},

    /* producer options */
    {PRODUCE, "{\"kind\":\"video\"}", SFU_TYPE_ERROR, "rtpParameters"},
    {PRODUCE, "{\"rtpParameters\":{\"codecs\":[" VP8_96 "]}}", SFU_TYPE_ERROR, "kind"},
    {PRODUCE, "{\"kind\":\"data\",\"rtpParameters\":{\"codecs\":[" VP8_96 "]}}", SFU_TYPE_ERROR, "options.kind"},
    {PRODUCE, "{\"kind\":\"video\",\"rtpParameters\":{\"codecs\":[{\"mimeType\":\"video/VP8\",\"payloadType\":\"x\",\"clockRate\":90000}]}}",
     SFU_TYPE_ERROR, "options.rtpParameters.codecs[0].payloadType"},
    {PRODUCE, "{\"kind\":\"video\",\"rtpParameters\":{\"codecs\":[{\"mimeType\":\"video/VP8\",\"payloadType\":96}]}}", SFU_TYPE_ERROR,
     "clockRate"},
    {PRODUCE, "{\"kind\":\"video\",\"rtpParameters\":{\"codecs\":[" VP8_96 "],\"encodings\":[{\"ssrc\":\"one\"}]}}", SFU_TYPE_ERROR,
     "options.rtpParameters.encodings[0].ssrc"},
    {PRODUCE,
     "{\"kind\":\"video\",\"rtpParameters\":{\"codecs\":[{\"mimeType\":\"video/H265\",\"payloadType\":96,\"clockRate\":90000}],"
     "\"encodings\":[{\"ssrc\":5}]}}",
     SFU_UNSUPPORTED, "H265"},
    {PRODUCE, "{\"kind\":\"video\",\"rtpParameters\":{\"codecs\":[" VP8_96 "],\"encodings\":[{\"ssrc\":1111}]}}", SFU_INVALID_STATE,
     "ssrc already exists"},

    /* consumer options */
    {CONSUME, "{\"producerId\":\"no-such-producer\",\"rtpCapabilities\":{}}", SFU_NOT_FOUND, "no-such-producer"},
    {CONSUME, "{\"rtpCapabilities\":{}}", SFU_TYPE_ERROR, "producerId"},
    {CONSUME, "{\"producerId\":5,\"rtpCapabilities\":{}}", SFU_TYPE_ERROR, "options.producerId"},
    {CONSUME, "{\"producerId\":\"%P\"}", SFU_TYPE_ERROR, "rtpCapabilities"},
    {CONSUME, "{\"producerId\":\"%P\",\"rtpCapabilities\":{\"codecs\":[{\"kind\":\"audio\",\"mimeType\":\"audio/opus\",\"clockRate\":\"fast\"}]}}",
     SFU_TYPE_ERROR, "options.rtpCapabilities.codecs[0].clockRate"},
    {CONSUME,
     "{\"producerId\":\"%P\",\"rtpCapabilities\":{\"codecs\":[{\"kind\":\"audio\",\"mimeType\":\"audio/opus\",\"preferredPayloadType\":100,"
     "\"clockRate\":48000,\"channels\":2}]}}",
     SFU_UNSUPPORTED, "cannot consume"},

    /* canConsume and layers */
    {CAN_CONSUME, "{\"codecs\":", SFU_INVALID_JSON, "rtp_capabilities_json"},
    {CAN_CONSUME, "\xfe", SFU_INVALID_UTF8, "rtp_capabilities_json"},
    {SET_PREFERRED_LAYERS, "{\"temporalLayer\":1}", SFU_TYPE_ERROR, "spatialLayer"},
    {SET_PREFERRED_LAYERS, "{\"spatialLayer\":-1}", SFU_TYPE_ERROR, "layers.spatialLayer"},
};

/* Replaces "%P" in json by the fixture producer's id. */
static char *expand(const char *json, const struct fixture *f) {
    const char *id = sfu_producer_id(f->producer);
    size_t len = strlen(json) + strlen(id) + 1;
    char *out = malloc(len);
    const char *p = strstr(json, "%P");
    if (!p) {
        memcpy(out, json, strlen(json) + 1);
    } else {
        snprintf(out, len, "%.*s%s%s", (int)(p - json), json, id, p + 2);
    }
    return out;
}

static sfu_result run_json_case(const struct json_case *c, const struct fixture *f) {
    char *json = expand(c->json, f);
    sfu_result r = SFU_OK;
    switch (c->entry) {
    case WORKER_NEW: {
        sfu_worker *w = NULL;
        r = sfu_worker_new(json, &w);
        sfu_worker_free(w);
        break;
    }
    case WORKER_UPDATE_SETTINGS:
        r = sfu_worker_update_settings(f->worker, json);
        break;
    case CREATE_ROUTER: {
        sfu_router *router = NULL;
        r = sfu_worker_create_router(f->worker, json, &router);
        sfu_router_free(router);
        break;
    }
    case CREATE_TRANSPORT: {
        sfu_plain_transport *t = NULL;
        r = sfu_router_create_plain_transport(f->router, json, &t);
        sfu_plain_transport_free(t);
        break;
    }
    case CONNECT:
        r = sfu_plain_transport_connect(f->transport, json);
        break;
    case PRODUCE: {
        sfu_producer *p = NULL;
        r = sfu_plain_transport_produce(f->transport2, json, &p);
        sfu_producer_free(p);
        break;
    }
    case CONSUME: {
        sfu_consumer *c2 = NULL;
        r = sfu_plain_transport_consume(f->transport2, json, &c2);
        sfu_consumer_free(c2);
        break;
    }
    case CAN_CONSUME: {
        bool can = true;
        r = sfu_router_can_consume(f->router, sfu_producer_id(f->producer), json, &can);
        break;
    }
    case SET_PREFERRED_LAYERS:
        r = sfu_consumer_set_preferred_layers(f->consumer, json);
        break;
    }
    free(json);
    return r;
}

/* ---- the event callback runs on the worker thread, where blocking calls are refused ---- */

struct callback_probe {
    sfu_worker *worker;
    sfu_router *router;
    atomic_int done;
    sfu_result dump_result;
    sfu_result set_callback_result;
    char message[512];
};

static void probe_callback(const char *event_json, void *user_data) {
    struct callback_probe *probe = user_data;
    (void)event_json;
    if (atomic_load(&probe->done)) return;
    char *json = NULL;
    probe->dump_result = sfu_router_dump(probe->router, &json);
    sfu_last_error_message(probe->message, sizeof probe->message, NULL);
    sfu_string_free(json);
    /* Replacing the callback from inside it must not deadlock. */
    probe->set_callback_result = sfu_worker_set_event_callback(probe->worker, NULL, NULL);
    atomic_store(&probe->done, 1);
}

int main(void) {
    struct fixture f = {0};
    char *json = NULL;
    bool flag = false;
    verbose = getenv("VERBOSE") != NULL; /* VERBOSE=1 prints every result and message */

    EXPECT_TRUE(sfu_version() != NULL && sfu_version()[0] >= '0' && sfu_version()[0] <= '9');

    MUST(sfu_worker_new("{\"logLevel\":\"none\",\"rtcMinPort\":41000,\"rtcMaxPort\":41999}", &f.worker));
    MUST(sfu_worker_create_router(f.worker,
                                  "{\"mediaCodecs\":[{\"kind\":\"audio\",\"mimeType\":\"audio/opus\",\"clockRate\":48000,\"channels\":2},"
                                  "{\"kind\":\"video\",\"mimeType\":\"video/VP8\",\"clockRate\":90000}]}",
                                  &f.router));
    const char *listen = "{\"listenInfo\":{\"protocol\":\"udp\",\"ip\":\"127.0.0.1\"}}";
    MUST(sfu_router_create_plain_transport(f.router, listen, &f.transport));
    MUST(sfu_router_create_plain_transport(f.router, listen, &f.transport2));
    MUST(sfu_plain_transport_produce(f.transport2, "{\"kind\":\"video\",\"rtpParameters\":{\"codecs\":[" VP8_96 "],\"encodings\":[{\"ssrc\":1111}]}}",
                                     &f.producer));
    char *caps;
    MUST(sfu_router_rtp_capabilities(f.router, &caps));
    {
        size_t len = strlen(caps) + 128;
        char *opts = malloc(len);
        snprintf(opts, len, "{\"producerId\":\"%s\",\"rtpCapabilities\":%s}", sfu_producer_id(f.producer), caps);
        MUST(sfu_plain_transport_consume(f.transport2, opts, &f.consumer));
        free(opts);
    }

    /* ---- the table ---- */
    for (size_t i = 0; i < sizeof json_cases / sizeof json_cases[0]; i++) {
        const struct json_case *c = &json_cases[i];
        char what[512];
        snprintf(what, sizeof what, "%s(%s)", entry_name[c->entry], c->json);
        expect(__LINE__, what, run_json_case(c, &f), c->want, c->fragment);
    }

    /* canConsume of an unknown producer is false, not an error (as mediasoup) */
    flag = true;
    EXPECT(SFU_OK, NULL, sfu_router_can_consume(f.router, "no-such-producer", caps, &flag));
    EXPECT_TRUE(!flag);
    EXPECT(SFU_OK, NULL, sfu_router_can_consume(f.router, sfu_producer_id(f.producer), caps, &flag));
    EXPECT_TRUE(flag);
    EXPECT(SFU_INVALID_UTF8, "producer_id", sfu_router_can_consume(f.router, "\xff\xfe", caps, &flag));
    EXPECT(SFU_TYPE_ERROR, "invalid priority", sfu_consumer_set_priority(f.consumer, 0));

    /* ---- NULL handles, strings and out-pointers ---- */
    sfu_worker *w_out = (sfu_worker *)&f;
    sfu_router *r_out = (sfu_router *)&f;
    sfu_plain_transport *t_out = (sfu_plain_transport *)&f;
    sfu_producer *p_out = (sfu_producer *)&f;
    sfu_consumer *c_out = (sfu_consumer *)&f;
    EXPECT(SFU_NULL_ARGUMENT, "out_worker", sfu_worker_new(NULL, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "worker", sfu_worker_create_router(NULL, "{}", &r_out));
    EXPECT_TRUE(r_out == NULL); /* out-pointers are NULLed on failure */
    EXPECT(SFU_NULL_ARGUMENT, "options_json", sfu_worker_create_router(f.worker, NULL, &r_out));
    EXPECT(SFU_NULL_ARGUMENT, "out_router", sfu_worker_create_router(f.worker, "{}", NULL));
    EXPECT(SFU_NULL_ARGUMENT, "worker", sfu_worker_set_event_callback(NULL, NULL, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "worker", sfu_worker_dump(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_worker_get_resource_usage(f.worker, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "out_reason", sfu_worker_died(f.worker, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "settings_json", sfu_worker_update_settings(f.worker, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "router", sfu_router_create_plain_transport(NULL, listen, &t_out));
    EXPECT_TRUE(t_out == NULL);
    EXPECT(SFU_NULL_ARGUMENT, "options_json", sfu_router_create_plain_transport(f.router, NULL, &t_out));
    EXPECT(SFU_NULL_ARGUMENT, "out_transport", sfu_router_create_plain_transport(f.router, listen, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "router", sfu_router_rtp_capabilities(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_router_rtp_capabilities(f.router, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "router", sfu_router_dump(NULL, &json));
    EXPECT_TRUE(json == NULL);
    EXPECT(SFU_NULL_ARGUMENT, "producer_id", sfu_router_can_consume(f.router, NULL, caps, &flag));
    EXPECT(SFU_NULL_ARGUMENT, "rtp_capabilities_json", sfu_router_can_consume(f.router, "x", NULL, &flag));
    EXPECT(SFU_NULL_ARGUMENT, "out_can_consume", sfu_router_can_consume(f.router, "x", caps, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_plain_transport_connect(NULL, "{}"));
    EXPECT(SFU_NULL_ARGUMENT, "params_json", sfu_plain_transport_connect(f.transport, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_plain_transport_tuple(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_plain_transport_rtcp_tuple(f.transport, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_plain_transport_get_stats(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_plain_transport_dump(f.transport, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_plain_transport_produce(NULL, "{}", &p_out));
    EXPECT_TRUE(p_out == NULL);
    EXPECT(SFU_NULL_ARGUMENT, "options_json", sfu_plain_transport_produce(f.transport2, NULL, &p_out));
    EXPECT(SFU_NULL_ARGUMENT, "out_producer", sfu_plain_transport_produce(f.transport2, "{}", NULL));
    EXPECT(SFU_NULL_ARGUMENT, "transport", sfu_plain_transport_consume(NULL, "{}", &c_out));
    EXPECT_TRUE(c_out == NULL);
    EXPECT(SFU_NULL_ARGUMENT, "options_json", sfu_plain_transport_consume(f.transport2, NULL, &c_out));
    EXPECT(SFU_NULL_ARGUMENT, "out_consumer", sfu_plain_transport_consume(f.transport2, "{}", NULL));
    EXPECT(SFU_NULL_ARGUMENT, "producer", sfu_producer_pause(NULL));
    EXPECT(SFU_NULL_ARGUMENT, "producer", sfu_producer_resume(NULL));
    EXPECT(SFU_NULL_ARGUMENT, "producer", sfu_producer_rtp_parameters(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_producer_get_stats(f.producer, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "producer", sfu_producer_dump(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "consumer", sfu_consumer_pause(NULL));
    EXPECT(SFU_NULL_ARGUMENT, "consumer", sfu_consumer_resume(NULL));
    EXPECT(SFU_NULL_ARGUMENT, "consumer", sfu_consumer_request_key_frame(NULL));
    EXPECT(SFU_NULL_ARGUMENT, "consumer", sfu_consumer_set_priority(NULL, 2));
    EXPECT(SFU_NULL_ARGUMENT, "layers_json", sfu_consumer_set_preferred_layers(f.consumer, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_consumer_rtp_parameters(f.consumer, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "consumer", sfu_consumer_get_stats(NULL, &json));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_consumer_dump(f.consumer, NULL));
    EXPECT(SFU_NULL_ARGUMENT, "out_json", sfu_supported_rtp_capabilities(NULL));
    (void)w_out;

    /* property getters never fail: NULL handles give NULL / false */
    EXPECT_TRUE(sfu_worker_id(NULL) == NULL);
    EXPECT_TRUE(!sfu_worker_closed(NULL));
    EXPECT_TRUE(sfu_router_id(NULL) == NULL);
    EXPECT_TRUE(!sfu_router_closed(NULL));
    EXPECT_TRUE(sfu_plain_transport_id(NULL) == NULL);
    EXPECT_TRUE(!sfu_plain_transport_closed(NULL));
    EXPECT_TRUE(sfu_producer_id(NULL) == NULL && sfu_producer_kind(NULL) == NULL && sfu_producer_type(NULL) == NULL);
    EXPECT_TRUE(!sfu_producer_paused(NULL) && !sfu_producer_closed(NULL));
    EXPECT_TRUE(sfu_consumer_id(NULL) == NULL && sfu_consumer_producer_id(NULL) == NULL);
    EXPECT_TRUE(sfu_consumer_kind(NULL) == NULL && sfu_consumer_type(NULL) == NULL);
    EXPECT_TRUE(!sfu_consumer_paused(NULL) && !sfu_consumer_producer_paused(NULL) && !sfu_consumer_closed(NULL));
    EXPECT_TRUE(strcmp(sfu_producer_kind(f.producer), "video") == 0 && strcmp(sfu_consumer_type(f.consumer), "simple") == 0);
    EXPECT_TRUE(strcmp(sfu_consumer_producer_id(f.consumer), sfu_producer_id(f.producer)) == 0);

    /* _free(NULL) and _close(NULL) are no-ops */
    sfu_worker_close(NULL);
    sfu_worker_free(NULL);
    sfu_router_close(NULL);
    sfu_router_free(NULL);
    sfu_plain_transport_close(NULL);
    sfu_plain_transport_free(NULL);
    sfu_producer_close(NULL);
    sfu_producer_free(NULL);
    sfu_consumer_close(NULL);
    sfu_consumer_free(NULL);
    sfu_string_free(NULL);
    checks++; /* reaching this line is the check */

    /* ---- the message function ---- */
    EXPECT(SFU_NOT_FOUND, "Producer with id \"no-such-producer\" not found",
           sfu_plain_transport_consume(f.transport2, "{\"producerId\":\"no-such-producer\",\"rtpCapabilities\":{}}", &c_out));
    {
        size_t full = 0, n = 0;
        char small[8];
        EXPECT_TRUE(sfu_last_error_message(NULL, 0, &full) == SFU_OK && full > sizeof small);
        EXPECT_TRUE(sfu_last_error_message(small, sizeof small, &n) == SFU_OK && n == full && strlen(small) == sizeof small - 1);
        EXPECT_TRUE(strncmp(small, "Produce", 7) == 0);
        EXPECT_TRUE(sfu_last_error_message(NULL, 4, &n) == SFU_NULL_ARGUMENT);
        EXPECT_TRUE(sfu_last_error_message(NULL, 0, &n) == SFU_OK && n == full); /* untouched by the bad call */
        MUST(sfu_router_dump(f.router, &json));
        sfu_string_free(json);
        json = NULL;
        EXPECT_TRUE(sfu_last_error_message(small, sizeof small, &n) == SFU_OK && n == 0 && small[0] == 0); /* success clears */
    }
    EXPECT_TRUE(strcmp(sfu_result_name(SFU_NOT_FOUND), "SFU_NOT_FOUND") == 0);
    EXPECT_TRUE(strcmp(sfu_result_name(42), "SFU_UNKNOWN") == 0);

    /* ---- calls on closed objects ---- */
    sfu_producer_close(f.producer);
    sfu_producer_close(f.producer); /* idempotent */
    EXPECT(SFU_INVALID_STATE, "producer closed", sfu_producer_pause(f.producer));
    EXPECT(SFU_INVALID_STATE, "producer closed", sfu_producer_get_stats(f.producer, &json));
    EXPECT(SFU_INVALID_STATE, "consumer closed", sfu_consumer_resume(f.consumer)); /* closed with its producer */
    EXPECT(SFU_INVALID_STATE, "consumer closed", sfu_consumer_request_key_frame(f.consumer));
    EXPECT_TRUE(sfu_producer_closed(f.producer) && sfu_consumer_closed(f.consumer));
    flag = true;
    EXPECT(SFU_OK, NULL, sfu_router_can_consume(f.router, sfu_producer_id(f.producer), caps, &flag));
    EXPECT_TRUE(!flag); /* a closed producer cannot be consumed */

    sfu_plain_transport_close(f.transport2);
    EXPECT(SFU_INVALID_STATE, "transport closed",
           sfu_plain_transport_produce(f.transport2, "{\"kind\":\"video\",\"rtpParameters\":{\"codecs\":[" VP8_96 "]}}", &p_out));
    EXPECT(SFU_INVALID_STATE, "transport closed", sfu_plain_transport_get_stats(f.transport2, &json));
    EXPECT(SFU_INVALID_STATE, "transport closed", sfu_plain_transport_connect(f.transport2, "{\"ip\":\"127.0.0.1\",\"port\":5000}"));

    sfu_router_close(f.router);
    EXPECT(SFU_INVALID_STATE, "router closed", sfu_router_create_plain_transport(f.router, listen, &t_out));
    EXPECT(SFU_INVALID_STATE, "router closed", sfu_router_dump(f.router, &json));
    EXPECT(SFU_INVALID_STATE, "transport closed", sfu_plain_transport_dump(f.transport, &json)); /* closed with its router */
    EXPECT_TRUE(sfu_router_closed(f.router) && sfu_plain_transport_closed(f.transport));

    /* ---- the event callback's thread refuses blocking calls ---- */
    struct callback_probe probe = {0};
    sfu_router *router2;
    sfu_plain_transport *transport3;
    sfu_producer *producer2;
    MUST(sfu_worker_create_router(f.worker, "{\"mediaCodecs\":[{\"kind\":\"video\",\"mimeType\":\"video/VP8\",\"clockRate\":90000}]}", &router2));
    MUST(sfu_router_create_plain_transport(router2, listen, &transport3));
    MUST(sfu_plain_transport_produce(transport3, "{\"kind\":\"video\",\"rtpParameters\":{\"codecs\":[" VP8_96 "],\"encodings\":[{\"ssrc\":7}]}}",
                                     &producer2));
    probe.worker = f.worker;
    probe.router = router2;
    MUST(sfu_worker_set_event_callback(f.worker, probe_callback, &probe));
    sfu_producer_close(producer2); /* emits a closed event on the worker thread */
    for (int i = 0; i < 400 && !atomic_load(&probe.done); i++) sleep_ms(5);
    EXPECT_TRUE(atomic_load(&probe.done));
    expect(__LINE__, "sfu_router_dump() inside the event callback", probe.dump_result, SFU_INVALID_STATE, NULL);
    checks++;
    if (!strstr(probe.message, "worker thread")) {
        failures++;
        printf("FAIL (line %d) callback message \"%s\" does not mention the worker thread\n", __LINE__, probe.message);
    }
    EXPECT_TRUE(probe.set_callback_result == SFU_OK);
    EXPECT(SFU_OK, NULL, sfu_router_dump(router2, &json)); /* fine again from this thread */
    sfu_string_free(json);
    json = NULL;

    /* ---- after the worker closed ---- */
    sfu_worker_close(f.worker);
    sfu_worker_close(f.worker); /* idempotent */
    EXPECT_TRUE(sfu_worker_closed(f.worker));
    EXPECT(SFU_WORKER_CLOSED, "worker closed", sfu_worker_create_router(f.worker, "{}", &r_out));
    EXPECT(SFU_WORKER_CLOSED, "worker closed", sfu_worker_dump(f.worker, &json));
    EXPECT(SFU_WORKER_CLOSED, "worker closed", sfu_router_dump(router2, &json));
    EXPECT(SFU_WORKER_CLOSED, "worker closed", sfu_plain_transport_get_stats(transport3, &json));
    EXPECT(SFU_WORKER_CLOSED, "worker closed", sfu_producer_resume(producer2));
    EXPECT(SFU_WORKER_CLOSED, "worker closed", sfu_consumer_pause(f.consumer));
    EXPECT(SFU_OK, NULL, sfu_worker_died(f.worker, &json));
    EXPECT_TRUE(json == NULL); /* closed, not died */
    EXPECT_TRUE(sfu_router_closed(router2) && sfu_producer_closed(producer2));
    EXPECT(SFU_OK, NULL, sfu_router_rtp_capabilities(router2, &json)); /* properties stay readable */
    sfu_string_free(json);

    /* handles of closed objects are still freed normally, in any order */
    sfu_string_free(caps);
    sfu_worker_free(f.worker);
    sfu_consumer_free(f.consumer);
    sfu_producer_free(f.producer);
    sfu_producer_free(producer2);
    sfu_plain_transport_free(f.transport);
    sfu_plain_transport_free(f.transport2);
    sfu_plain_transport_free(transport3);
    sfu_router_free(f.router);
    sfu_router_free(router2);

    printf("bad_input: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
