/* Stubs for the parts of Debian's libinih.a stint does not use.
 *
 * The library can also read a FILE (ini_parse_file) and grow its line
 * buffer on the heap. stint uses neither: src/config.c reads the file
 * itself and hands it to ini_parse_stream() a line at a time, with inih's line buffer on the stack
 * (ini_use_stack, Debian's default). But inih is one object: linking it at
 * all links its calls to fopen, fgets, fclose, malloc, realloc and free,
 * and with them musl's FILE input and full allocator, ~10 KiB of the 64 KiB
 * static init. So tools/static-deps.sh renames those references in the
 * static copy of the library (objcopy --redefine-sym) to these functions.
 * They are never called; if they were, inih would see the allocation or
 * the open fail and return an error. The dev build links the system's
 * shared libinih and ignores them. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

void *stint_inih_malloc(size_t n);
void *stint_inih_realloc(void *old, size_t n);
void stint_inih_free(void *ptr);
FILE *stint_inih_fopen(const char *path, const char *mode);
char *stint_inih_fgets(char *s, int n, FILE *f);
int stint_inih_fclose(FILE *f);

void *stint_inih_malloc(size_t n)
{
	(void)n;
	errno = ENOMEM;
	return NULL;
}

void *stint_inih_realloc(void *old, size_t n)
{
	return (void)old, stint_inih_malloc(n);
}

void stint_inih_free(void *ptr)
{
	(void)ptr;
}

FILE *stint_inih_fopen(const char *path, const char *mode)
{
	(void)path, (void)mode;
	errno = ENOSYS;
	return NULL;
}

char *stint_inih_fgets(char *s, int n, FILE *f)
{
	(void)s, (void)n, (void)f;
	return NULL;
}

int stint_inih_fclose(FILE *f)
{
	(void)f;
	return 0;
}
