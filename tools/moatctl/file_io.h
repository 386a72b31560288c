/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * file_io.h - moatctl's whole-file reads and atomic replacements.
 */
#ifndef MOATCTL_FILE_IO_H
#define MOATCTL_FILE_IO_H

/* file_read - the whole file, NUL-terminated, malloc'd; NULL with errno set */
char *file_read(const char *path);

/*
 * file_replace - write text to path atomically (a temporary file in the
 * same directory, then rename), keeping the mode and owner of the file it
 * replaces, or mode new_mode for a new file. 0, or -1 with errno set.
 */
int file_replace(const char *path, const char *text, unsigned new_mode);

#endif
