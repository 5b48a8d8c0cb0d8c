// setjmp-safe wrappers around libjpeg-turbo for the ImageIO module.
//
// libjpeg reports fatal errors through `error_exit`, which must not return (libjpeg.txt,
// "Error handling"); the standard remedy is setjmp/longjmp as in libjpeg's example.c.
// Swift cannot call setjmp, so every libjpeg call that may fail is made from C here,
// inside a function that has set its own jump point. One context per decode: no shared
// mutable state, so decodes may run concurrently on several threads.
#ifndef CIMAGESUPPORT_H
#define CIMAGESUPPORT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Opaque per-decode context (a jpeg_decompress_struct plus error manager and jump buffer).
typedef struct av_jpeg_decoder av_jpeg_decoder;

/// Header facts reported by `av_jpeg_read_header`.
typedef struct av_jpeg_header {
    int width;              ///< image_width as stored (SOF)
    int height;             ///< image_height as stored (SOF)
    int num_components;     ///< 1, 3 or 4
    int jpeg_color_space;   ///< J_COLOR_SPACE value libjpeg guessed for the file
    int progressive;        ///< 1 when SOF2/SOF6/SOF10 (progressive_mode)
    int arithmetic;         ///< 1 when arithmetic coded
    int saw_adobe_marker;   ///< 1 when an Adobe APP14 marker was seen
    int adobe_transform;    ///< Adobe transform code (0 none, 1 YCbCr, 2 YCCK)
    /// APP1 payload starting with "Exif\0\0", or NULL. It lives in libjpeg's image pool, which
    /// `av_jpeg_decode` frees (jpeg_finish_decompress / jpeg_abort_decompress): read it before decoding.
    const unsigned char *exif;
    unsigned int exif_length;
} av_jpeg_header;

/// Status codes returned by the functions below.
enum {
    AV_JPEG_OK = 0,
    AV_JPEG_ERROR = 1,      ///< fatal libjpeg error; see message / msg_code
    AV_JPEG_WARNING = 2     ///< decode finished but libjpeg emitted a data warning (corrupt/truncated)
};

av_jpeg_decoder *av_jpeg_create(void);
void av_jpeg_destroy(av_jpeg_decoder *dec);

/// Reads markers up to the first SOS from `data` (not copied; must outlive the decoder).
int av_jpeg_read_header(av_jpeg_decoder *dec, const unsigned char *data, size_t length,
                        av_jpeg_header *header);

/// Decodes all scanlines into `out` (rows of `stride` bytes). `out_components` must be 1
/// (JCS_GRAYSCALE), 3 (JCS_RGB) or 4 (JCS_CMYK; for 4-component sources only).
int av_jpeg_decode(av_jpeg_decoder *dec, int out_components, unsigned char *out, size_t stride);

/// Message of the first fatal error or data warning ("" if none).
const char *av_jpeg_message(const av_jpeg_decoder *dec);
/// libjpeg message code (J_MESSAGE_CODE) of that error or warning, -1 if none.
int av_jpeg_msg_code(const av_jpeg_decoder *dec);
/// 1 when the recorded problem means "ran out of data" (JWRN_JPEG_EOF, JERR_INPUT_EOF, JERR_INPUT_EMPTY).
int av_jpeg_is_truncation(const av_jpeg_decoder *dec);

/// Encodes 8-bit gray (components 1) or RGB (components 3) rows into a malloc'ed JPEG buffer.
/// On success returns AV_JPEG_OK and sets *out / *out_length (free with av_free).
/// `exif_orientation` 1-8 writes a minimal APP1 Exif segment with that Orientation; 0 writes none.
int av_jpeg_encode(const unsigned char *pixels, int width, int height, int components, int quality,
                   int progressive, int exif_orientation, unsigned char **out, unsigned long *out_length,
                   char *message, size_t message_capacity);

void av_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
