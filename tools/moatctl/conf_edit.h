/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conf_edit.h - change one module's "enabled" option in moat.conf as text,
 * keeping every comment, blank line and other option where it was.
 */
#ifndef MOATCTL_CONF_EDIT_H
#define MOATCTL_CONF_EDIT_H

#include <stddef.h>

/*
 * conf_set_enabled - return a malloc'd copy of text in which the top-level
 * section "module { ... }" says "enabled = true" (or false): the value of
 * an existing enabled line is replaced, a section without one gets the
 * line first, and a file without the section gets the section appended.
 * NULL on an unbalanced file (err filled) or out of memory.
 */
char *conf_set_enabled(const char *text, const char *module, int enabled, char *err,
                       size_t errlen);

/* file_read - the whole file, NUL-terminated, malloc'd; NULL with errno set */
char *file_read(const char *path);

/*
 * file_replace - write text to path atomically (a temporary file in the
 * same directory, then rename), keeping the mode and owner of the file it
 * replaces, or mode new_mode for a new file. 0, or -1 with errno set.
 */
int file_replace(const char *path, const char *text, unsigned new_mode);

#endif
