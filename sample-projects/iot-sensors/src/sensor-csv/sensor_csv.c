/*
 * sensor-csv: turns CSV sensor readings into newline-delimited JSON.
 *
 * A plain WASI command (it exports wasi:cli/run once wrapped into a
 * component). It reads lines `sensor_id,timestamp,value` from standard input
 * and writes one JSON object per reading to standard output:
 *
 *     t1,1700000000,21.5   ->   {"sensor":"t1","ts":1700000000,"value":21.5}
 *
 * - Blank lines are skipped. The first non-blank line is skipped as a header
 *   when neither its timestamp nor its value field is a number
 *   (for example `sensor_id,timestamp,value`).
 * - Fields are trimmed; CRLF line endings are accepted. Quoted fields are not
 *   supported: a sensor id cannot contain a comma.
 * - timestamp: a base-10 signed 64-bit integer. value: a finite decimal number
 *   (no hex, inf or nan). It is printed in the shortest form that reads back
 *   to the same double.
 * - A malformed line stops the program: the message names the line number,
 *   goes to standard error, and the exit code is 1. Lines before it have
 *   already been written.
 *
 * Build (see ../../../build-components.sh):
 *   clang-16 --target=wasm32-wasi --sysroot=/usr -O2 -o sensor_csv.core.wasm sensor_csv.c
 *   componentize --command sensor_csv.core.wasm sensor-csv.wasm
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_COUNT 3
#define SHOWN_MAX 40 /* longest field quoted back in an error message */

static unsigned long line_no = 0;

static void usage(FILE *to) {
    fputs("usage: sensor-csv < readings.csv > readings.ndjson\n"
          "Reads CSV lines `sensor_id,timestamp,value` from stdin and writes one JSON\n"
          "object per line to stdout: {\"sensor\":\"t1\",\"ts\":1700000000,\"value\":21.5}\n"
          "An optional header line and blank lines are skipped. A malformed line is\n"
          "reported on stderr with its line number and the exit code is 1.\n",
          to);
}

/* Reports a malformed input line and exits with code 1. */
static void fail_line(const char *what, const char *field) {
    fflush(stdout);
    if (field != NULL) {
        int shown = (int)strlen(field);
        const char *ellipsis = "";
        if (shown > SHOWN_MAX) {
            shown = SHOWN_MAX;
            ellipsis = "...";
        }
        fprintf(stderr, "sensor-csv: line %lu: %s: \"%.*s%s\"\n", line_no, what, shown, field,
                ellipsis);
    } else {
        fprintf(stderr, "sensor-csv: line %lu: %s\n", line_no, what);
    }
    exit(1);
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Trims surrounding whitespace in place; returns the new start. */
static char *trim(char *s) {
    while (is_space(*s)) {
        s++;
    }
    size_t len = strlen(s);
    while (len > 0 && is_space(s[len - 1])) {
        s[--len] = '\0';
    }
    return s;
}

/* Parses a whole field as a base-10 int64. Returns 1 on success. */
static int parse_int64(const char *s, int64_t *out) {
    if (*s == '\0') {
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        return 0;
    }
    *out = (int64_t)v;
    return 1;
}

/* Parses a whole field as a finite decimal number. Returns 1 on success. */
static int parse_number(const char *s, double *out) {
    if (*s == '\0') {
        return 0;
    }
    /* Decimal notation only: rules out hex floats, inf and nan. */
    for (const char *p = s; *p != '\0'; p++) {
        if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '+' || *p == 'e' ||
              *p == 'E')) {
            return 0;
        }
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v) || (errno == ERANGE && fabs(v) > 1.0)) {
        return 0;
    }
    *out = v;
    return 1;
}

/* Whether s is valid UTF-8 without control characters. */
static int is_clean_text(const unsigned char *s) {
    while (*s != '\0') {
        unsigned char c = *s;
        size_t extra;
        uint32_t cp;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                return 0;
            }
            s++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (size_t i = 1; i <= extra; i++) {
            if ((s[i] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        static const uint32_t min_for_len[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_for_len[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
        s += extra + 1;
    }
    return 1;
}

/* Writes s as a JSON string (s is clean text: only `"` and `\` need escapes). */
static void put_json_string(const char *s) {
    putchar('"');
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\') {
            putchar('\\');
        }
        putchar(*s);
    }
    putchar('"');
}

/* Writes v in the shortest %g form that reads back to the same double. */
static void put_json_number(double v) {
    char buf[40];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (strtod(buf, NULL) == v) {
            break;
        }
    }
    fputs(buf, stdout);
}

/* Splits line at commas into exactly FIELD_COUNT trimmed fields. */
static void split_fields(char *line, char *fields[FIELD_COUNT]) {
    int count = 0;
    char *start = line;
    for (char *p = line;; p++) {
        if (*p == ',' || *p == '\0') {
            int last = (*p == '\0');
            if (count < FIELD_COUNT) {
                *p = '\0';
                fields[count] = trim(start);
            }
            count++;
            if (last) {
                break;
            }
            start = p + 1;
        }
    }
    if (count != FIELD_COUNT) {
        char msg[96];
        snprintf(msg, sizeof msg, "expected %d fields (sensor_id,timestamp,value), found %d",
                 FIELD_COUNT, count);
        fail_line(msg, NULL);
    }
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, "sensor-csv: unexpected argument \"%s\"\n", argv[i]);
        usage(stderr);
        return 2;
    }

    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int seen_content = 0;

    while ((len = getline(&line, &cap, stdin)) != -1) {
        line_no++;
        if ((size_t)len != strlen(line)) {
            fail_line("line contains a NUL byte", NULL);
        }
        char *text = trim(line);
        if (*text == '\0') {
            continue; /* blank line */
        }

        char *fields[FIELD_COUNT];
        split_fields(text, fields);
        const char *sensor = fields[0];
        int64_t ts = 0;
        double value = 0.0;
        int ts_ok = parse_int64(fields[1], &ts);
        int value_ok = parse_number(fields[2], &value);

        if (!seen_content) {
            seen_content = 1;
            if (!ts_ok && !value_ok) {
                continue; /* header line */
            }
        }

        if (*sensor == '\0') {
            fail_line("empty sensor id", NULL);
        }
        if (!is_clean_text((const unsigned char *)sensor)) {
            fail_line("sensor id must be UTF-8 text without control characters", NULL);
        }
        if (!ts_ok) {
            fail_line("timestamp is not a 64-bit integer", fields[1]);
        }
        if (!value_ok) {
            fail_line("value is not a finite decimal number", fields[2]);
        }

        fputs("{\"sensor\":", stdout);
        put_json_string(sensor);
        printf(",\"ts\":%" PRId64 ",\"value\":", ts);
        put_json_number(value);
        fputs("}\n", stdout);
    }
    free(line);

    if (ferror(stdin)) {
        fprintf(stderr, "sensor-csv: error reading stdin: %s\n", strerror(errno));
        return 1;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "sensor-csv: error writing stdout: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
