// `{{name}}`: an airssys component in C.
//
// It implements the contract in wit/component.wit (package
// airssys:component@0.1.0, world `plugin`: it exports `guest` and may import
// `host`), with the C bindings `wit-bindgen c` generates from that file into
// build/bindings (plugin.h, plugin.c, plugin_component_type.o): see build.sh.
//
// What it does: it upper-cases the ASCII letters a-z of its input and keeps
// every other byte as it is ("hello, wörld" becomes "HELLO, WöRLD"), with the
// optional config `prefix` put in front. Any other config key is an
// `invalid-config` error at `init`. The templates of `airssys new` in Rust,
// Python and JavaScript behave exactly the same.
//
// Memory: arguments (config, input) are owned by the callee and freed here;
// everything returned must come from malloc, because the generated
// post-return functions free it after the host has copied it.

#include <stdlib.h>
#include <string.h>

#include "plugin.h"

typedef airssys_component_types_error_t guest_error_t;

// The `prefix` config, set by init; `initialized` is false before init and after shutdown.
static bool initialized = false;
static plugin_string_t prefix = {NULL, 0};

static bool string_is(const plugin_string_t *s, const char *text) {
    size_t len = strlen(text);
    return s->len == len && memcmp(s->ptr, text, len) == 0;
}

// A heap copy of `len` bytes at `bytes` (at least one byte is allocated, so
// the copy is never a null pointer).
static uint8_t *copy_bytes(const uint8_t *bytes, size_t len) {
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) abort();
    if (len) memcpy(copy, bytes, len);
    return copy;
}

// An error of `kind` whose message is the concatenation of the `count` strings at `parts`.
static void set_error(guest_error_t *err, airssys_component_types_error_kind_t kind, const plugin_string_t *parts,
                      size_t count) {
    size_t len = 0;
    for (size_t i = 0; i < count; i++) len += parts[i].len;
    uint8_t *message = malloc(len ? len : 1);
    if (!message) abort();
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        if (parts[i].len) memcpy(message + at, parts[i].ptr, parts[i].len);
        at += parts[i].len;
    }
    err->kind = kind;
    err->message = (plugin_string_t){message, len};
    err->retryable = false;
}

static plugin_string_t text(const char *s) {
    return (plugin_string_t){(uint8_t *)s, strlen(s)};
}

static void clear_prefix(void) {
    free(prefix.ptr);
    prefix = (plugin_string_t){NULL, 0};
    initialized = false;
}

bool exports_airssys_component_guest_init(exports_airssys_component_guest_config_t *config, guest_error_t *err) {
    plugin_string_t found = {NULL, 0};
    for (size_t i = 0; i < config->len; i++) {
        plugin_string_t *key = &config->ptr[i].f0, *value = &config->ptr[i].f1;
        if (string_is(key, "prefix")) {
            free(found.ptr);
            found = (plugin_string_t){copy_bytes(value->ptr, value->len), value->len};
        } else {
            plugin_string_t parts[] = {text("unknown config key `"), *key, text("`: the only key is `prefix`")};
            set_error(err, AIRSSYS_COMPONENT_TYPES_ERROR_KIND_INVALID_CONFIG, parts, 3);
            free(found.ptr);
            exports_airssys_component_guest_config_free(config);
            return false;
        }
    }
    exports_airssys_component_guest_config_free(config);
    clear_prefix();
    prefix = found;
    initialized = true;
    return true;
}

bool exports_airssys_component_guest_execute(exports_airssys_component_guest_input_t *input,
                                             exports_airssys_component_guest_output_t *ret, guest_error_t *err) {
    if (!initialized) {
        plugin_string_t message = text("execute was called before init");
        set_error(err, AIRSSYS_COMPONENT_TYPES_ERROR_KIND_NOT_INITIALIZED, &message, 1);
        exports_airssys_component_guest_input_free(input);
        return false;
    }
    size_t in_len = input->data.len, len = prefix.len + in_len;
    uint8_t *data = malloc(len ? len : 1);
    if (!data) abort();
    if (prefix.len) memcpy(data, prefix.ptr, prefix.len);
    for (size_t i = 0; i < in_len; i++) {
        uint8_t byte = input->data.ptr[i];
        data[prefix.len + i] = (byte >= 'a' && byte <= 'z') ? (uint8_t)(byte - 'a' + 'A') : byte;
    }
    exports_airssys_component_guest_input_free(input);

    // One debug line through the host: `bytes` is the input's length in decimal.
    char digits[24];
    size_t at = sizeof digits;
    size_t n = in_len;
    do {
        digits[--at] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    plugin_tuple2_string_string_t field = {text("bytes"), {(uint8_t *)digits + at, sizeof digits - at}};
    plugin_list_tuple2_string_string_t fields = {&field, 1};
    plugin_string_t message = text("upper-cased the input");
    airssys_component_host_log(AIRSSYS_COMPONENT_HOST_LOG_LEVEL_DEBUG, &message, &fields);

    airssys_component_types_tuple2_string_value_t *meta = malloc(sizeof *meta);
    if (!meta) abort();
    plugin_string_dup(&meta->f0, "content-type");
    meta->f1.tag = AIRSSYS_COMPONENT_TYPES_VALUE_TEXT;
    plugin_string_dup(&meta->f1.val.text, "text/plain");
    ret->data = (plugin_list_u8_t){data, len};
    ret->metadata = (airssys_component_types_metadata_map_t){meta, 1};
    return true;
}

bool exports_airssys_component_guest_shutdown(guest_error_t *err) {
    (void)err;
    clear_prefix();
    return true;
}

static plugin_list_string_t one_string(const char *s) {
    plugin_string_t *item = malloc(sizeof *item);
    if (!item) abort();
    plugin_string_dup(item, s);
    return (plugin_list_string_t){item, 1};
}

void exports_airssys_component_guest_metadata(exports_airssys_component_guest_component_metadata_t *ret) {
    plugin_string_dup(&ret->name, "{{name}}");
    plugin_string_dup(&ret->version, "0.1.0");
    plugin_string_dup(&ret->description, "Upper-cases the ASCII letters of its input");
    ret->accepts = one_string("text/plain");
    ret->produces = one_string("text/plain");
    ret->stateful = false;
}

void exports_airssys_component_guest_required_capabilities(exports_airssys_component_guest_list_capability_t *ret) {
    ret->ptr = NULL;
    ret->len = 0;
}

void exports_airssys_component_guest_health(exports_airssys_component_guest_health_status_t *ret) {
    ret->tag = AIRSSYS_COMPONENT_TYPES_HEALTH_STATUS_HEALTHY;
}
