#ifndef FOCUS_CIMAGEIO_SHIM_H
#define FOCUS_CIMAGEIO_SHIM_H
#include <turbojpeg.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// libpng's classic API reports errors by calling a handler that must not return; the only way out is
// longjmp. Swift cannot host setjmp, so the whole libpng read lives in this one C function: every
// longjmp lands in the setjmp below and never crosses a Swift frame.
//
// Why not the simplified `png_image` API: it converts 16-bit samples and files with a gAMA chunk
// through linear light, while Pillow (which focus must match) takes the raw samples. Here libpng only
// unpacks (palette -> RGB, 1/2/4-bit gray -> 8-bit, de-interlacing); the 8-bit policy is in Swift.

/// The result of `focus_png_decode`: rows as libpng produced them after the transforms above.
typedef struct {
    unsigned char *pixels;  // [height, rowbytes], malloc'd; the caller frees it with free()
    size_t rowbytes;
    uint32_t width;
    uint32_t height;
    int channels;   // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
    int bit_depth;  // 8 or 16 (16-bit samples are big-endian)
    int color_type; // the file's PNG colour type (0, 2, 3, 4 or 6)
    char message[256];
} focus_png_result;

typedef struct {
    jmp_buf jump;
    char *message;
    size_t message_size;
    const unsigned char *data;
    size_t size;
    size_t position;
} focus_png_context;

static inline void focus_png_error(png_structp png, png_const_charp text) {
    focus_png_context *context = (focus_png_context *)png_get_error_ptr(png);
    snprintf(context->message, context->message_size, "%s", text ? text : "libpng error");
    longjmp(context->jump, 1);
}

static inline void focus_png_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;  // ancillary-chunk problems: Pillow ignores them too
}

static inline void focus_png_read_bytes(png_structp png, png_bytep out, size_t count) {
    focus_png_context *context = (focus_png_context *)png_get_io_ptr(png);
    if (context->size - context->position < count) {
        png_error(png, "unexpected end of file (truncated PNG)");
    }
    memcpy(out, context->data + context->position, count);
    context->position += count;
}

/// Decodes a PNG held in memory. Returns 0 on success, or -1 with `result->message` set.
/// `max_pixels` bounds width * height before any pixel memory is allocated.
static inline int focus_png_decode(
    const unsigned char *data, size_t size, uint64_t max_pixels, focus_png_result *result
) {
    memset(result, 0, sizeof(*result));
    focus_png_context context;
    context.message = result->message;
    context.message_size = sizeof(result->message);
    context.data = data;
    context.size = size;
    context.position = 0;

    png_structp png = png_create_read_struct(
        PNG_LIBPNG_VER_STRING, &context, focus_png_error, focus_png_warning);
    if (!png) {
        snprintf(result->message, sizeof(result->message), "cannot create a libpng reader");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        snprintf(result->message, sizeof(result->message), "cannot create a libpng info struct");
        return -1;
    }
    // Written after setjmp and read after a longjmp: must be volatile.
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(context.jump)) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(rows);
        return -1;
    }
    png_set_read_fn(png, &context, focus_png_read_bytes);
    png_read_info(png, info);

    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    int color_type = png_get_color_type(png, info);
    if ((uint64_t)width * (uint64_t)height > max_pixels) {
        snprintf(result->message, sizeof(result->message),
                 "image is too large (%ux%u pixels, limit %llu)", (unsigned)width, (unsigned)height,
                 (unsigned long long)max_pixels);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(png);
    }
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) {
        png_set_expand_gray_1_2_4_to_8(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t rowbytes = png_get_rowbytes(png, info);
    int channels = png_get_channels(png, info);
    int out_depth = png_get_bit_depth(png, info);
    if (height != 0 && rowbytes > SIZE_MAX / height) {
        png_error(png, "image is too large");
    }
    pixels = (unsigned char *)malloc(rowbytes * height + 1);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (height + 1));
    if (!pixels || !rows) {
        png_error(png, "out of memory");
    }
    for (png_uint_32 y = 0; y < height; y++) {
        rows[y] = pixels + (size_t)y * rowbytes;
    }
    png_read_image(png, rows);
    // No png_read_end: like Pillow, whatever follows the image data (even a missing IEND) is ignored.
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);

    result->pixels = pixels;
    result->rowbytes = rowbytes;
    result->width = width;
    result->height = height;
    result->channels = channels;
    result->bit_depth = out_depth;
    result->color_type = color_type;
    return 0;
}

#endif
