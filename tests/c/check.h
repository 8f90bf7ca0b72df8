/*
 * The check helpers the C tests share: EXPECT (a call's sfu_result and the thread's last error
 * message), EXPECT_TRUE and its string forms, MUST for setup calls (exits on failure), and
 * sleep_ms. Each test is one translation unit that defines _POSIX_C_SOURCE before including this,
 * and prints `checks` and `failures` as its last line; VERBOSE=1 sets `verbose`.
 */
#ifndef SFU_TESTS_C_CHECK_H
#define SFU_TESTS_C_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sfu.h"

static int checks, failures, verbose;

static inline const char *last_message(void) {
    static char msg[1024];
    sfu_last_error_message(msg, sizeof msg, NULL);
    return msg;
}

/* One check: `got` must be `want` and the thread's last error message must contain `fragment`. */
static inline void expect(int line, const char *what, sfu_result got, sfu_result want, const char *fragment) {
    const char *msg = last_message();
    checks++;
    if (got != want) {
        failures++;
        printf("FAIL (line %d) %s\n  returned %s, expected %s; message: \"%s\"\n", line, what, sfu_result_name((int)got),
               sfu_result_name((int)want), msg);
    } else if (fragment && !strstr(msg, fragment)) {
        failures++;
        printf("FAIL (line %d) %s\n  returned %s as expected, but the message \"%s\" does not contain \"%s\"\n", line, what,
               sfu_result_name((int)got), msg, fragment);
    } else if (verbose) {
        printf("ok %s -> %s \"%s\"\n", what, sfu_result_name((int)got), msg);
    }
}

#define EXPECT(want, fragment, call) expect(__LINE__, #call, (call), (want), (fragment))

static inline void expect_true(int line, const char *what, int ok) {
    checks++;
    if (!ok) {
        failures++;
        printf("FAIL (line %d) %s\n", line, what);
    }
}

#define EXPECT_TRUE(cond) expect_true(__LINE__, #cond, (cond) ? 1 : 0)

/* `text` (a JSON string or state name) must contain `fragment`. */
static inline void expect_contains(int line, const char *what, const char *text, const char *fragment) {
    checks++;
    if (!text || !strstr(text, fragment)) {
        failures++;
        printf("FAIL (line %d) %s does not contain %s: %s\n", line, what, fragment, text ? text : "(NULL)");
    }
}

#define EXPECT_CONTAINS(text, fragment) expect_contains(__LINE__, #text, (text), (fragment))
#define EXPECT_LACKS(text, fragment) expect_true(__LINE__, #text " lacks " #fragment, (text) && !strstr((text), (fragment)))
#define EXPECT_STREQ(a, b) expect_true(__LINE__, #a " == " #b, (a) && (b) && strcmp((a), (b)) == 0)

/* A setup call that must succeed; the program stops here otherwise. */
static inline void must(sfu_result r, const char *what) {
    if (r != SFU_OK) {
        printf("setup failed: %s: %s: %s\n", what, sfu_result_name((int)r), last_message());
        exit(1);
    }
}

#define MUST(call) must((call), #call)

static inline void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#endif
