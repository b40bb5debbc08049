/*
 * bigarray.h - growable arrays for work that fills hundreds of MiB at
 * once (a deep trace): large ones get their own huge-page mappings.
 */
#ifndef ANSHIM_CLOUD_BIGARRAY_H
#define ANSHIM_CLOUD_BIGARRAY_H

#include <stddef.h>

/*
 * Grow *arr (elements of size elem, *cap of them) to hold at least need,
 * at least doubling; the contents are kept, the new part is undefined.
 * 0, or -ENOMEM with *arr and *cap unchanged.  *arr must be NULL or come
 * from big_grow; release it with big_free.
 */
int big_grow(void **arr, size_t *cap, size_t need, size_t elem);
/* The bytes arr takes (its mapping, or its malloc block), 0 for NULL. */
size_t big_size(const void *arr);
/* As big_grow, but to exactly need elements (a known size, not doubled). */
int big_reserve(void **arr, size_t *cap, size_t need, size_t elem);
/* As big_reserve, with the whole array zeroed (a fresh mapping is left as
 * the system gives it: zero, and untouched). */
int big_reserve_zero(void **arr, size_t *cap, size_t need, size_t elem);
void big_free(void *arr);
/* Bytes mapped for large arrays now, in the whole process (for the
 * benchmarks' memory figures: malloc statistics do not see them). */
size_t big_mapped_bytes(void);

#endif
