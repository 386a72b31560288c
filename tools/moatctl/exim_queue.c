/*
 * exim_queue.c - read one line of Exim's queue listing (exim -bp), with the
 * message-ID format of Exim 4.96 and earlier and that of 4.97 and later.
 */
#include "exim_queue.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* the lengths of the three hyphen-separated parts: before and from 4.97 */
static const size_t old_parts[3] = {6, 6, 2};
static const size_t new_parts[3] = {6, 11, 4};

static int parts_match(const char *id, const size_t parts[3])
{
    const char *p = id;

    for (int i = 0; i < 3; i++) {
        for (size_t k = 0; k < parts[i]; k++, p++)
            if (!isalnum((unsigned char)*p))
                return 0;
        if (*p != (i < 2 ? '-' : '\0'))
            return 0;
        p++;
    }
    return 1;
}

int exim_msgid_valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 16)
        return parts_match(id, old_parts);
    if (n == 23)
        return parts_match(id, new_parts);
    return 0;
}

int exim_queue_line(const char *line, char id[EXIM_MSGID_MAX], int *frozen)
{
    char word[EXIM_MSGID_MAX + 1];

    /* time waiting, size, ID: recipient lines start with blanks then an address */
    if (sscanf(line, "%*s %*s %24s", word) != 1 || !exim_msgid_valid(word))
        return -1;
    memcpy(id, word, strlen(word) + 1);
    *frozen = strstr(line, "*** frozen ***") != NULL;
    return 0;
}
