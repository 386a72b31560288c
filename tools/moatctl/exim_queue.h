/*
 * exim_queue.h - read one line of Exim's queue listing (exim -bp), whichever
 * message-ID format the running Exim uses: 16 characters up to 4.96
 * (XXXXXX-XXXXXX-XX), 23 from 4.97 on (XXXXXX-XXXXXXXXXXX-XXXX).
 */
#ifndef MOATCTL_EXIM_QUEUE_H
#define MOATCTL_EXIM_QUEUE_H

#include <stddef.h>

/* EXIM_MSGID_MAX - the longest message ID (4.97+) plus its NUL */
#define EXIM_MSGID_MAX 24

/* exim_msgid_valid - 1 if id is an Exim message ID of either format, else 0 */
int exim_msgid_valid(const char *id);

/*
 * exim_queue_line - the message ID of a -bp line that starts a message
 * ("  25m  1.2K 1xVO7j-0002wx-0L <sender> *** frozen ***") into id, and
 * *frozen set; 0 for such a line, -1 for any other (recipients, blanks).
 */
int exim_queue_line(const char *line, char id[EXIM_MSGID_MAX], int *frozen);

#endif
