/* The C side of the protobuf interop test: built against protoc-c's output for proto/focus.proto
 * and Debian's libprotobuf-c by ProtobufCInteropTests.
 *   interop decode FILE   prints the Task in the Envelope that Swift wrote to FILE
 *   interop encode FILE   writes an Envelope with a Result for Swift to decode */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "focus.pb-c.h"

static int decode(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return 2; }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    Focus__Envelope *env = focus__envelope__unpack(NULL, n, buf);
    if (!env) { fprintf(stderr, "not an Envelope\n"); return 3; }
    if (env->body_case != FOCUS__ENVELOPE__BODY_TASK) { fprintf(stderr, "not a Task\n"); return 4; }
    Focus__Task *t = env->task;
    printf("version %u\n", env->protocol_version);
    printf("task %llu attempt %u bucket %d\n", (unsigned long long)t->task_id, t->attempt, (int)t->bucket);
    printf("prompt %s\n", t->prompt);
    for (size_t i = 0; i < t->n_views; i++) {
        Focus__ImageView *v = t->views[i];
        printf("view %s", v->path);
        if (v->crop) printf(" crop %.2f %.2f %.2f %.2f", v->crop->x, v->crop->y, v->crop->width, v->crop->height);
        printf(" canvas %zu\n", v->n_canvas);
    }
    if (t->operation_case == FOCUS__TASK__OPERATION_CANDIDATES) {
        printf("candidates");
        for (size_t i = 0; i < t->candidates->n_words; i++) printf(" %s", t->candidates->words[i]);
        printf("\n");
    } else if (t->operation_case == FOCUS__TASK__OPERATION_RELEVANCE) {
        Focus__RelevanceOptions *o = t->relevance->options;
        printf("relevance %s %s %s layers %d %u %u\n", t->relevance->phrase, o->source, o->aggregation,
               (int)o->has_layers, o->layer_start, o->layer_end);
    } else {
        printf("operation %d\n", (int)t->operation_case);
    }
    focus__envelope__free_unpacked(env, NULL);
    return 0;
}

static int encode(const char *path) {
    Focus__Envelope env = FOCUS__ENVELOPE__INIT;
    Focus__Result result = FOCUS__RESULT__INIT;
    Focus__Map map = FOCUS__MAP__INIT;
    Focus__Geometry geometry = FOCUS__GEOMETRY__INIT;
    Focus__Cost cost = FOCUS__COST__INIT;
    float scores[6] = {0.0f, 0.125f, 0.25f, 0.375f, 0.125f, 0.125f};
    env.protocol_version = 1;
    env.body_case = FOCUS__ENVELOPE__BODY_RESULT;
    env.result = &result;
    result.task_id = 78;
    result.attempt = 2;
    result.output_case = FOCUS__RESULT__OUTPUT_RELEVANCE;
    result.relevance = &map;
    map.rows = 2;
    map.columns = 3;
    map.n_scores = 6;
    map.scores = scores;
    map.geometry = &geometry;
    geometry.original_width = 2048;
    geometry.original_height = 1536;
    geometry.pad_top = 256;
    geometry.padded_width = 2048;
    geometry.padded_height = 2048;
    geometry.resized_width = 96;
    geometry.resized_height = 96;
    geometry.input_width = 96;
    geometry.input_height = 96;
    result.cost = &cost;
    cost.bucket = FOCUS__BUCKET__BUCKET_SEARCH;
    cost.forward_passes = 1;
    cost.prefill_tokens = 183;
    cost.flops = 2.5e9;
    cost.seconds = 0.03125;
    result.queue_seconds = 0.5;
    result.prefix_cache_hit = 1;
    size_t size = focus__envelope__get_packed_size(&env);
    uint8_t *out = malloc(size);
    focus__envelope__pack(&env, out);
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); return 2; }
    fwrite(out, 1, size, f);
    fclose(f);
    free(out);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: interop decode|encode FILE\n"); return 1; }
    if (strcmp(argv[1], "decode") == 0) return decode(argv[2]);
    if (strcmp(argv[1], "encode") == 0) return encode(argv[2]);
    return 1;
}
