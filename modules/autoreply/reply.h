/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reply.h - what moat writes into an auto-reply it makes (the shipped
 * vacation responder, Exim's autoreply transport), and whether to make one.
 *
 * Nothing from the inbound message is copied as it came: the Subject is
 * decoded, cleaned, bounded and encoded again (encoded_words.h); message
 * ids are checked one by one; the reply goes only to an envelope sender
 * that is one plain address; and only a user the message was addressed to
 * answers (RFC 3834 2, RFC 5230 4.5).
 */
#ifndef MOAT_AUTOREPLY_REPLY_H
#define MOAT_AUTOREPLY_REPLY_H

#include <stddef.h>

#include "headers.h"

#define REPLY_SUBJECT_TEXT_MAX 200     /* bytes of the original subject kept */
#define REPLY_SUBJECT_MAX 1024         /* the encoded, folded value */
#define REPLY_THREADING_MAX 4096       /* In-Reply-To and References, folded */
#define REPLY_TEXT_MAX ((size_t)64 * 1024)     /* the reply text kept */
#define REPLY_MSGID_MAX 250            /* a longer message id is not copied */
#define REPLY_REFERENCES_MAX 12        /* the first and the last 11, as Exim keeps */

/*
 * reply_subject - the reply's Subject value: "Auto: " and the original
 * subject (or "your message"), ready for a header line that starts with
 * "Subject: ". Printable US-ASCII, folded with "\n ". Returns out.
 */
char *reply_subject(const header_block *hb, char *out, size_t cap);

/*
 * reply_sender_problem - why the envelope sender cannot be answered, or
 * NULL when it can: one address, a dot-atom local part and a host name,
 * printable US-ASCII, at most 254 characters (RFC 5321 4.5.3.1.3).
 * A quoted local part or an SMTPUTF8 address is not answered.
 */
const char *reply_sender_problem(const char *sender);

/*
 * reply_addressed - whether one of the user's addresses (addresses[0..n))
 * is in To, Cc, Bcc, Resent-To, Resent-Cc or Resent-Bcc (RFC 5230 4.5),
 * any case, a "+detail" in the header's address ignored. One pass over
 * the header, linear in its size.
 */
int reply_addressed(const header_block *hb, const char *const *addresses, size_t n);

/*
 * reply_threading - In-Reply-To and References for a reply to the message
 * of hb (RFC 5322 3.6.4): its Message-ID, and its References (or its
 * In-Reply-To) followed by its Message-ID, the first and the latest
 * REPLY_REFERENCES_MAX ids, one per folded line. Ids that are not clean
 * (blanks, controls, 8-bit, over REPLY_MSGID_MAX) are left out. Writes
 * complete header lines ending in "\n" ("" when no id is usable). Returns out.
 */
char *reply_threading(const header_block *hb, char *out, size_t cap);

/*
 * reply_compose - the whole reply, RFC 5322 clean: From: from, To: to,
 * Subject (reply_subject), threading, Auto-Submitted: auto-replied
 * (vacation), X-Auto-Response-Suppress: All, Precedence: auto_reply, MIME
 * headers for text (UTF-8, or Windows-1252 when it is not UTF-8), each
 * header once, then text with lines cut to 998. from and to must be plain
 * addresses (reply_sender_problem). malloc'd, *len set; NULL when out of
 * memory.
 */
char *reply_compose(const header_block *hb, const char *from, const char *to, const char *text,
                    size_t *len);

#endif
