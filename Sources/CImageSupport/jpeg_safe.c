// setjmp-safe libjpeg-turbo decode/encode helpers. See include/CImageSupport.h.
// References: libjpeg-turbo libjpeg.txt ("Error handling", "Decompression details"), example.c.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

#include "CImageSupport.h"

/// Progressive files can declare thousands of tiny scans (a CPU DoS); libjpeg-turbo's
/// djpeg uses a similar limit (-maxscans).
#define AV_MAX_SCANS 1000

struct av_error_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    int msg_code;        // first recorded error / significant warning
    int data_warnings;   // warnings that indicate corrupt or truncated data
};

struct av_jpeg_decoder {
    struct jpeg_decompress_struct cinfo;
    struct av_error_mgr err;
    struct jpeg_progress_mgr progress;
    int created;
    int started;
};

static void av_error_exit(j_common_ptr cinfo) {
    struct av_error_mgr *err = (struct av_error_mgr *)cinfo->err;
    // Keep the first problem: a data warning usually explains the error that follows it.
    if (err->msg_code < 0) {
        err->msg_code = err->pub.msg_code;
        (*cinfo->err->format_message)(cinfo, err->message);
    }
    longjmp(err->jump, 1);
}

/// Metadata-only warnings that do not affect decoded pixels; every other warning means
/// the entropy-coded data was corrupt or truncated and is reported to the caller.
static int av_is_benign_warning(int code) {
    switch (code) {
    case JWRN_ADOBE_XFORM:
    case JWRN_JFIF_MAJOR:
    case JWRN_BOGUS_ICC:
        return 1;
    default:
        return 0;
    }
}

static void av_emit_message(j_common_ptr cinfo, int msg_level) {
    struct av_error_mgr *err = (struct av_error_mgr *)cinfo->err;
    if (msg_level < 0) {  // warning: count it, never print to stderr
        err->pub.num_warnings++;
        if (!av_is_benign_warning(err->pub.msg_code)) {
            err->data_warnings++;
            if (err->msg_code < 0) {
                err->msg_code = err->pub.msg_code;
                (*cinfo->err->format_message)(cinfo, err->message);
            }
        }
    }
    // msg_level >= 0: trace messages, ignored.
}

static void av_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void av_progress(j_common_ptr cinfo) {
    if (cinfo->is_decompressor) {
        j_decompress_ptr d = (j_decompress_ptr)cinfo;
        if (d->input_scan_number > AV_MAX_SCANS) {
            // Reuse a generic libjpeg code with our own text.
            struct av_error_mgr *err = (struct av_error_mgr *)cinfo->err;
            if (err->msg_code < 0) {
                err->msg_code = JERR_NOT_COMPILED;
                snprintf(err->message, sizeof err->message, "too many progressive scans (more than %d)",
                         AV_MAX_SCANS);
            }
            longjmp(err->jump, 1);
        }
    }
}

static void av_init_error(struct av_error_mgr *err) {
    jpeg_std_error(&err->pub);
    err->pub.error_exit = av_error_exit;
    err->pub.emit_message = av_emit_message;
    err->pub.output_message = av_output_message;
    err->message[0] = 0;
    err->msg_code = -1;
    err->data_warnings = 0;
}

av_jpeg_decoder *av_jpeg_create(void) {
    av_jpeg_decoder *dec = (av_jpeg_decoder *)calloc(1, sizeof(av_jpeg_decoder));
    if (dec == NULL) return NULL;
    av_init_error(&dec->err);
    dec->cinfo.err = &dec->err.pub;
    if (setjmp(dec->err.jump)) {
        free(dec);
        return NULL;
    }
    jpeg_create_decompress(&dec->cinfo);
    dec->created = 1;
    dec->progress.progress_monitor = av_progress;
    dec->cinfo.progress = &dec->progress;
    return dec;
}

void av_jpeg_destroy(av_jpeg_decoder *dec) {
    if (dec == NULL) return;
    if (dec->created) jpeg_destroy_decompress(&dec->cinfo);  // never calls error_exit
    free(dec);
}

int av_jpeg_read_header(av_jpeg_decoder *dec, const unsigned char *data, size_t length,
                        av_jpeg_header *header) {
    j_decompress_ptr cinfo = &dec->cinfo;
    memset(header, 0, sizeof *header);
    if (setjmp(dec->err.jump)) return AV_JPEG_ERROR;
    jpeg_mem_src(cinfo, data, (unsigned long)length);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(cinfo, TRUE);
    header->width = (int)cinfo->image_width;
    header->height = (int)cinfo->image_height;
    header->num_components = cinfo->num_components;
    header->jpeg_color_space = (int)cinfo->jpeg_color_space;
    header->progressive = cinfo->progressive_mode ? 1 : 0;
    header->arithmetic = cinfo->arith_code ? 1 : 0;
    header->saw_adobe_marker = cinfo->saw_Adobe_marker ? 1 : 0;
    header->adobe_transform = cinfo->Adobe_transform;
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
            header->exif = m->data;
            header->exif_length = m->data_length;
            break;
        }
    }
    return AV_JPEG_OK;
}

int av_jpeg_decode(av_jpeg_decoder *dec, int out_components, unsigned char *out, size_t stride) {
    j_decompress_ptr cinfo = &dec->cinfo;
    if (setjmp(dec->err.jump)) return AV_JPEG_ERROR;
    switch (out_components) {
    case 1: cinfo->out_color_space = JCS_GRAYSCALE; break;
    case 3: cinfo->out_color_space = JCS_RGB; break;
    case 4: cinfo->out_color_space = JCS_CMYK; break;  // libjpeg converts YCCK -> CMYK
    default:
        dec->err.msg_code = JERR_CONVERSION_NOTIMPL;
        snprintf(dec->err.message, sizeof dec->err.message, "unsupported output components %d", out_components);
        return AV_JPEG_ERROR;
    }
    cinfo->dct_method = JDCT_ISLOW;
    jpeg_start_decompress(cinfo);
    dec->started = 1;
    if (cinfo->output_components != out_components) {
        dec->err.msg_code = JERR_CONVERSION_NOTIMPL;
        snprintf(dec->err.message, sizeof dec->err.message, "libjpeg produced %d components, expected %d",
                 cinfo->output_components, out_components);
        jpeg_abort_decompress(cinfo);
        return AV_JPEG_ERROR;
    }
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = out + (size_t)cinfo->output_scanline * stride;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            // Suspension cannot happen with jpeg_mem_src; treat as truncation defensively.
            if (dec->err.msg_code < 0) {
                dec->err.msg_code = JWRN_JPEG_EOF;
                snprintf(dec->err.message, sizeof dec->err.message, "Premature end of JPEG file");
            }
            return AV_JPEG_ERROR;
        }
    }
    jpeg_finish_decompress(cinfo);  // reads to EOI; may warn about premature end
    return dec->err.data_warnings > 0 ? AV_JPEG_WARNING : AV_JPEG_OK;
}

const char *av_jpeg_message(const av_jpeg_decoder *dec) { return dec->err.message; }

int av_jpeg_msg_code(const av_jpeg_decoder *dec) { return dec->err.msg_code; }

int av_jpeg_is_truncation(const av_jpeg_decoder *dec) {
    int code = dec->err.msg_code;
    return code == JWRN_JPEG_EOF || code == JERR_INPUT_EOF || code == JERR_INPUT_EMPTY;
}

// MARK: - Encoding

/// Minimal big-endian TIFF header with IFD0 holding one SHORT Orientation entry (EXIF 2.32, 4.6.4).
static void av_write_exif_orientation(j_compress_ptr cinfo, int orientation) {
    static const unsigned char base[] = {
        'E', 'x', 'i', 'f', 0, 0,
        'M', 'M', 0, 42, 0, 0, 0, 8,         // TIFF header, IFD0 at offset 8
        0, 1,                                // one entry
        0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0,  // tag 0x0112, SHORT, count 1, value
        0, 0, 0, 0                           // no next IFD
    };
    unsigned char bytes[sizeof base];
    memcpy(bytes, base, sizeof base);
    bytes[6 + 8 + 2 + 8] = (unsigned char)(orientation >> 8);
    bytes[6 + 8 + 2 + 9] = (unsigned char)(orientation & 0xFF);
    jpeg_write_marker(cinfo, JPEG_APP0 + 1, bytes, (unsigned int)sizeof bytes);
}

int av_jpeg_encode(const unsigned char *pixels, int width, int height, int components, int quality,
                   int progressive, int exif_orientation, unsigned char **out, unsigned long *out_length,
                   char *message, size_t message_capacity) {
    struct jpeg_compress_struct cinfo;
    struct av_error_mgr err;
    // Written by libjpeg through their addresses, so they live in memory and survive longjmp.
    unsigned char *mem = NULL;
    unsigned long size = 0;
    *out = NULL;
    *out_length = 0;
    if (components != 1 && components != 3) {
        snprintf(message, message_capacity, "JPEG encoding supports 1 or 3 channels, got %d", components);
        return AV_JPEG_ERROR;
    }
    av_init_error(&err);
    cinfo.err = &err.pub;
    if (setjmp(err.jump)) {
        snprintf(message, message_capacity, "%s", err.message);
        jpeg_destroy_compress(&cinfo);
        if (mem != NULL) free(mem);
        return AV_JPEG_ERROR;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &mem, &size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = components;
    cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (progressive) jpeg_simple_progression(&cinfo);
    jpeg_start_compress(&cinfo, TRUE);
    if (exif_orientation >= 1 && exif_orientation <= 8) av_write_exif_orientation(&cinfo, exif_orientation);
    size_t stride = (size_t)width * (size_t)components;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    // jpeg_mem_dest may have reallocated; the final pointer/size are in mem/size.
    *out = mem;
    *out_length = size;
    jpeg_destroy_compress(&cinfo);
    return AV_JPEG_OK;
}

void av_free(void *pointer) { free(pointer); }
