/*
 * classify.h - must this message never get an automatic answer? The rules
 * of RFC 3834 and RFC 5230, and those the anchors miss (see
 * docs/autoreply.md), each with a machine-readable reason.
 */
#ifndef MOAT_AUTOREPLY_CLASSIFY_H
#define MOAT_AUTOREPLY_CLASSIFY_H

#include "headers.h"

typedef struct classify_input {
    const char *envelope_sender;   /* "" for the null sender */
    const char *recipients;        /* the envelope recipients, comma-separated */
    const char *spam_score;        /* Exim's $spam_score, "" when not scanned */
    const char *spf_result;        /* $spf_result, "" when not checked */
    int catchall_only;             /* reached only through a catch-all (catchall's verdict) */
    double spam_threshold;
    int max_hops;
} classify_input;

typedef struct classify_result {
    int never;          /* never answer this message automatically */
    int suspect;        /* spam or forgery: no NDR to its sender either */
    int automatic;      /* the message is itself an auto-reply or a report */
    int report;         /* a delivery or disposition report */
    char reasons[512];  /* comma-separated reasons, "" when answerable */
} classify_result;

void autoreply_classify(const header_block *hb, const classify_input *in, classify_result *out);

/* robot_address - whether an address (lower-cased) is a robot's or a no-reply one */
int robot_address(const char *address);

#endif
